package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/risk"
	"github.com/geneguard/geneguard/runner"
)

func TestMonogenicEngine(t *testing.T) {
	v := version(t, algorithm.KindMonogenic, nil, map[string][]byte{
		runner.PathogenicFile: riskData(t, risk.BRCAPathogenicList),
		runner.CarrierFile:    []byte(`{"category":"carrier","advice":"see clinical genetics","referral":"clinical genetics"}`),
	})
	all := []string{"17 43049170 A G 0/0", "17 43051104 A G 0/0", "17 43057050 AC A 0/0", "17 43090944 C G 0/0"}
	with := func(i int, row string) []string {
		out := append([]string(nil), all...)
		out[i] = row
		return out
	}
	cases := []struct {
		name, category, summary string
		rows                    []string
		notAssessed             int
	}{
		{"none", "No listed variant found", "None of the 4 listed", all, 0},
		{"heterozygous deletion", "carrier", "Referral to clinical genetics: carrier of BRCA1 NM_007294.4:c.5277+1delG.", with(2, "17 43057050 AC A 0/1"), 0},
		{"half call with the allele", "carrier", "carrier of BRCA1 NM_007294.4:c.5357T>C", with(0, "17 43049170 A G 1/."), 0},
		{"multi-allelic site", "carrier", "c.4185G>C", with(3, "17 43090944 C T,G 0/2"), 0},
		{"other ALT at the site", "No listed variant found", "None", with(3, "17 43090944 C T 0/1"), 0},
		{"position absent", "Incomplete", "1 of 4 could not be assessed", all[1:], 1},
		{"no call", "Incomplete", "could not be assessed", with(1, "17 43051104 A G ./."), 1},
		{"other REF", "Incomplete", "could not be assessed", with(2, "17 43057050 ACC A 0/1"), 1},
		{"carrier despite a gap", "carrier", "c.5291T>C", with(1, "17 43051104 A G 1/1")[1:], 1},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := runner.NewMonogenicEngine()
			loci, err := e.Loci(v)
			if err != nil || len(loci) != 4 {
				t.Fatalf("loci %v, %v", loci, err)
			}
			out, err := e.Run(ctx, v, runner.Input{VCF: oneSample(c.rows...)})
			if err != nil {
				t.Fatal(err)
			}
			d := out.Data.(runner.MonogenicOutput)
			if out.Category != c.category || !strings.Contains(out.Summary, c.summary) || len(d.NotAssessed) != c.notAssessed {
				t.Errorf("%q %q (%d not assessed), want %q containing %q (%d)", out.Category, out.Summary, len(d.NotAssessed), c.category, c.summary, c.notAssessed)
			}
			if (c.category == "carrier") != (d.Referral != "") {
				t.Errorf("referral %q for category %q", d.Referral, out.Category)
			}
		})
	}
	if _, err := runner.NewMonogenicEngine().Run(ctx, v, runner.Input{VCF: []byte(strings.Replace(string(oneSample(all...)), "GRCh38", "GRCh37", 1))}); err == nil || !strings.Contains(err.Error(), "is on GRCh38 but the genotypes are GRCh37") {
		t.Errorf("build mismatch: %v", err)
	}
}
