package prs_test

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/vcf"
)

// The conformance tests below compare against outside references in
// ../shared/corpus/prs: full-precision sums from an independent awk
// implementation, which agrees with plink2 --score no-mean-imputation.

func readScoreFile(t testing.TB, path string) *prs.Score {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := prs.ParseScoringFile(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scoreFile(t testing.TB, vcfPath string, opts prs.Options, scores ...*prs.Score) *prs.Result {
	t.Helper()
	r, err := vcf.Open(vcfPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := prs.ScoreVCF(context.Background(), r, scores, opts)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := prs.ScoreFile(context.Background(), vcfPath, scores, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, fast); diff != "" {
		t.Errorf("ScoreFile differs from ScoreVCF (-ScoreVCF +ScoreFile):\n%s", diff)
	}
	return res
}

// readExpected reads a tab-separated table keyed by IID (or sample), one
// column of numbers.
func readExpected(t testing.TB, path, col string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	out := map[string]float64{}
	var hdr []string
	key, val := -1, -1
	filter := -1 // PGS column of long-format tables
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if hdr == nil {
			hdr = f
			for i, h := range hdr {
				switch h {
				case "IID":
					key = i
				case col:
					val = i
				case "PGS":
					filter, val = i, -1
				}
			}
			if filter >= 0 {
				for i, h := range hdr {
					if h == "SUM" {
						val = i
					}
				}
			}
			if key < 0 || val < 0 {
				t.Fatalf("%s: no IID or %s column in %q", path, col, hdr)
			}
			continue
		}
		if filter >= 0 && f[filter] != col {
			continue
		}
		v, err := strconv.ParseFloat(f[val], 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[f[key]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func compareSums(t *testing.T, got prs.ScoreResult, want map[string]float64, tol float64) {
	t.Helper()
	if len(got.Samples) != len(want) {
		t.Errorf("%s: %d samples, want %d", got.ID, len(got.Samples), len(want))
	}
	bad, worst := 0, 0.0
	for _, s := range got.Samples {
		e, ok := want[s.Sample]
		if !ok {
			t.Errorf("%s: sample %s not in the reference", got.ID, s.Sample)
			continue
		}
		rel := math.Abs(s.Sum-e) / math.Max(1, math.Abs(e))
		worst = math.Max(worst, rel)
		if rel > tol {
			if bad < 5 {
				t.Errorf("%s %s: sum %v, want %v", got.ID, s.Sample, s.Sum, e)
			}
			bad++
		}
	}
	t.Logf("%s: %d/%d samples within %g, worst %.2e, matched %d/%d", got.ID, len(got.Samples)-bad, len(got.Samples), tol, worst, got.Matched, got.Total)
}

func TestCorpusPRS313(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	s := readScoreFile(t, filepath.Join(dir, "prs313", "megsap_PGS000004_hm.txt"))
	res := scoreFile(t, filepath.Join(dir, "synthetic_prs313", "synthetic_prs313_grch38.vcf.gz"), prs.Options{}, s)
	got := res.Scores[0]
	if got.Matched != 307 || got.Total != 313 {
		t.Errorf("matched %d/%d, want 307/313", got.Matched, got.Total)
	}
	compareSums(t, got, readExpected(t, filepath.Join(dir, "synthetic_prs313", "independent_fullprecision_prs313_nomeanimp.tsv"), "PGS000004_SUM"), 1e-6)

	// The unmatched list must name the same six rows the corpus lists,
	// by harmonised position and reason.
	var want, have []string
	f, err := os.ReadFile(filepath.Join(dir, "synthetic_prs313", "prs313_unmatched.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		c := strings.Split(line, "\t")
		want = append(want, c[5]+":"+c[6]+" "+c[7])
	}
	for _, u := range got.Unmatched {
		have = append(have, u.Chrom+":"+strconv.Itoa(u.Pos)+" "+u.Reason)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("unmatched (-want +got):\n%s", diff)
	}

	// Trimming shared suffixes recovers both "allele_mismatch" indels
	// (TA/TAA = TA>T, AAAAGAAAG/AAAAG = A>AAAAG), with the effect allele
	// on ALT as megSAP's curated VCF has it.
	trimmed := scoreFile(t, filepath.Join(dir, "synthetic_prs313", "synthetic_prs313_grch38.vcf.gz"), prs.Options{TrimAlleles: true}, s)
	if m := trimmed.Scores[0].Matched; m != 309 {
		t.Errorf("with TrimAlleles matched %d, want 309", m)
	}
}

func TestCorpusCineca(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	pgs := readScoreFile(t, filepath.Join(dir, "pgsc_calc", "scorefiles", "PGS001229_22.txt"))
	dup := readScoreFile(t, filepath.Join(dir, "pgsc_calc", "scorefiles", "PGS001229_22_duplicate.txt"))
	target := filepath.Join(dir, "plink2_reference", "cineca_synthetic_subset_from_pfile.vcf.gz")

	// pgsc_calc drops strand-ambiguous SNVs by default; so must we to
	// reproduce its 782 matched rows.
	res := scoreFile(t, target, prs.Options{Ambiguous: prs.AmbiguousExclude}, pgs, dup)
	got := res.Scores[0]
	if got.Matched != 782 || got.Total != 835 {
		t.Errorf("matched %d/%d, want 782/835", got.Matched, got.Total)
	}
	compareSums(t, got, readExpected(t, filepath.Join(dir, "plink2_reference", "independent_fullprecision_cineca_22_additive_0_nomeanimp.tsv"), "PGS001229_SUM"), 1e-6)

	// duplicatetest has the opposite effect allele at one site; pgsc_calc
	// splits it into a second plink file and adds the results. Scoring
	// each score on its own needs no split. The reference prints 6
	// significant digits, and these sites have no missing calls.
	d := res.Scores[1]
	if d.Matched != 8 {
		t.Errorf("duplicatetest matched %d, want 8", d.Matched)
	}
	compareSums(t, d, readExpected(t, filepath.Join(dir, "plink2_reference", "aggregated_scores_cineca_derived.tsv"), "duplicatetest"), 1e-5)

	// The clinical default keeps the 47 ambiguous SNVs.
	keep := scoreFile(t, target, prs.Options{}, pgs)
	if m := keep.Scores[0].Matched; m != 829 {
		t.Errorf("keeping ambiguous SNVs matched %d, want 829", m)
	}
}

// Every scoring file in the corpus is either accepted or rejected with an
// error that says what is wrong (the table `geneguard conformance` prints).
func TestCorpusScoringFiles(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	for _, tc := range prs.ScoringFileCases {
		t.Run(tc.File, func(t *testing.T) {
			if ok, got := tc.Check(dir); !ok {
				t.Errorf("%s; want %+v", got, tc)
			}
		})
	}
}
