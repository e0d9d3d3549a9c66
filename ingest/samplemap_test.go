package ingest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

func writeMap(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map.tsv")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseSampleMapStrict: every line is a sample ID and a valid personal
// code, each sample and each person once; a header line is recognised as
// such, and anything else is an error naming the line.
func TestParseSampleMapStrict(t *testing.T) {
	codes := demo.Cohort(2)
	c0, c1 := string(codes[0].Code), string(codes[1].Code)
	m, err := ingest.ParseSampleMap(writeMap(t, "sample_id\tpersonal_code\nGB-001\t"+c0+"\nGB-002\t"+c1+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header != "sample_id\tpersonal_code" || len(m.Codes) != 2 || m.Codes["GB-001"] != c0 {
		t.Errorf("map %+v", m)
	}
	for _, c := range []struct{ name, text, want string }{
		{"header not first", "GB-001\t" + c0 + "\nsample\tcode\n", ":2: sample \"sample\": \"code\" is not a personal code"},
		{"invalid code", "GB-001\t" + c0 + "\nGB-002\t47101244510\n", ":2: sample \"GB-002\": \"47101244510\" is not a personal code"},
		{"three columns", "GB-001\t" + c0 + "\textra\n", ":1: want two columns (sample ID, personal code), found 3"},
		{"one column", "GB-001\n", ":1: want two columns (sample ID, personal code), found 1"},
		{"sample twice", "GB-001\t" + c0 + "\nGB-001\t" + c1 + "\n", `:2: sample "GB-001" is mapped again (first on line 1)`},
		{"person twice", "GB-001\t" + c0 + "\nGB-002\tEE" + c0 + "\n", `:2: samples "GB-001" (line 1) and "GB-002" are mapped to the same person`},
		{"header only", "sample\tcode\n", "the sample map maps no sample"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeMap(t, c.text)
			_, err := ingest.ParseSampleMap(path)
			if platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(platform.ErrorMessage(err), path+c.want) && !strings.Contains(platform.ErrorMessage(err), c.want) {
				t.Errorf("error %v; want %q", err, c.want)
			}
			if err != nil && !strings.HasPrefix(platform.ErrorMessage(err), path) {
				t.Errorf("error %q does not name the file", platform.ErrorMessage(err))
			}
		})
	}
}

// TestSampleMapUnknownSample: a map naming a sample ID the VCF does not
// have (a map for another file, a typo) is refused and stores nothing.
func TestSampleMapUnknownSample(t *testing.T) {
	people := demo.Cohort(2)
	v := testenv.DemoVCF(t, people)
	copy(v.Columns[9:], []string{"GB-001", "GB-002"})
	dir := t.TempDir()
	_, err := ingest.Prepare(context.Background(), v.Write(t, "c.vcf"), dir, map[string]string{"GB-001": string(people[0].Code), "GB-002": string(people[1].Code), "GB-003": "47101244511"})
	if platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(err.Error(), `names 1 sample ID(s) that are not columns of this VCF: "GB-003"`) {
		t.Errorf("error %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("genotype store holds %d files, want none", len(entries))
	}
}

// TestSampleMapCorrection: a file ingested with a wrong map can be
// ingested again with the corrected one — a new dataset, audited with the
// file's and the map's hashes. The corrected mapping replaces the old one:
// each person's genotypes are their own column, a person the wrong map
// named (though not in the file) loses the result computed from another
// person's column from the clinical view, and the same map twice is still
// a duplicate.
func TestSampleMapCorrection(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := testenv.NewWorld(t, b.DSN(t))
			w.SkipTodaysAgePass(t)
			people := demo.Cohort(3)
			v := testenv.DemoVCF(t, people[:2])
			copy(v.Columns[9:], []string{"GB-001", "GB-002"})
			path := v.Write(t, "c.vcf")
			c0, c1, c2 := string(people[0].Code), string(people[1].Code), string(people[2].Code)
			wrong := map[string]string{"GB-001": c0, "GB-002": c2} // GB-002 is people[1]
			right := map[string]string{"GB-001": c0, "GB-002": c1}
			p0, p2 := w.SignIn(t, people[0].Code), w.SignIn(t, people[2].Code)
			w.Grant(t, p0, demo.PGxAlgorithmID)
			w.Grant(t, p2, demo.PGxAlgorithmID)
			first, err := ingestFile(w, path, wrong)
			if err != nil {
				t.Fatal(err)
			}
			w.Drain(t)
			if rs, err := w.Service.Results(ctx, testenv.Operator, p2.Person, ""); err != nil || len(rs) != 1 {
				t.Fatalf("wrongly mapped person before the correction: %d results, %v", len(rs), err)
			}
			if _, err := ingestFile(w, path, wrong); platform.ErrorCode(err) != platform.CodeConflict || !strings.Contains(err.Error(), "with this sample map was already ingested as dataset") || !strings.Contains(err.Error(), "corrected sample map") {
				t.Fatalf("same map again: %v; want a conflict that says how to correct a map", err)
			}
			second, err := ingestFile(w, path, right)
			if err != nil {
				t.Fatalf("corrected map: %v", err)
			}
			if second.Dataset.ID == first.Dataset.ID || second.Dataset.FileSHA256 != first.Dataset.FileSHA256 || second.Dataset.SHA256 == first.Dataset.SHA256 || second.Dataset.Path != first.Dataset.Path {
				t.Errorf("datasets %+v and %+v: want one file, two datasets", first.Dataset, second.Dataset)
			}
			err = w.Store.Read(ctx, func(tx platform.Tx) error {
				for i, p := range people[:2] {
					d, s, err := tx.LatestSample(w.Pseudo.Pseudonym(p.Code))
					if err != nil {
						return err
					}
					if d.ID != second.Dataset.ID || s.Index != i {
						t.Errorf("person %d: dataset %d column %d; want dataset %d column %d", i, d.ID, s.Index, second.Dataset.ID, i)
					}
				}
				if _, _, err := tx.LatestSample(p2.Person); !platform.IsNotFound(err) {
					t.Errorf("person the wrong map named: %v; want no genotypes", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			w.Drain(t)
			// people[0] kept their column: their result stands.
			if rs, err := w.Service.Results(ctx, testenv.Operator, p0.Person, ""); err != nil || len(rs) != 1 {
				t.Errorf("person with the same column: %d results, %v", len(rs), err)
			}
			if rs, err := w.Service.Results(ctx, testenv.Operator, p2.Person, ""); err != nil || len(rs) != 0 {
				t.Errorf("person the wrong map named: %d results in clinical view, %v; want none", len(rs), err)
			}
			// Nor does a prescription take that result for theirs.
			ans, err := w.Service.MedicationRequested(ctx, testenv.Physician, &platform.MedicationRequest{ID: "rx-remap", Patient: people[2].Code, Drugs: []string{"citalopram"}})
			if err != nil || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxSuggestTest {
				t.Errorf("prescription for the person the wrong map named: %+v, %v; want %s", ans, err, platform.RxSuggestTest)
			}
			var ingests []map[string]string
			withdrawn := false
			for _, e := range testenv.AuditLog(t, w.Store) {
				if e.Action == "ingest" {
					ingests = append(ingests, e.Details)
				}
				if e.Action == "view" && e.Person == p2.Person && e.Details["withdrawn_sample_map_corrected"] != "" {
					withdrawn = true
				}
			}
			if len(ingests) != 2 || ingests[1]["file_sha256"] != second.Dataset.FileSHA256 || ingests[1]["sample_map_sha256"] == "" || ingests[0]["sample_map_sha256"] == ingests[1]["sample_map_sha256"] {
				t.Errorf("ingest audit details %v", ingests)
			}
			if len(ingests) == 2 && (ingests[1]["replaces_mapping_of"] != fmt.Sprintf("[%d]", first.Dataset.ID) || ingests[1]["persons_remapped"] != "1") {
				t.Errorf("correction audit details %v", ingests[1])
			}
			if !withdrawn {
				t.Error("the view does not record the withdrawn result")
			}
		})
	}
}

// TestSampleMapCorrectionPrescription: a person with genotypes of their
// own, whom a newer file's wrong map also named, has a current result from
// another person's column until the map is corrected; after the
// correction a prescription does not take it for theirs, but queues a
// computation from their own data.
func TestSampleMapCorrectionPrescription(t *testing.T) {
	ctx := context.Background()
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	w.SkipTodaysAgePass(t)
	people := demo.Cohort(3)
	p2 := w.SignIn(t, people[2].Code)
	w.Grant(t, p2, demo.PGxAlgorithmID)
	w.Ingest(t, testenv.DemoVCF(t, people[2:]).Write(t, "own.vcf"))
	v := testenv.DemoVCF(t, people[:2])
	copy(v.Columns[9:], []string{"GB-001", "GB-002"})
	path := v.Write(t, "c.vcf")
	c0, c1, c2 := string(people[0].Code), string(people[1].Code), string(people[2].Code)
	if _, err := ingestFile(w, path, map[string]string{"GB-001": c0, "GB-002": c2}); err != nil {
		t.Fatal(err)
	}
	w.Drain(t)
	if _, err := ingestFile(w, path, map[string]string{"GB-001": c0, "GB-002": c1}); err != nil {
		t.Fatal(err)
	}
	ans, err := w.Service.MedicationRequested(ctx, testenv.Physician, &platform.MedicationRequest{ID: "rx-own", Patient: people[2].Code, Drugs: []string{"citalopram"}})
	if err != nil || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxQueued {
		t.Errorf("prescription after the correction: %+v, %v; want %s (the current result is another person's)", ans, err, platform.RxQueued)
	}
}
