package prs_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/prs"
)

// The cineca bed/bim/fam give the same matches and sums as the VCF
// exported from the same data, and both agree with the independent
// full-precision sums.
func TestCorpusBedCineca(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	pgs := readScoreFile(t, filepath.Join(dir, "pgsc_calc", "scorefiles", "PGS001229_22.txt"))
	dup := readScoreFile(t, filepath.Join(dir, "pgsc_calc", "scorefiles", "PGS001229_22_duplicate.txt"))
	for _, opts := range []prs.Options{{Ambiguous: prs.AmbiguousExclude}, {}} {
		bed, err := prs.ScoreBed(context.Background(), filepath.Join(dir, "pgsc_calc", "target_genomes", "cineca_synthetic_subset"), []*prs.Score{pgs, dup}, opts)
		if err != nil {
			t.Fatal(err)
		}
		vcf := scoreFile(t, filepath.Join(dir, "plink2_reference", "cineca_synthetic_subset_from_pfile.vcf.gz"), opts, pgs, dup)
		// The VCF states its build from contig lengths; the .bim cannot.
		vcf.Build = ""
		for i := range vcf.Scores {
			vcf.Scores[i].Warnings, bed.Scores[i].Warnings = nil, nil
		}
		if diff := cmp.Diff(vcf, bed); diff != "" {
			t.Errorf("%+v: bed differs from VCF (-vcf +bed):\n%s", opts, diff)
		}
		if opts.Ambiguous == prs.AmbiguousExclude {
			if bed.Scores[0].Matched != 782 {
				t.Errorf("matched %d, want 782", bed.Scores[0].Matched)
			}
			compareSums(t, bed.Scores[0], readExpected(t, filepath.Join(dir, "plink2_reference", "independent_fullprecision_cineca_22_additive_0_nomeanimp.tsv"), "PGS001229_SUM"), 1e-6)
		}
	}
}

func TestCorpusBedPRS313(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	s := readScoreFile(t, filepath.Join(dir, "prs313", "megsap_PGS000004_hm.txt"))
	bed, err := prs.ScoreBed(context.Background(), filepath.Join(dir, "synthetic_prs313", "synthetic_prs313_grch38"), []*prs.Score{s}, prs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bed.Scores[0].Matched != 307 {
		t.Errorf("matched %d, want 307", bed.Scores[0].Matched)
	}
	compareSums(t, bed.Scores[0], readExpected(t, filepath.Join(dir, "synthetic_prs313", "independent_fullprecision_prs313_nomeanimp.tsv"), "PGS000004_SUM"), 1e-6)

	// Imputing from the score's frequencies gives the VCF path's result.
	opts := prs.Options{Missing: prs.MissingFreq}
	bed, err = prs.ScoreBed(context.Background(), filepath.Join(dir, "synthetic_prs313", "synthetic_prs313_grch38"), []*prs.Score{s}, opts)
	if err != nil {
		t.Fatal(err)
	}
	vcf := scoreFile(t, filepath.Join(dir, "synthetic_prs313", "synthetic_prs313_grch38.vcf.gz"), opts, s)
	for i := range bed.Scores[0].Samples {
		b, v := bed.Scores[0].Samples[i], vcf.Scores[0].Samples[i]
		if b.Sample != v.Sample || b.Sum != v.Sum || b.Imputed != v.Imputed {
			t.Fatalf("sample %d: bed %+v, vcf %+v", i, b, v)
		}
	}
}
