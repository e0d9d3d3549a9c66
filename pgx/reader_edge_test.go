package pgx_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

// readerCase checks one row of reader_expectations.tsv.
type readerCase struct {
	defs  string // "" = every position (PharmCAT's test constructor), "corpus", "filters", "ryr1"
	check func(t *testing.T, d *pgx.VCFData, err error)
}

func loc(chrom string, pos int64) pgx.Locus {
	return pgx.Locus{Chrom: vcf.NormalizeChrom(chrom), Pos: pos}
}

func sampleNamed(t *testing.T, d *pgx.VCFData, name string) *pgx.Sample {
	t.Helper()
	if name == "(first)" {
		return d.Samples[0]
	}
	for _, s := range d.Samples {
		if s.ID == name {
			return s
		}
	}
	t.Fatalf("no sample %s", name)
	return nil
}

// called reports whether s has at least one called allele at l.
func called(s *pgx.Sample, l pgx.Locus) bool {
	c, ok := s.Calls[l]
	return ok && slices.ContainsFunc(c.Alleles, func(a string) bool { return a != "" })
}

func allNotes(s *pgx.Sample) []string {
	var out []string
	for _, l := range s.NotedPositions() {
		out = append(out, s.PositionNotes(l)...)
	}
	return out
}

func wantNote(t *testing.T, s *pgx.Sample, l pgx.Locus, sub string) {
	t.Helper()
	for _, n := range s.PositionNotes(l) {
		if strings.Contains(n, sub) {
			return
		}
	}
	t.Errorf("%s: no note containing %q; notes %q", l, sub, s.PositionNotes(l))
}

// readerCases maps "file|position|sample" of reader_expectations.tsv to its
// check. A row without a check fails the test, so a new expectation cannot
// pass unnoticed.
var readerCases = map[string]readerCase{
	"VcfReaderTest-alleleOrder.vcf|chr1:97079005": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr1", 97079005)
		if c := s.Calls[l]; !slices.Equal(c.Alleles, []string{"", "T"}) {
			t.Errorf(".|1 read as %q, want [\"\" T]", c.Alleles)
		}
		wantNote(t, s, l, "partial genotype .|1")
	}},
	"VcfReaderTest-alleleOrder.vcf|chr1:97079071": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr1", 97079071)
		if c := s.Calls[l]; !slices.Equal(c.Alleles, []string{"A", ""}) {
			t.Errorf("1|. read as %q", c.Alleles)
		}
		wantNote(t, s, l, "partial genotype 1|.")
	}},
	"VcfReaderTest-alleleOrder.vcf|chr1:97079076": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr1", 97079076)
		if called(s, l) {
			t.Errorf("0|. must be missing, got %q", s.Calls[l].Alleles)
		}
		wantNote(t, s, l, "treated as missing")
	}},
	"VcfReaderTest-alleleOrder.vcf|chr1:97079077": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr1", 97079077)
		if called(s, l) {
			t.Errorf(".|0 must be missing, got %q", s.Calls[l].Alleles)
		}
		wantNote(t, s, l, "treated as missing")
	}},
	"VcfReaderTest-alleleOrder.vcf|*": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		n := 0
		for l := range d.Samples[0].Calls {
			if called(d.Samples[0], l) {
				n++
			}
		}
		if n != 4 {
			t.Errorf("%d positions retained, want 4", n)
		}
	}},
	"VcfReaderTest-phasing.vcf|chr3:*": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := d.Samples[0]
		byChrom := map[string][]pgx.Locus{}
		for l := range s.Calls {
			byChrom[l.Chrom] = append(byChrom[l.Chrom], l)
		}
		if len(s.Calls) != 6 {
			t.Errorf("%d positions, want 6", len(s.Calls))
		}
		for ch, loci := range byChrom {
			if got, want := s.EffectivelyPhased(loci), ch == "3"; got != want {
				t.Errorf("chr%s effectively phased = %v, want %v", ch, got, want)
			}
		}
	}},
	"VcfReaderTest-structuralAlt.vcf|chr1:1..6": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := d.Samples[0]
		kept := 0
		for p := int64(1); p <= 6; p++ {
			l := loc("chr1", p)
			wantNote(t, s, l, "symbolic allele <*>")
			if p <= 3 {
				if !called(s, l) {
					t.Errorf("chr1:%d discarded, want kept", p)
				}
			} else {
				wantNote(t, s, l, "discarded")
				if called(s, l) {
					t.Errorf("chr1:%d kept (%q), want discarded", p, s.Calls[l].Alleles)
				}
			}
			if called(s, l) {
				kept++
			}
		}
		if kept != 3 || len(s.NotedPositions()) != 6 {
			t.Errorf("kept %d (want 3), positions with warnings %d (want 6)", kept, len(s.NotedPositions()))
		}
	}},
	"VcfReaderTest-filters.vcf|chr10:94938828": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		wantNote(t, d.Samples[0], loc("chr10", 94938828), "expected G, found T in VCF")
	}},
	"VcfReaderTest-filters.vcf|chr10:94938683": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr10", 94938683)
		wantNote(t, s, l, "REF G does not match the definition's A; genotype discarded")
		if _, ok := s.Calls[l]; ok {
			t.Errorf("REF-mismatched genotype kept")
		}
	}},
	"VcfReaderTest-filters.vcf|chr10:94941982": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr10", 94941982)
		wantNote(t, s, l, "REF GA does not match the definition's G; genotype discarded")
		if _, ok := s.Calls[l]; ok {
			t.Errorf("REF-mismatched indel kept")
		}
	}},
	"VcfReaderTest-filters.vcf|chr10:94941897": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		wantNote(t, d.Samples[0], loc("chr10", 94941897), "PCATxREF (REF mismatch) but REF matches the definition; was the VCF preprocessed with another PharmCAT version?")
	}},
	"VcfReaderTest-filters.vcf|chr10:94941915": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		wantNote(t, d.Samples[0], loc("chr10", 94941915), "PCATxALT (ALT mismatch) but the ALTs match the definition; was the VCF preprocessed with another PharmCAT version?")
	}},
	"VcfReaderTest-filters.vcf|chr10:94949281": {"filters", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := d.Samples[0]
		wantNote(t, s, loc("chr10", 94949281), "symbolic allele <*>")
		if n := allNotes(s); len(n) != 6 {
			t.Errorf("%d warnings, want 6: %q", len(n), n)
		}
	}},
	"VcfReaderTest-AD.vcf|chr10:94942254": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr10", 94942254)
		wantNote(t, s, l, "AD 91,0 supports one allele; genotype discarded")
		if called(s, l) {
			t.Errorf("AD-contradicted het kept")
		}
	}},
	"VcfReaderTest-AD.vcf|chr10:94942255": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s, l := d.Samples[0], loc("chr10", 94942255)
		wantNote(t, s, l, "AD 0,91 supports one allele; genotype discarded")
		if called(s, l) {
			t.Errorf("AD-contradicted het kept")
		}
		// A homozygous GT is not second-guessed by AD (rs200965026 1/1
		// with AD 91,0 stays).
		if !called(s, loc("chr10", 94942249)) {
			t.Errorf("homozygous GT with odd AD discarded")
		}
		if n := allNotes(s); len(n) != 2 || len(d.Warnings) != 0 {
			t.Errorf("warnings %q file %q, want 2 and none", n, d.Warnings)
		}
	}},
	"VcfReaderTest-AD-unknown.vcf|*": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		if n := allNotes(d.Samples[0]); len(n) != 0 || len(d.Warnings) != 0 {
			t.Errorf("warnings %q file %q, want none", n, d.Warnings)
		}
	}},
	"VcfReaderTest-AD-invalid.vcf|VCF": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := d.Samples[0]
		if n := allNotes(s); len(n) != 0 || len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "Number=f") {
			t.Errorf("warnings %q file %q, want one file-level warning", n, d.Warnings)
		}
		if !called(s, loc("chr10", 94942254)) {
			t.Errorf("AD was used although its header is invalid")
		}
	}},
	"VcfReaderTest-AD-missing.vcf|VCF": {"", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := d.Samples[0]
		if n := allNotes(s); len(n)+len(d.Warnings) != 3 || len(d.Warnings) != 1 {
			t.Errorf("warnings %q file %q, want 2 + 1", n, d.Warnings)
		}
		if called(s, loc("chr10", 94942254)) || called(s, loc("chr10", 94942255)) {
			t.Errorf("AD-contradicted hets kept")
		}
	}},
	"VcfReaderTest-badAllele.vcf|chr2:233760233|testsample": {"", func(t *testing.T, _ *pgx.VCFData, err error) {
		if err == nil || !strings.Contains(err.Error(), "line 20") || !strings.Contains(err.Error(), "allele 2") {
			t.Errorf("err = %v, want a hard error naming line 20 and allele 2", err)
		}
	}},
	"VcfReaderTest-phaseSet.vcf|chr19:*|Sample_1": {"corpus", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := sampleNamed(t, d, "Sample_1")
		var withPS []int64
		for l, c := range s.Calls {
			if c.PhaseSet != "" {
				withPS = append(withPS, l.Pos)
			}
		}
		slices.Sort(withPS)
		want := []int64{40991224, 40991367, 40991369, 40991388, 40991390, 40991391}
		if !slices.Equal(withPS, want) {
			t.Errorf("phase sets at %v, want %v", withPS, want)
		}
		if n := allNotes(s); len(n) != 0 {
			t.Errorf("warnings %q", n)
		}
	}},
	"VcfReaderTest-phaseSet.vcf|chr19:*|Sample_2": {"corpus", func(t *testing.T, d *pgx.VCFData, _ error) {
		s := sampleNamed(t, d, "Sample_2")
		for l, c := range s.Calls {
			if c.PhaseSet != "" || c.Phased {
				t.Errorf("%s: unphased GT recorded as phased (PS %q)", l, c.PhaseSet)
			}
		}
		if n := allNotes(s); len(n) != 0 {
			t.Errorf("warnings %q", n)
		}
	}},
	"NamedAlleleMatcher-unknownAltMultisample.vcf|*|Sample_2": {"ryr1", func(t *testing.T, d *pgx.VCFData, _ error) {
		if n := allNotes(sampleNamed(t, d, "Sample_2")); len(n) != 0 {
			t.Errorf("Sample_2 warnings %q, want none: the unknown ALT is Sample_1's", n)
		}
		wantNote(t, sampleNamed(t, d, "Sample_1"), loc("chr19", 38444212), "found A in VCF")
	}},
	"VcfSampleReaderTest-multisample.vcf|*|Sample_1,Sample_2": {"corpus", func(t *testing.T, d *pgx.VCFData, _ error) {
		if len(d.Samples) != 2 {
			t.Fatalf("%d samples", len(d.Samples))
		}
		s1, s2 := d.Samples[0], d.Samples[1]
		// The gVCF-style <*> duplicates (PCATxINDEL) do not displace the
		// first record.
		for _, tc := range []struct {
			s    *pgx.Sample
			l    pgx.Locus
			want []string
		}{
			{s1, loc("chr1", 97450065), []string{"T", "TG"}},
			{s2, loc("chr1", 97450065), []string{"TG", "T"}},
			{s1, loc("chr13", 48037782), []string{"AGGAGTC", "AGGAGTC"}},
			{s2, loc("chr2", 233760233), []string{"CATATAT", "C"}},
			{s1, loc("chr10", 94942205), []string{"C", "CAATGGAAAGA"}},
		} {
			if got := tc.s.Calls[tc.l].Alleles; !slices.Equal(got, tc.want) {
				t.Errorf("%s %s: %q, want %q", tc.s.ID, tc.l, got, tc.want)
			}
		}
		for _, s := range d.Samples {
			for _, n := range allNotes(s) {
				if strings.Contains(n, "several VCF lines") {
					t.Errorf("%s: %s", s.ID, n)
				}
			}
		}
	}},
}

// TestReaderEdgeCases runs every row of the corpus's reader_expectations.tsv
// (PharmCAT's VcfReaderTest and friends) and prints the agreement.
func TestReaderEdgeCases(t *testing.T) {
	dir := testcorpus.Require(t, "pgx", "vcf", "reader_edge_cases")
	rows := readTSVFile(t, filepath.Join(dir, "reader_expectations.tsv"))
	defsFor := map[string]*pgx.Definitions{"": nil}
	corpusDefs, err := pgx.LoadDefinitions(filepath.Join(filepath.Dir(filepath.Dir(dir)), "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	defsFor["corpus"] = corpusDefs
	defsFor["filters"] = defsFromFile(t, filepath.Join(dir, "VcfReaderTest-filters.json"), "CYP2C9")
	// PharmCAT's RYR1 test definition is not staged; this one knows
	// rs193922753 with an ALT other than the VCF's, which is the point of
	// the case.
	defsFor["ryr1"] = defsFromText(t, "RYR1", `{"gene":"RYR1","chromosome":"chr19","genomeBuild":"GRCh38.p14",
 "variants":[{"position":38444211,"rsid":"rs118192161","ref":"C","alts":["T"]},{"position":38444212,"rsid":"rs193922753","ref":"G","alts":["C"]}],
 "namedAlleles":[{"name":"Reference","alleles":["C","G"],"reference":true},{"name":"c.1A>T","alleles":["T",null]},{"name":"c.2A>G","alleles":[null,"C"]}]}`)
	agreed := 0
	for _, r := range rows {
		key := r["file"] + "|" + r["position"]
		if r["sample"] != "(first)" {
			key += "|" + r["sample"]
		}
		ok := t.Run(key, func(t *testing.T) {
			tc, found := readerCases[key]
			if !found {
				t.Fatalf("no check for expectation %q", r["expected_behaviour"])
			}
			rd, err := vcf.Open(filepath.Join(dir, r["file"]))
			var d *pgx.VCFData
			if err == nil {
				d, err = pgx.ReadVCF(context.Background(), rd, defsFor[tc.defs], nil)
				rd.Close()
			}
			if err != nil && !strings.Contains(key, "badAllele") {
				t.Fatal(err)
			}
			tc.check(t, d, err)
		})
		if ok {
			agreed++
		}
	}
	t.Logf("reader edge cases: %d of %d expectations agree", agreed, len(rows))
}

func readTSVFile(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = '\t'
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	return out
}

func defsFromFile(t *testing.T, path, gene string) *pgx.Definitions {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return defsFromText(t, gene, string(b))
}

// defsFromText loads one definition through the ordinary loader, from a
// scratch folder.
func defsFromText(t *testing.T, gene, text string) *pgx.Definitions {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s_translation.json", gene)), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := pgx.LoadDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
