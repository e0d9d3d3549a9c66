package prs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biogo/hts/bgzf"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/vcf"
)

// tinyVCF exercises every matching path. S1..S4 differ only in their calls.
const tinyVCF = `##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	S1	S2	S3	S4
chr1	100	.	G	A	.	PASS	.	GT:DS	0/1:0.9	1/1:1.8	0/0:0.1	./.:.
chr1	200	.	C	T	.	PASS	.	GT	0/1	0/0	1|1	0/1
chr1	300	.	A	C,G	.	PASS	.	GT	0/2	1/2	2/2	./.
chr1	400	.	A	T	.	PASS	.	GT	0/1	1/1	0/0	0/0
chr1	500	.	A	AAAAG	.	PASS	.	GT	0/1	0/0	1/1	0/0
chr1	600	.	G	C	.	PASS	.	GT	0/1	1/1	0/0	0/1
chr1	700	.	T	C	.	PASS	.	GT	1/1	0/1	0/0	1/.
`

func parse(t testing.TB, text string) *prs.Score {
	t.Helper()
	s, err := prs.ParseScoringFile(strings.NewReader(text), "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func score(t testing.TB, vcfText string, opts prs.Options, scores ...*prs.Score) *prs.Result {
	t.Helper()
	r, err := vcf.NewReader(strings.NewReader(vcfText))
	if err != nil {
		t.Fatal(err)
	}
	res, err := prs.ScoreVCF(context.Background(), r, scores, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The fast path must give the same result, from plain and BGZF files.
	dir := t.TempDir()
	plain := filepath.Join(dir, "g.vcf")
	if err := os.WriteFile(plain, []byte(vcfText), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, writeBGZF(t, dir, []byte(vcfText))} {
		fast, err := prs.ScoreFile(context.Background(), path, scores, opts)
		if err != nil {
			t.Fatalf("ScoreFile(%s): %v", filepath.Base(path), err)
		}
		if diff := cmp.Diff(res, fast); diff != "" {
			t.Errorf("ScoreFile(%s) differs from ScoreVCF (-ScoreVCF +ScoreFile):\n%s", filepath.Base(path), diff)
		}
	}
	return res
}

// writeBGZF writes b as a BGZF file of many small blocks, so that lines
// cross block and job boundaries.
func writeBGZF(t testing.TB, dir string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, "g.vcf.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bgzf.NewWriter(f, 1)
	for len(b) > 0 {
		n := min(len(b), 37)
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func sums(r prs.ScoreResult) map[string]float64 {
	m := map[string]float64{}
	for _, s := range r.Samples {
		m[s.Sample] = s.Sum
	}
	return m
}

const hdr = "#pgs_id=T\n#genome_build=GRCh38\nchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tallelefrequency_effect\tis_dominant\tis_recessive\n"

func TestScoreVCF(t *testing.T) {
	approx := cmpopts.EquateApprox(0, 1e-12)
	tests := []struct {
		name    string
		rows    string
		opts    prs.Options
		want    map[string]float64
		matched int
	}{
		{"effect allele is ALT", "1\t200\tT\tC\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 0, "S3": 2, "S4": 1}, 1},
		{"effect allele is REF (swap)", "1\t200\tC\tT\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 2, "S3": 0, "S4": 1}, 1},
		{"multi-allelic, effect is second ALT", "1\t300\tG\tA\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 1, "S3": 2, "S4": 0}, 1},
		{"multi-allelic, effect is REF against second ALT", "1\t300\tA\tG\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 0, "S3": 0, "S4": 0}, 1},
		{"ALT/ALT pair does not match", "1\t300\tC\tG\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 0, "S2": 0, "S3": 0, "S4": 0}, 0},
		{"no other allele", "1\t200\tT\t\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 0, "S3": 2, "S4": 1}, 1},
		{"missing and half calls count nothing under none", "1\t100\tA\tG\t1\t0.25\t\t\n1\t700\tC\tT\t0.5\t0.5\t\t\n", prs.Options{},
			map[string]float64{"S1": 1 + 1, "S2": 2 + 0.5, "S3": 0, "S4": 0}, 2},
		{"missing imputed at the file's frequency", "1\t100\tA\tG\t1\t0.25\t\t\n1\t700\tC\tT\t0.5\t0.5\t\t\n", prs.Options{Missing: prs.MissingFreq},
			map[string]float64{"S1": 2, "S2": 2.5, "S3": 0, "S4": 0.5 + 0.5}, 2},
		{"DS when asked", "1\t100\tA\tG\t1\t\t\t\n1\t100\tG\tA\t10\t\t\t\n", prs.Options{Dosage: prs.DosageDS},
			// the second row is the same variant the other way round: a duplicate, dropped
			map[string]float64{"S1": 0, "S2": 0, "S3": 0, "S4": 0}, 0},
		{"DS, swap", "1\t100\tG\tA\t1\t\t\t\n", prs.Options{Dosage: prs.DosageDS},
			map[string]float64{"S1": 1.1, "S2": 0.2, "S3": 1.9, "S4": 0}, 1},
		{"dominant and recessive", "1\t200\tT\tC\t1\t\tTrue\tFalse\n1\t600\tC\tG\t10\t\tFalse\tTrue\n", prs.Options{},
			map[string]float64{"S1": 1, "S2": 10, "S3": 1, "S4": 1}, 2},
		{"ambiguous kept by default", "1\t400\tT\tA\t1\t\t\t\n1\t600\tC\tG\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 2, "S2": 4, "S3": 0, "S4": 1}, 2},
		{"ambiguous excluded when asked", "1\t400\tT\tA\t1\t\t\t\n1\t200\tT\tC\t1\t\t\t\n", prs.Options{Ambiguous: prs.AmbiguousExclude},
			map[string]float64{"S1": 1, "S2": 0, "S3": 2, "S4": 1}, 1},
		{"indel with a longer suffix is exact-only by default", "1\t500\tAAAAGAAAG\tAAAAG\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 0, "S2": 0, "S3": 0, "S4": 0}, 0},
		{"indel with a longer suffix matches when trimming", "1\t500\tAAAAGAAAG\tAAAAG\t1\t\t\t\n", prs.Options{TrimAlleles: true},
			map[string]float64{"S1": 1, "S2": 0, "S3": 2, "S4": 0}, 1},
		{"absent position", "1\t999\tA\tG\t1\t\t\t\n2\t200\tT\tC\t1\t\t\t\n", prs.Options{},
			map[string]float64{"S1": 0, "S2": 0, "S3": 0, "S4": 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := score(t, tinyVCF, tc.opts, parse(t, hdr+tc.rows))
			got := res.Scores[0]
			if diff := cmp.Diff(tc.want, sums(got), approx); diff != "" {
				t.Errorf("sums (-want +got):\n%s", diff)
			}
			if got.Matched != tc.matched || got.Total != strings.Count(tc.rows, "\n") {
				t.Errorf("matched %d/%d, want %d/%d", got.Matched, got.Total, tc.matched, strings.Count(tc.rows, "\n"))
			}
		})
	}
}

// A person's score must not depend on who else is in the batch, under
// every policy: score each sample alone and together, and compare.
func TestScoreVCFBatchIndependence(t *testing.T) {
	s := parse(t, hdr+"1\t100\tA\tG\t1\t0.25\t\t\n1\t200\tT\tC\t-0.3\t0.6\t\t\n1\t300\tG\tA\t0.7\t0.1\tTrue\tFalse\n1\t700\tC\tT\t0.5\t0.5\t\t\n")
	for _, pol := range []prs.MissingPolicy{prs.MissingNone, prs.MissingFreq} {
		opts := prs.Options{Missing: pol}
		all := sums(score(t, tinyVCF, opts, s).Scores[0])
		for col, name := range []string{"S1", "S2", "S3", "S4"} {
			alone := onlySample(tinyVCF, col)
			got := sums(score(t, alone, opts, s).Scores[0])
			if got[name] != all[name] {
				t.Errorf("%s: %s alone = %v, in the batch = %v", pol, name, got[name], all[name])
			}
		}
	}
}

// onlySample cuts a VCF down to one sample column.
func onlySample(text string, col int) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "##") {
			b.WriteString(line)
			continue
		}
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		b.WriteString(strings.Join(append(f[:9:9], f[9+col]), "\t") + "\n")
	}
	return b.String()
}

func TestScoreVCFReport(t *testing.T) {
	s := parse(t, "#pgs_id=T\n#genome_build=GRCh38\n#HmPOS_build=GRCh38\nchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\thm_source\thm_chr\thm_pos\n"+
		"1\t1\tT\tC\t1\tliftover\t1\t200\n"+
		"1\t1\tA\tG\t1\tUnknown\t\t\n"+
		"1\t1\tA\tG\t1\tliftover\t1\t999\n"+
		"1\t1\tG\tT\t1\tliftover\t1\t200\n"+
		"1\t1\tT\tA\t1\tliftover\t1\t400\n")
	res := score(t, tinyVCF, prs.Options{Ambiguous: prs.AmbiguousExclude}, s)
	got := res.Scores[0]
	want := []prs.Unmatched{
		{Line: 6, EffectAllele: "A", OtherAllele: "G", Weight: 1, Reason: prs.ReasonNoPosition, Detail: "no harmonised position (hm_source=Unknown)"},
		{Line: 7, Chrom: "1", Pos: 999, EffectAllele: "A", OtherAllele: "G", Weight: 1, Reason: prs.ReasonPositionNotFound},
		{Line: 8, Chrom: "1", Pos: 200, EffectAllele: "G", OtherAllele: "T", Weight: 1, Reason: prs.ReasonAlleleMismatch, Detail: "target has C>T"},
		{Line: 9, Chrom: "1", Pos: 400, EffectAllele: "T", OtherAllele: "A", Weight: 1, Reason: prs.ReasonAmbiguousExcluded},
	}
	if diff := cmp.Diff(want, got.Unmatched); diff != "" {
		t.Errorf("unmatched (-want +got):\n%s", diff)
	}
	wantPolicy := prs.Policy{Missing: prs.MissingNone, Dosage: prs.DosageGT, Ambiguous: prs.AmbiguousExclude}
	if diff := cmp.Diff(wantPolicy, got.Policy); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	s4 := got.Samples[3]
	if s4.Matched != 1 || s4.Total != 5 || s4.Missing != 0 || s4.AlleleCount != 2 || s4.Policy != prs.MissingNone {
		t.Errorf("S4 row = %+v", s4)
	}
}

func TestScoreVCFErrors(t *testing.T) {
	r37 := parse(t, "#pgs_id=PGS000004\n#genome_build=GRCh37\nchr_name\tchr_position\teffect_allele\teffect_weight\n1\t100\tA\t1\n")
	noFreq := parse(t, hdr+"1\t100\tA\tG\t1\t\t\t\n")
	tests := []struct {
		name  string
		score *prs.Score
		opts  prs.Options
		is    error
		want  string
	}{
		{"build mismatch names the harmonised file", r37, prs.Options{}, prs.ErrBuildMismatch, "PGS000004_hmPOS_GRCh38.txt.gz"},
		{"freq policy needs frequencies", noFreq, prs.Options{Missing: prs.MissingFreq}, nil, "test.txt line 4 has none"},
		{"bad policy", noFreq, prs.Options{Missing: "mean"}, nil, `missing policy "mean"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := vcf.NewReader(strings.NewReader(tinyVCF))
			if err != nil {
				t.Fatal(err)
			}
			_, err = prs.ScoreVCF(context.Background(), r, []*prs.Score{tc.score}, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		r, _ := vcf.NewReader(strings.NewReader(tinyVCF))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := prs.ScoreVCF(ctx, r, []*prs.Score{noFreq}, prs.Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
}
