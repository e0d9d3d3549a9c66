package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// state is what an ingest can leave behind.
type state struct {
	Datasets, Persons, Samples, Jobs, Audit int
	Files                                   []string
}

func snapshot(t *testing.T, st *sqlstore.Store, dir string) state {
	t.Helper()
	s := state{
		Datasets: testenv.Count(t, st, `SELECT COUNT(*) FROM datasets`),
		Persons:  testenv.Count(t, st, `SELECT COUNT(*) FROM persons`),
		Samples:  testenv.Count(t, st, `SELECT COUNT(*) FROM dataset_samples`),
		Jobs:     testenv.Count(t, st, `SELECT COUNT(*) FROM river_job`),
		Audit:    testenv.Count(t, st, `SELECT (SELECT COUNT(*) FROM audit_events) + (SELECT COUNT(*) FROM audit_pending)`),
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		s.Files = append(s.Files, e.Name())
	}
	return s
}

// ingestFile does what `geneguard ingest` does: prepare, then record.
func ingestFile(w *testenv.World, path string, sampleMap map[string]string) (*ingest.Prepared, error) {
	ctx := context.Background()
	p, err := ingest.Prepare(ctx, path, w.GenotypeDir, sampleMap)
	if err != nil {
		return nil, err
	}
	_, err = w.Service.IngestDataset(ctx, testenv.Operator, &p.Dataset, p.Samples)
	return p, err
}

// TestMalformedVCF: a fault anywhere, however deep, rejects the file whole
// with a message naming the file, the line and the fault; nothing is
// stored: no dataset, person, job, audit event or genotype file.
func TestMalformedVCF(t *testing.T) {
	const filler = 3000
	people := demo.Cohort(3)
	base := testenv.DemoVCF(t, people)
	base.AddFiller(filler)
	deep := len(base.Rows) - filler/3 // well past the demo records
	cases := []struct {
		name    string
		corrupt func(v *testenv.VCF)
		want    string // after "vcf: line N: "
	}{
		{"genotype refers to a missing allele in the last sample", func(v *testenv.VCF) { v.Rows[deep][11] = "0/5" },
			`sample 3: GT "0/5" refers to allele 5 but the record has 1 ALT allele(s)`},
		{"garbled genotype", func(v *testenv.VCF) { v.Rows[deep][10] = "0/x" },
			`sample 2: GT "0/x" has a bad allele "x"`},
		{"row cut short", func(v *testenv.VCF) { v.Rows[deep] = v.Rows[deep][:10] },
			"10 tab-separated columns, header says 12"},
		{"position not a number", func(v *testenv.VCF) { v.Rows[deep][1] = "45001x" },
			`POS "45001x" is not a non-negative integer`},
		{"REF not bases", func(v *testenv.VCF) { v.Rows[deep][3] = "Z" },
			`REF "Z" is not a sequence of A, C, G, T, N`},
		{"triploid call", func(v *testenv.VCF) { v.Rows[deep][9] = "0/0/1" },
			`sample 1: GT "0/0/1" has ploidy 3; only haploid and diploid calls are supported`},
		{"header line among the data", func(v *testenv.VCF) { v.Rows[deep] = []string{"##INFO=<ID=X>"} },
			"header line after the data started"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
			v := &testenv.VCF{Meta: base.Meta, Columns: base.Columns, Rows: make([][]string, len(base.Rows))}
			for i, r := range base.Rows {
				v.Rows[i] = append([]string(nil), r...)
			}
			c.corrupt(v)
			path := v.Write(t, "cohort.vcf")
			before := snapshot(t, w.Store, w.GenotypeDir)

			_, err := ingestFile(w, path, nil)
			if err == nil {
				t.Fatal("ingest succeeded")
			}
			want := fmt.Sprintf("%s: vcf: line %d: %s; nothing was ingested", path, v.Line(deep), c.want)
			if got := platform.ErrorMessage(err); got != want {
				t.Errorf("message:\n got %q\nwant %q", got, want)
			}
			if code := platform.ErrorCode(err); code != platform.CodeInvalid {
				t.Errorf("code %s, want %s", code, platform.CodeInvalid)
			}
			if diff := cmp.Diff(before, snapshot(t, w.Store, w.GenotypeDir)); diff != "" {
				t.Errorf("a rejected file left something behind (-before +after):\n%s", diff)
			}
		})
	}
}

// TestMalformedFiles: faults of the file as a whole.
func TestMalformedFiles(t *testing.T) {
	people := demo.Cohort(2)
	gz := filepath.Join(t.TempDir(), "cohort.vcf.gz")
	if err := demo.WriteVCF(gz, people); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	noRecords := testenv.DemoVCF(t, people)
	noRecords.Rows = nil
	cases := []struct {
		name    string
		content []byte
		want    string // substring of the message
	}{
		{"truncated bgzip", whole[:len(whole)*2/3], "nothing was ingested"},
		{"no records", noRecords.Bytes(), "the VCF has no records; nothing was ingested"},
		{"not a VCF", []byte("sample\tgenotype\nA\t0/1\n"), "vcf: line 1: not a VCF: first line must be ##fileformat=VCFv4.x"},
		{"no samples", []byte("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t1\t.\tA\tG\t.\t.\t.\n"), "the VCF has no sample columns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "genotypes")
			name := "in.vcf"
			if c.name == "truncated bgzip" {
				name = "in.vcf.gz"
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, c.content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ingest.Prepare(context.Background(), path, dir, nil)
			if err == nil {
				t.Fatal("Prepare succeeded")
			}
			if msg := platform.ErrorMessage(err); !strings.Contains(msg, c.want) || !strings.Contains(msg, path) {
				t.Errorf("message %q does not name %s and say %q", msg, path, c.want)
			}
			if code := platform.ErrorCode(err); code != platform.CodeInvalid {
				t.Errorf("code %s, want %s", code, platform.CodeInvalid)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("genotype store holds %d files, want none", len(entries))
			}
		})
	}
}

// TestSampleIDs: every sample must be a person, identified by a valid
// personal code (in the column or through a sample map), and no person
// may appear twice in one file; the message says which columns and why.
func TestSampleIDs(t *testing.T) {
	people := demo.Cohort(8)
	codes := make([]string, len(people))
	for i, p := range people {
		codes[i] = string(p.Code)
	}
	badCheck := codes[1][:10] + fmt.Sprint((int(codes[1][10]-'0')+1)%10)
	// why is identity's reason for refusing a code; the ingest message
	// must carry it.
	why := func(s string) string {
		_, err := identity.ParsePersonalCode(s)
		if err == nil {
			t.Fatalf("%q is a valid personal code", s)
		}
		return err.Error()
	}
	cases := []struct {
		name      string
		samples   []string
		sampleMap map[string]string
		want      string // the message after "<path>: "; "" for success
	}{
		{"personal codes", []string{codes[0], "EE" + codes[1]}, nil, ""},
		{"biobank labels with a map", []string{"GB-001", "GB-002"}, map[string]string{"GB-001": codes[0], "GB-002": codes[1]}, ""},
		{"labels without a map", []string{"GB-001", codes[1], "GB-003"}, nil,
			fmt.Sprintf(`2 sample(s) are not identified as persons: column 10 "GB-001": %s; column 12 "GB-003": %s; give a --sample-map file (sample ID, personal code)`, why("GB-001"), why("GB-003"))},
		{"wrong check digit", []string{codes[0], badCheck}, nil,
			fmt.Sprintf(`1 sample(s) are not identified as persons: column 11 %q: %s; give a --sample-map file (sample ID, personal code)`, badCheck, why(badCheck))},
		{"map to an invalid code", []string{"GB-001"}, map[string]string{"GB-001": "39902300000"},
			fmt.Sprintf(`1 sample(s) are not identified as persons: column 10 "GB-001": %s`, why("39902300000"))},
		{"a column the map misses", []string{"GB-001", "GB-002"}, map[string]string{"GB-001": codes[0]},
			fmt.Sprintf(`1 sample(s) are not identified as persons: column 11 "GB-002": %s; add them to the sample map (sample ID, personal code)`, why("GB-002"))},
		{"seven unidentified", []string{"a", "b", "c", "d", "e", "f", "g"}, nil, "7 sample(s) are not identified as persons: "},
		{"one person twice", []string{codes[0], "GB-9", codes[2]}, map[string]string{"GB-9": codes[0]}, fmt.Sprintf(`columns 10 %q and 11 "GB-9" are the same person (%s)`, codes[0], codes[0])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := testenv.DemoVCF(t, people[:len(c.samples)])
			copy(v.Columns[9:], c.samples)
			path := v.Write(t, "cohort.vcf")
			dir := t.TempDir()
			p, err := ingest.Prepare(context.Background(), path, dir, c.sampleMap)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, s := range p.Samples {
					got = append(got, fmt.Sprintf("%d %s %s", s.Index, s.SampleID, s.Code))
				}
				var want []string
				for i, s := range c.samples {
					want = append(want, fmt.Sprintf("%d %s %s", i, s, codes[i]))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("samples (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatal("Prepare succeeded")
			}
			if code := platform.ErrorCode(err); code != platform.CodeInvalid {
				t.Errorf("code %s, want %s", code, platform.CodeInvalid)
			}
			if got := platform.ErrorMessage(err); !strings.HasPrefix(got, path+": "+c.want) {
				t.Errorf("message:\n got %q\nwant %q", got, path+": "+c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("genotype store holds %d files, want none", len(entries))
			}
		})
	}
}

// TestIngest: a good file is stored under its SHA-256 and recorded with
// its persons in one step; the same file again is refused and changes
// nothing.
func TestIngest(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWorld(t, b.DSN(t))
			people := demo.Cohort(3)
			people[0].Name = "Mari Maasikas"
			v := testenv.DemoVCF(t, people)
			path := v.Write(t, "cohort.vcf")
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(content)
			p, err := ingestFile(w, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := platform.Dataset{ID: p.Dataset.ID, SHA256: hex.EncodeToString(sum[:]), Path: filepath.Join(w.GenotypeDir, hex.EncodeToString(sum[:])+".vcf"),
				Build: "GRCh38", Samples: 3, Records: len(v.Rows), Source: "cohort.vcf", CreatedAt: p.Dataset.CreatedAt}
			if diff := cmp.Diff(want, p.Dataset); diff != "" {
				t.Errorf("dataset (-want +got):\n%s", diff)
			}
			stored, err := os.ReadFile(p.Dataset.Path)
			if err != nil || string(stored) != string(content) {
				t.Errorf("stored copy differs from the file (%v)", err)
			}
			for _, person := range people {
				if _, err := w.Service.PersonByCode(context.Background(), testenv.Operator, string(person.Code)); err != nil {
					t.Errorf("person %s: %v", person.Code, err)
				}
			}

			before := snapshot(t, w.Store, w.GenotypeDir)
			_, err = ingestFile(w, path, nil)
			if code := platform.ErrorCode(err); code != platform.CodeConflict {
				t.Fatalf("second ingest: %v (code %s), want %s", err, code, platform.CodeConflict)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("already ingested as dataset %d", p.Dataset.ID)) {
				t.Errorf("conflict %q does not name the dataset", err)
			}
			if diff := cmp.Diff(before, snapshot(t, w.Store, w.GenotypeDir)); diff != "" {
				t.Errorf("a refused ingest changed something (-before +after):\n%s", diff)
			}
		})
	}
}

// TestIngestQueuesConsented: the ingest queues, in its own transaction,
// each consented person's active algorithms and nobody else's.
func TestIngestQueuesConsented(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(4)
	// Two persons are known (from a first dataset) and consent; then a
	// second dataset arrives with all four.
	if _, jobs := w.Ingest(t, testenv.DemoVCF(t, people[:2]).Write(t, "first.vcf")); jobs != 0 {
		t.Fatalf("first ingest queued %d jobs", jobs)
	}
	a, b := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
	w.Grant(t, a, demo.PGxAlgorithmID)
	w.Grant(t, a, demo.PRSAlgorithmID)
	w.Grant(t, b, demo.PRSAlgorithmID)
	w.Drain(t)
	_, jobs := w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "second.vcf"))
	if jobs != 3 {
		t.Errorf("second ingest queued %d jobs, want 3", jobs)
	}
	var got []string
	for _, j := range testenv.Jobs(t, w.Store) {
		if j.State == "available" {
			got = append(got, fmt.Sprintf("%s %s %s", j.Person, j.AlgorithmID, j.Trigger))
		}
	}
	want := []string{
		a.Person + " " + demo.PGxAlgorithmID + " genotype",
		a.Person + " " + demo.PRSAlgorithmID + " genotype",
		b.Person + " " + demo.PRSAlgorithmID + " genotype",
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Errorf("queued jobs (-want +got):\n%s", diff)
	}
}

func TestReadSampleMap(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tsv")
	if err := os.WriteFile(good, []byte("# sample\tcode\n\nGB-001\t47101244511\n  GB-002   EE47811238997  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ingest.ReadSampleMap(good)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"GB-001": "47101244511", "GB-002": "EE47811238997"}, m); diff != "" {
		t.Errorf("map (-want +got):\n%s", diff)
	}
	bad := filepath.Join(dir, "bad.tsv")
	if err := os.WriteFile(bad, []byte("GB-001\t47101244511\nGB-002 47811238997 extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ingest.ReadSampleMap(bad)
	if want := bad + ":2: want two columns (sample ID, personal code), found 3"; platform.ErrorMessage(err) != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if _, err := identity.ParsePersonalCode("47101244511"); err != nil {
		t.Fatalf("fixture code invalid: %v", err)
	}
}

// TestCheckThenStore: Check writes nothing and leaves the dataset without
// a hash or path; Store copies the file, completes the dataset as Prepare
// does, and says whether the copy is new.
func TestCheckThenStore(t *testing.T) {
	people := demo.Cohort(3)
	path := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")
	m := map[string]string{string(people[0].Code): string(people[0].Code)}
	dir := filepath.Join(t.TempDir(), "genotypes")
	want, err := ingest.Prepare(context.Background(), path, t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.Check(context.Background(), path, m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dataset.SHA256 != "" || p.Dataset.Path != "" {
		t.Errorf("Check set hash %q, path %q", p.Dataset.SHA256, p.Dataset.Path)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Check created the store: %v", err)
	}
	for i, wantAdded := range []bool{true, false} {
		added, err := p.Store(dir)
		if err != nil || added != wantAdded {
			t.Fatalf("Store %d: added %v, %v; want %v", i+1, added, err, wantAdded)
		}
	}
	got := p.Dataset
	got.Path, want.Dataset.Path = "", ""
	if got != want.Dataset {
		t.Errorf("Check+Store dataset %+v, Prepare's %+v", got, want.Dataset)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("store holds %d files, want 1", len(entries))
	}
}
