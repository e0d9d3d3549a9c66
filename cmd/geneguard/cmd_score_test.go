package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const scoreTestVCF = `##fileformat=VCFv4.2
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	P1	P2
chr1	100	.	G	A	.	PASS	.	GT	0/1	./.
chr1	200	.	C	T	.	PASS	.	GT	1/1	0/1
`

const scoreTestFile = `#pgs_id=PGS000123
#genome_build=GRCh38
chr_name	chr_position	effect_allele	other_allele	effect_weight	allelefrequency_effect
1	100	A	G	0.1	0.25
1	200	C	T	0.3	0.5
1	300	C	T	7	0.5
`

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScoreCommand(t *testing.T) {
	v := writeTemp(t, "g.vcf", scoreTestVCF)
	s := writeTemp(t, "s.txt", scoreTestFile)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"tsv, no imputation", []string{"--vcf", v, "--scores", s},
			"sample\tpgs_id\tsum\tvariants_matched\tvariants_total\nP1\tPGS000123\t0.1\t2\t3\nP2\tPGS000123\t0.3\t2\t3\n"},
		{"tsv, fixed-frequency imputation", []string{"--vcf", v, "--scores", s, "--missing", "freq"},
			"sample\tpgs_id\tsum\tvariants_matched\tvariants_total\nP1\tPGS000123\t0.1\t2\t3\nP2\tPGS000123\t0.35\t2\t3\n"},
		{"two scores", []string{"--vcf", v, "--scores", s, "--scores", s, "-q"},
			"sample\tpgs_id\tsum\tvariants_matched\tvariants_total\nP1\tPGS000123\t0.1\t2\t3\nP1\tPGS000123\t0.1\t2\t3\nP2\tPGS000123\t0.3\t2\t3\nP2\tPGS000123\t0.3\t2\t3\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), append([]string{"score"}, tc.args...), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoreCommandJSON(t *testing.T) {
	v := writeTemp(t, "g.vcf", scoreTestVCF)
	s := writeTemp(t, "s.txt", scoreTestFile)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"score", "--vcf", v, "--scores", s, "--format", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got struct {
		Samples []string
		Scores  []struct {
			ID        string `json:"pgs_id"`
			Matched   int    `json:"variants_matched"`
			Policy    struct{ Missing string }
			Unmatched []struct{ Pos int }
			Samples   []struct {
				Sample  string
				Sum     float64
				Missing int `json:"genotypes_missing"`
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	sc := got.Scores[0]
	if sc.ID != "PGS000123" || sc.Matched != 2 || sc.Policy.Missing != "none" || len(sc.Unmatched) != 1 || sc.Unmatched[0].Pos != 300 {
		t.Errorf("score = %+v", sc)
	}
	if p2 := sc.Samples[1]; p2.Sample != "P2" || p2.Sum != 0.3 || p2.Missing != 1 {
		t.Errorf("P2 = %+v", p2)
	}
}

func TestScoreCommandErrors(t *testing.T) {
	v := writeTemp(t, "g.vcf", scoreTestVCF)
	s := writeTemp(t, "s.txt", scoreTestFile)
	bad := writeTemp(t, "bad.txt", "chr_name\tchr_position\teffect_allele\teffect_weight\n1\t100\tA\tx\n")
	s37 := writeTemp(t, "s37.txt", strings.Replace(scoreTestFile, "GRCh38", "GRCh37", 1))
	v38 := writeTemp(t, "g38.vcf", strings.Replace(scoreTestVCF, "##FORMAT", "##reference=GRCh38\n##FORMAT", 1))
	badVCF := writeTemp(t, "b.vcf", scoreTestVCF+"chr1\t300\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\n")
	badCall := writeTemp(t, "c.vcf", strings.Replace(scoreTestVCF, "1/1\t0/1", "1/1\t0/2", 1))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no flags", nil, 2, "--vcf and --scores are required"},
		{"bad format", []string{"--vcf", v, "--scores", s, "--format", "csv"}, 2, "--format"},
		{"bad policy", []string{"--vcf", v, "--scores", s, "--missing", "mean"}, 1, `missing policy "mean"`},
		{"bad weight", []string{"--vcf", v, "--scores", bad}, 1, "bad.txt:2: effect_weight \"x\""},
		{"build mismatch", []string{"--vcf", v38, "--scores", s37}, 1, "PGS000123_hmPOS_GRCh38.txt.gz"},
		{"bad VCF late in the file", []string{"--vcf", badVCF, "--scores", s, "--strict"}, 1, "line 6"},
		{"bad call at a scored site", []string{"--vcf", badCall, "--scores", s}, 1, "line 5: sample 2: GT \"0/2\" refers to allele 2"},
		{"missing file", []string{"--vcf", v, "--scores", s + ".nope"}, 1, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"score"}, tc.args...), &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut.String(), tc.code, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty on error: %q", out.String())
			}
		})
	}
}

// TestScoreCommandNonFinite: weights that overflow the sum are an error
// naming the score, the sample and the largest weight's line, with
// nothing printed — never a "+Inf" score.
func TestScoreCommandNonFinite(t *testing.T) {
	s := writeTemp(t, "s.txt", `#pgs_id=PGS000999
#genome_build=GRCh38
chr_name	chr_position	effect_allele	other_allele	effect_weight
1	100	A	G	1e308
1	200	T	C	1e308
`)
	v := writeTemp(t, "g.vcf", scoreTestVCF)
	code, out, errb := runCommand("score", "--vcf", v, "--scores", s)
	if code == 0 || out != "" || !strings.Contains(errb, "not a finite number") || !strings.Contains(errb, "PGS000999") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errb)
	}
}
