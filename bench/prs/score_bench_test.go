// Package prsbench measures prs.ScoreFile on the data run.sh generates
// (plink2 --dummy genotypes as bgzipped VCF, one score over every variant).
// It skips unless that data exists: run.sh makes it, once, in
// GENEGUARD_PRS_BENCH_DIR (default /tmp/gg-prs-bench).
package prsbench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/geneguard/geneguard/prs"
)

func BenchmarkScoreFile(b *testing.B) {
	dir := os.Getenv("GENEGUARD_PRS_BENCH_DIR")
	if dir == "" {
		dir = "/tmp/gg-prs-bench"
	}
	vcfs, _ := filepath.Glob(filepath.Join(dir, "dummy_*.vcf.gz"))
	if len(vcfs) == 0 {
		b.Skipf("no benchmark VCF in %s; run bench/prs/run.sh first", dir)
	}
	f, err := os.Open(filepath.Join(dir, "score.txt"))
	if err != nil {
		b.Skipf("no score.txt in %s; run bench/prs/run.sh first", dir)
	}
	s, err := prs.ParseScoringFile(f, "score.txt")
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(vcfs[0])
	b.SetBytes(st.Size())
	for b.Loop() {
		res, err := prs.ScoreFile(context.Background(), vcfs[0], []*prs.Score{s}, prs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Scores[0].Matched != res.Scores[0].Total {
			b.Fatalf("matched %d/%d", res.Scores[0].Matched, res.Scores[0].Total)
		}
	}
}
