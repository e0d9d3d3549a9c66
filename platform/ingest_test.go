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

// TestIngestStoresNoPersonalCodes: a file whose columns are named by the
// persons' codes leaves no code in dataset_samples (the pseudonym and the
// column index identify the column); a biobank's own sample IDs, mapped
// to codes by a sample map, are kept.
func TestIngestStoresNoPersonalCodes(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			w := testenv.NewWorld(t, dsn)
			people := demo.Cohort(3)
			vcf := testenv.DemoVCF(t, people)
			w.Ingest(t, vcf.Write(t, "cohort.vcf"))
			for _, p := range people {
				if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM dataset_samples WHERE sample_id LIKE ?`, "%"+string(p.Code)+"%"); n != 0 {
					t.Errorf("dataset_samples holds %s's personal code in %d rows", p.Code, n)
				}
			}
			if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM dataset_samples WHERE sample_id = '' AND sample_index >= 0`); n != len(people) {
				t.Errorf("%d columns with no stored sample ID, want %d", n, len(people))
			}

			// The same genotypes under biobank sample IDs, with a map.
			m := map[string]string{}
			for i, p := range people {
				id := fmt.Sprintf("BB%04d", i)
				m[id] = string(p.Code)
				vcf.Columns[9+vcf.Sample(t, string(p.Code))] = id
			}
			renamed := vcf.Write(t, "renamed.vcf")
			p, err := ingest.Prepare(ctx, renamed, w.GenotypeDir, m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Service.IngestDataset(ctx, testenv.Operator, &p.Dataset, p.Samples); err != nil {
				t.Fatal(err)
			}
			if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM dataset_samples WHERE sample_id LIKE 'BB%'`); n != len(people) {
				t.Errorf("%d biobank sample IDs kept, want %d", n, len(people))
			}

			// A database from before: codes stored as sample IDs are
			// blanked by migration 00009, biobank IDs kept.
			testenv.Exec(t, w.Store,
				`UPDATE dataset_samples SET sample_id = '`+string(people[0].Code)+`' WHERE sample_id = '' AND sample_index = 0`,
				`UPDATE dataset_samples SET sample_id = 'EE`+string(people[1].Code)+`' WHERE sample_id = '' AND sample_index = 1`,
				`DELETE FROM goose_db_version WHERE version_id >= 9`)
			st := testenv.OpenStore(t, dsn)
			if n := testenv.Count(t, st, `SELECT COUNT(*) FROM dataset_samples WHERE sample_id = ''`); n != len(people) {
				t.Errorf("after migration: %d columns with no stored sample ID, want %d", n, len(people))
			}
			if n := testenv.Count(t, st, `SELECT COUNT(*) FROM dataset_samples WHERE sample_id LIKE 'BB%'`); n != len(people) {
				t.Errorf("after migration: %d biobank sample IDs kept, want %d", n, len(people))
			}
		})
	}
}
