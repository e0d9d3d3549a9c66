package platform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

// onlyPGx fits the PGx algorithm alone, as if the PRS bundle were on
// another build.
type onlyPGx struct{}

func (onlyPGx) CheckBuild(v *algorithm.Version, build string) error {
	if v.Manifest.Kind == algorithm.KindPGx {
		return nil
	}
	return fmt.Errorf("score is on GRCh99, the genotypes are %s", build)
}

// TestIngestBuildFit: ingest says per active algorithm whether the file's
// genome build fits; a file none can use is refused whole, and one some
// can use is queued for those only.
func TestIngestBuildFit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		for _, p := range people {
			pr := w.SignIn(t, p.Code)
			w.Grant(t, pr, demo.PGxAlgorithmID)
			w.Grant(t, pr, w.PRS.Manifest.ID)
		}
		v := testenv.DemoVCF(t, people)
		for i, m := range v.Meta {
			v.Meta[i] = strings.ReplaceAll(m, "GRCh38", "GRCh37")
		}
		prep, err := ingest.Prepare(ctx, v.Write(t, "b37.vcf"), w.GenotypeDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if prep.Dataset.Build != "GRCh37" {
			t.Fatalf("build %q", prep.Dataset.Build)
		}
		_, err = w.Service.Ingest(ctx, testenv.Operator, &prep.Dataset, prep.Samples)
		if platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(err.Error(), "no active algorithm can use") || !strings.Contains(err.Error(), "nothing was ingested") {
			t.Fatalf("GRCh37 file: %v; want a refusal naming the algorithms", err)
		}
		for _, id := range []string{demo.PGxAlgorithmID, w.PRS.Manifest.ID} {
			if !strings.Contains(err.Error(), id) {
				t.Errorf("refusal does not name %s: %v", id, err)
			}
		}
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM datasets`); n != 0 {
			t.Errorf("%d datasets after a refused ingest", n)
		}

		w.Service.SetBuildChecker(onlyPGx{})
		prep, err = ingest.Prepare(ctx, testenv.DemoVCF(t, people).Write(t, "b38.vcf"), w.GenotypeDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := w.Service.Ingest(ctx, testenv.Operator, &prep.Dataset, prep.Samples)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Unfit(); len(got) != 1 || got[0] != w.PRS.Manifest.ID {
			t.Errorf("unfit %v; want the PRS alone", got)
		}
		if rep.Jobs != len(people) {
			t.Errorf("%d jobs; want %d (PGx only)", rep.Jobs, len(people))
		}
		for _, j := range testenv.Jobs(t, w.Store) {
			if j.AlgorithmID != demo.PGxAlgorithmID {
				t.Errorf("job queued for %s, which cannot use the file", j.AlgorithmID)
			}
		}
		var found bool
		for _, e := range testenv.AuditLog(t, w.Store) {
			if e.Action == "ingest" {
				found = true
				if e.Details["build"] != "GRCh38" || e.Details["build_unfit"] != w.PRS.Manifest.ID {
					t.Errorf("ingest audit details %v", e.Details)
				}
			}
		}
		if !found {
			t.Error("no ingest audit event")
		}
	})
}
