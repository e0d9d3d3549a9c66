package risk_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/risk"
)

func TestShippedVariantList(t *testing.T) {
	b, err := risk.DataFile(risk.BRCAPathogenicList)
	if err != nil {
		t.Fatal(err)
	}
	l, err := risk.ParseVariantList(bytes.NewReader(b), risk.BRCAPathogenicList)
	if err != nil {
		t.Fatal(err)
	}
	if l.Build != "GRCh38" || len(l.Variants) < 4 {
		t.Errorf("build %q, %d variants", l.Build, len(l.Variants))
	}
	for _, v := range l.Variants {
		if !strings.HasPrefix(v.Source, "https://") || v.Gene != "BRCA1" && v.Gene != "BRCA2" {
			t.Errorf("line %d: gene %q source %q", v.Line, v.Gene, v.Source)
		}
	}
}

func TestParseVariantListRejects(t *testing.T) {
	hdr := "#list_version=t\n#genome_build=GRCh38\ngene\tchrom\tpos\tref\talt\thgvs\tsignificance\tsource\n"
	row := "BRCA1\t17\t100\tA\tG\tc.1A>G\tPathogenic\thttps://x\n"
	for name, c := range map[string]struct{ in, want string }{
		"no source":     {hdr + "BRCA1\t17\t100\tA\tG\tc.1A>G\tPathogenic\t\n", "needs its significance and a source"},
		"bad pos":       {hdr + "BRCA1\t17\tx\tA\tG\tc\tP\ts\n", `pos "x"`},
		"bad allele":    {hdr + "BRCA1\t17\t1\tA\tN\tc\tP\ts\n", "must be different A/C/G/T"},
		"duplicate":     {hdr + row + row, "listed again (first at line 4)"},
		"no version":    {"gene\tchrom\tpos\tref\talt\thgvs\tsignificance\tsource\n" + row, "#list_version and #genome_build are required"},
		"wrong columns": {"#list_version=t\ngene\tchr\n", "column header"},
		"empty":         {hdr, "no variants"},
		"short row":     {hdr + "BRCA1\t17\n", "2 tab-separated fields"},
	} {
		_, err := risk.ParseVariantList(strings.NewReader(c.in), "list.tsv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestCarrierStatus(t *testing.T) {
	l := &risk.VariantList{Version: "t", Variants: []risk.PathogenicVariant{{Gene: "BRCA1", HGVS: "a"}, {Gene: "BRCA2", HGVS: "b"}}}
	for _, c := range []struct {
		obs    []risk.Observation
		status string
		labels string
	}{
		{[]risk.Observation{{Assessed: true}, {Assessed: true}}, risk.StatusNonCarrier, ""},
		{[]risk.Observation{{Assessed: true}, {}}, risk.StatusIncomplete, ""},
		{[]risk.Observation{{}, {Assessed: true, Copies: 1}}, risk.StatusCarrier, "BRCA2 b"},
		{[]risk.Observation{{Assessed: true, Copies: 2}, {Assessed: true, Copies: 1}}, risk.StatusCarrier, "BRCA1 a,BRCA2 b"},
	} {
		r := l.Status(c.obs)
		if r.Status != c.status || strings.Join(r.Labels(), ",") != c.labels {
			t.Errorf("%+v: %q %v, want %q %q", c.obs, r.Status, r.Labels(), c.status, c.labels)
		}
	}
}
