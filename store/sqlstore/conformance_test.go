package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// The conformance suite states what the platform relies on from a Store.
// It runs against every dialect, each case on a fresh database.
var conformance = []struct {
	name string
	fn   func(t *testing.T, st *sqlstore.Store)
}{
	{"Persons", testPersons},
	{"Datasets", testDatasets},
	{"Algorithms", testAlgorithms},
	{"Consent", testConsent},
	{"Results", testResults},
	{"ConcurrentResultWriters", testConcurrentResultWriters},
	{"Enqueue", testEnqueue},
	{"CancelJobs", testCancelJobs},
	{"BatchJobs", testBatchJobs},
	{"Audit", testAudit},
	{"AuditConcurrent", testAuditConcurrent},
	{"AuditCommitOrder", testAuditCommitOrder},
}

func TestConformance(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range conformance {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					st := testenv.OpenStore(t, b.DSN(t))
					st.SetClock(func() time.Time { return t0 })
					c.fn(t, st)
				})
			}
		})
	}
}

// t0 is the store clock in these tests: microseconds only, which both
// dialects keep exactly.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// equateTimes compares instants, whatever zone the driver returns.
var equateTimes = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// inTx runs fn in a write transaction and fails t on error.
func inTx(t *testing.T, st *sqlstore.Store, fn func(tx platform.Tx) error) {
	t.Helper()
	if err := st.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// read runs fn in a read transaction and fails t on error.
func read(t *testing.T, st *sqlstore.Store, fn func(tx platform.Tx) error) {
	t.Helper()
	if err := st.Read(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func person(id string) platform.Person {
	return platform.Person{ID: id, BirthDate: time.Date(1980, 2, 29, 0, 0, 0, 0, time.UTC), Sex: "female", DisplayName: "Name of " + id}
}

func addPersons(t *testing.T, st *sqlstore.Store, ids ...string) {
	t.Helper()
	inTx(t, st, func(tx platform.Tx) error {
		for _, id := range ids {
			if err := tx.UpsertPerson(person(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

func wantCode(t *testing.T, err error, code platform.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := platform.ErrorCode(err); got != code {
		t.Fatalf("error %q has code %s, want %s", err, got, code)
	}
}

func testPersons(t *testing.T, st *sqlstore.Store) {
	addPersons(t, st, "P-B", "P-A")
	later := t0.Add(time.Hour)
	st.SetClock(func() time.Time { return later })
	renamed := person("P-A")
	renamed.DisplayName = "Renamed"
	unnamed := person("P-B")
	unnamed.DisplayName = ""
	// A second upsert changes the name but not the creation time; an
	// upsert without a name (an ingest that carries none) keeps the name.
	inTx(t, st, func(tx platform.Tx) error {
		if err := tx.UpsertPerson(renamed); err != nil {
			return err
		}
		return tx.UpsertPerson(unnamed)
	})
	want := []platform.Person{person("P-A"), person("P-B")}
	want[0].DisplayName = "Renamed"
	for i := range want {
		want[i].CreatedAt = t0
	}
	read(t, st, func(tx platform.Tx) error {
		got, err := tx.Persons()
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got, equateTimes); diff != "" {
			t.Errorf("Persons() (-want +got):\n%s", diff)
		}
		p, err := tx.Person("P-B")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&want[1], p, equateTimes); diff != "" {
			t.Errorf("Person(P-B) (-want +got):\n%s", diff)
		}
		_, err = tx.Person("P-NOBODY")
		wantCode(t, err, platform.CodeNotFound)
		if !platform.IsNotFound(err) {
			t.Errorf("IsNotFound(%v) = false", err)
		}
		return nil
	})
}

func testDatasets(t *testing.T, st *sqlstore.Store) {
	addPersons(t, st, "P-1", "P-2")
	d1 := &platform.Dataset{SHA256: strings.Repeat("a", 64), Path: "/g/a.vcf", Build: "GRCh38", Samples: 2, Records: 10, Source: "a.vcf"}
	d2 := &platform.Dataset{SHA256: strings.Repeat("b", 64), Path: "/g/b.vcf", Build: "GRCh37", Samples: 1, Records: 3, Source: "b.vcf"}
	inTx(t, st, func(tx platform.Tx) error {
		return tx.InsertDataset(d1, []platform.DatasetSample{{Index: 0, SampleID: "S1", Person: "P-1"}, {Index: 1, SampleID: "S2", Person: "P-2"}})
	})
	inTx(t, st, func(tx platform.Tx) error {
		return tx.InsertDataset(d2, []platform.DatasetSample{{Index: 0, SampleID: "X", Person: "P-2"}})
	})
	if d1.ID == 0 || d2.ID <= d1.ID || !d1.CreatedAt.Equal(t0) {
		t.Fatalf("datasets got IDs %d, %d and time %v; want increasing IDs and %v", d1.ID, d2.ID, d1.CreatedAt, t0)
	}

	// The same file again is a conflict, and the transaction it failed
	// in writes nothing (here: a person upserted before it).
	again := *d1
	err := st.InTx(context.Background(), func(tx platform.Tx) error {
		if err := tx.UpsertPerson(person("P-3")); err != nil {
			return err
		}
		return tx.InsertDataset(&again, []platform.DatasetSample{{Index: 0, SampleID: "S3", Person: "P-3"}})
	})
	wantCode(t, err, platform.CodeConflict)
	if want := fmt.Sprintf("already ingested as dataset %d", d1.ID); !strings.Contains(err.Error(), want) {
		t.Errorf("conflict %q does not say %q", err, want)
	}

	read(t, st, func(tx platform.Tx) error {
		if _, err := tx.Person("P-3"); !platform.IsNotFound(err) {
			t.Errorf("person of the failed transaction: got %v, want not found", err)
		}
		for _, c := range []struct {
			person string
			want   *platform.Dataset
			sample platform.DatasetSample
		}{
			{"P-1", d1, platform.DatasetSample{DatasetID: d1.ID, Index: 0, SampleID: "S1", Person: "P-1"}},
			{"P-2", d2, platform.DatasetSample{DatasetID: d2.ID, Index: 0, SampleID: "X", Person: "P-2"}}, // the newest
		} {
			d, s, err := tx.LatestSample(c.person)
			if err != nil {
				return err
			}
			// Read back, the file hash is always set: without a sample
			// map the file's hash is the dataset's.
			want := *c.want
			if want.FileSHA256 == "" {
				want.FileSHA256 = want.SHA256
			}
			if diff := cmp.Diff(&want, d, equateTimes); diff != "" {
				t.Errorf("LatestSample(%s) dataset (-want +got):\n%s", c.person, diff)
			}
			if diff := cmp.Diff(c.sample, *s); diff != "" {
				t.Errorf("LatestSample(%s) sample (-want +got):\n%s", c.person, diff)
			}
		}
		_, _, err := tx.LatestSample("P-NOBODY")
		wantCode(t, err, platform.CodeNotFound)
		ps, err := tx.DatasetPersons(d1.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"P-1", "P-2"}, ps); diff != "" {
			t.Errorf("DatasetPersons (-want +got):\n%s", diff)
		}
		return nil
	})
}

// version makes an algorithm version; files hold bytes that are not UTF-8
// to check that bundles round-trip byte for byte.
func version(t *testing.T, id, ver string) *algorithm.Version {
	t.Helper()
	v, err := algorithm.New(algorithm.Manifest{
		ID: id, Version: ver, Kind: algorithm.KindPRS, Title: "Title " + id, Purpose: "Purpose " + id,
		Inputs: algorithm.InputSpec{Genotypes: true, Attributes: []string{"age"}},
	}, map[string][]byte{"score.txt": []byte("weights " + ver), "blob.bin": {0, 0xff, 0xfe, '\n', 0x80}}, "provider")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testAlgorithms(t *testing.T, st *sqlstore.Store) {
	a1, a2, b1 := version(t, "alg-a", "1"), version(t, "alg-a", "2"), version(t, "alg-b", "1")
	inTx(t, st, func(tx platform.Tx) error {
		for _, v := range []*algorithm.Version{a1, a2, b1} {
			if err := tx.InsertAlgorithm(v); err != nil {
				return err
			}
		}
		return nil
	})
	// Same content, or same id and version label: conflict.
	relabelled := version(t, "alg-a", "1")
	relabelled.Files["score.txt"] = []byte("other weights")
	relabelled.Hash = relabelled.ComputeHash()
	for _, v := range []*algorithm.Version{a1, relabelled} {
		err := st.InTx(context.Background(), func(tx platform.Tx) error { return tx.InsertAlgorithm(v) })
		wantCode(t, err, platform.CodeConflict)
	}

	read(t, st, func(tx platform.Tx) error {
		got, err := tx.Algorithm(a1.Hash)
		if err != nil {
			return err
		}
		want := *a1
		want.CreatedAt = t0
		if diff := cmp.Diff(&want, got, equateTimes); diff != "" {
			t.Errorf("Algorithm(a1) (-want +got):\n%s", diff)
		}
		_, err = tx.Algorithm(strings.Repeat("0", 64))
		wantCode(t, err, platform.CodeNotFound)
		return nil
	})

	activate := func(hashes ...string) error {
		return st.InTx(context.Background(), func(tx platform.Tx) error {
			for _, h := range hashes {
				if err := tx.SetAlgorithmStatus(h, algorithm.StatusActive, ""); err != nil {
					return err
				}
			}
			return nil
		})
	}
	active := func() []string {
		t.Helper()
		var out []string
		read(t, st, func(tx platform.Tx) error {
			vs, err := tx.ActiveAlgorithms()
			for _, v := range vs {
				out = append(out, v.Manifest.ID+"@"+v.Manifest.Version)
			}
			return err
		})
		return out
	}
	if err := activate(a1.Hash, b1.Hash); err != nil {
		t.Fatal(err)
	}
	// The database refuses a second active version of one algorithm.
	if err := activate(a2.Hash); err == nil {
		t.Error("activating a second version of alg-a succeeded; want the one-active constraint to refuse it")
	}
	if diff := cmp.Diff([]string{"alg-a@1", "alg-b@1"}, active()); diff != "" {
		t.Errorf("active after refused activation (-want +got):\n%s", diff)
	}
	// Retiring the old one first, in the same transaction, is how it works.
	inTx(t, st, func(tx platform.Tx) error {
		if err := tx.SetAlgorithmStatus(a1.Hash, algorithm.StatusRetired, ""); err != nil {
			return err
		}
		return tx.SetAlgorithmStatus(a2.Hash, algorithm.StatusActive, "board")
	})
	if diff := cmp.Diff([]string{"alg-a@2", "alg-b@1"}, active()); diff != "" {
		t.Errorf("active after switch (-want +got):\n%s", diff)
	}
	err := st.InTx(context.Background(), func(tx platform.Tx) error {
		return tx.SetAlgorithmStatus(strings.Repeat("0", 64), algorithm.StatusApproved, "")
	})
	wantCode(t, err, platform.CodeNotFound)

	read(t, st, func(tx platform.Tx) error {
		all, err := tx.AllAlgorithms()
		if err != nil {
			return err
		}
		var got []string
		for _, v := range all {
			got = append(got, fmt.Sprintf("%s@%s %s %q", v.Manifest.ID, v.Manifest.Version, v.Status, v.ApprovedBy))
		}
		want := []string{`alg-a@1 retired ""`, `alg-a@2 active "board"`, `alg-b@1 active ""`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AllAlgorithms (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testConsent(t *testing.T, st *sqlstore.Store) {
	addPersons(t, st, "P-1", "P-2", "P-3", "P-4")
	ev := func(p, alg string, a consent.Action) consent.Event {
		return consent.Event{Person: p, Algorithm: alg, Action: a, Actor: "actor-" + p, Channel: "portal"}
	}
	steps := [][]consent.Event{
		{ev("P-1", "A", consent.Grant), ev("P-2", "A", consent.Grant), ev("P-3", "B", consent.Grant)},
		{ev("P-1", "A", consent.Withdraw)},
		{ev("P-1", "A", consent.Grant), ev("P-2", "A", consent.Withdraw)},
		// Two events in one transaction share a time; the later still wins.
		{ev("P-4", "A", consent.Grant), ev("P-4", "A", consent.Withdraw)},
	}
	for _, s := range steps {
		inTx(t, st, func(tx platform.Tx) error {
			for _, e := range s {
				if _, err := tx.AppendConsent(e); err != nil {
					return err
				}
			}
			return nil
		})
	}
	read(t, st, func(tx platform.Tx) error {
		h, err := tx.ConsentHistory("P-1", "A")
		if err != nil {
			return err
		}
		want := []consent.Event{ev("P-1", "A", consent.Grant), ev("P-1", "A", consent.Withdraw), ev("P-1", "A", consent.Grant)}
		for i := range want {
			want[i].At = t0
		}
		if diff := cmp.Diff(want, h, equateTimes); diff != "" {
			t.Errorf("ConsentHistory(P-1, A) (-want +got):\n%s", diff)
		}
		if h, err := tx.ConsentHistory("P-3", "A"); err != nil || len(h) != 0 {
			t.Errorf("ConsentHistory(P-3, A) = %v, %v; want none (another algorithm's grant does not count)", h, err)
		}
		for alg, want := range map[string][]string{"A": {"P-1"}, "B": {"P-3"}, "C": nil} {
			got, err := tx.ConsentedPersons(alg)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ConsentedPersons(%s) (-want +got):\n%s", alg, diff)
			}
			// The history's latest event and ConsentedPersons agree.
			for _, p := range []string{"P-1", "P-2", "P-3", "P-4"} {
				h, err := tx.ConsentHistory(p, alg)
				if err != nil {
					return err
				}
				if in := contains(got, p); in != consent.Granted(h) {
					t.Errorf("%s/%s: ConsentedPersons says %v, history says %v", p, alg, in, consent.Granted(h))
				}
			}
		}
		return nil
	})
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func testResults(t *testing.T, st *sqlstore.Store) {
	addPersons(t, st, "P-1", "P-2")
	a1, a2, b1 := version(t, "alg-a", "1"), version(t, "alg-a", "2"), version(t, "alg-b", "1")
	inTx(t, st, func(tx platform.Tx) error {
		for _, v := range []*algorithm.Version{a1, a2, b1} {
			if err := tx.InsertAlgorithm(v); err != nil {
				return err
			}
		}
		return nil
	})
	res := func(p string, v *algorithm.Version, fp, summary string) *result.Result {
		return &result.Result{Person: p, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, InputFingerprint: fp, DatasetID: 7,
			Trigger: result.TriggerConsent, Summary: summary, Category: "cat", Output: json.RawMessage(`{"x":1}`), DurationMS: 3, Worker: "w"}
	}
	insert := func(r *result.Result) bool {
		t.Helper()
		var ok bool
		inTx(t, st, func(tx platform.Tx) error {
			var err error
			ok, err = tx.InsertResult(r)
			return err
		})
		return ok
	}
	steps := []struct {
		r    *result.Result
		want bool
	}{
		{res("P-1", a1, "fp1", "first"), true},
		{res("P-1", a1, "fp1", "same input again"), false}, // idempotent
		{res("P-1", a1, "fp2", "new genotypes"), true},     // supersedes the first
		{res("P-1", b1, "fp1", "other algorithm"), true},   // supersedes nothing of alg-a
		{res("P-2", a1, "fp1", "other person"), true},
		{res("P-1", a2, "fp2", "new version"), true}, // supersedes "new genotypes"
	}
	for i, s := range steps {
		if got := insert(s.r); got != s.want {
			t.Errorf("step %d (%s): InsertResult = %v, want %v", i, s.r.Summary, got, s.want)
		}
	}
	if steps[1].r.ID != steps[0].r.ID {
		t.Errorf("repeated insert reports ID %d, want the existing %d", steps[1].r.ID, steps[0].r.ID)
	}
	type row struct {
		Summary, Version string
		SupersededBy     int64
	}
	rows := func(rs []result.Result) []row {
		var out []row
		for _, r := range rs {
			out = append(out, row{r.Summary, r.Version, r.SupersededBy})
		}
		return out
	}
	read(t, st, func(tx platform.Tx) error {
		all, err := tx.AllResults("P-1")
		if err != nil {
			return err
		}
		want := []row{
			{"first", "1", steps[2].r.ID},
			{"new genotypes", "1", steps[5].r.ID},
			{"other algorithm", "1", 0},
			{"new version", "2", 0},
		}
		if diff := cmp.Diff(want, rows(all)); diff != "" {
			t.Errorf("AllResults(P-1) (-want +got):\n%s", diff)
		}
		cur, err := tx.CurrentResults("P-1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]row{{"new version", "2", 0}, {"other algorithm", "1", 0}}, rows(cur)); diff != "" {
			t.Errorf("CurrentResults(P-1) (-want +got):\n%s", diff)
		}
		// Every field round-trips.
		w := *steps[5].r
		w.Version, w.CreatedAt = "2", t0
		if diff := cmp.Diff(w, cur[0], equateTimes); diff != "" {
			t.Errorf("stored result (-want +got):\n%s", diff)
		}
		return nil
	})
}

// testConcurrentResultWriters: two transactions write a new result for
// the same person and algorithm at once, each reading the current result
// first as the runner does. LockResults makes the second wait for the
// first, so exactly one result stays current and the second knows it
// superseded the first.
func testConcurrentResultWriters(t *testing.T, st *sqlstore.Store) {
	addPersons(t, st, "P-1")
	v := version(t, "alg-a", "1")
	inTx(t, st, func(tx platform.Tx) error { return tx.InsertAlgorithm(v) })
	res := func(fp string) *result.Result {
		return &result.Result{Person: "P-1", AlgorithmID: "alg-a", VersionHash: v.Hash, InputFingerprint: fp, DatasetID: 7,
			Trigger: result.TriggerNewVersion, Summary: fp, Category: "cat", Output: json.RawMessage(`{}`), Worker: "w"}
	}
	write := func(fp string, hold <-chan struct{}, locked chan<- struct{}) (prev string, err error) {
		err = st.InTx(context.Background(), func(tx platform.Tx) error {
			if err := tx.LockResults("P-1", "alg-a"); err != nil {
				return err
			}
			if locked != nil {
				close(locked)
			}
			prev = ""
			if cur, err := tx.CurrentResult("P-1", "alg-a"); err == nil {
				prev = cur.Summary
			} else if !platform.IsNotFound(err) {
				return err
			}
			if _, err := tx.InsertResult(res(fp)); err != nil {
				return err
			}
			if hold != nil {
				<-hold // commit only after the other writer has started
			}
			return nil
		})
		return prev, err
	}
	// start runs a writer in the background; its wait returns what it read.
	start := func(fp string, hold <-chan struct{}, locked chan<- struct{}) (wait func() (string, error)) {
		var prev string
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			prev, err = write(fp, hold, locked)
		}()
		return func() (string, error) { <-done; return prev, err }
	}
	hold, locked := make(chan struct{}), make(chan struct{})
	first := start("first", hold, locked)
	<-locked
	second := start("second", nil, nil)
	time.Sleep(100 * time.Millisecond) // the second writer is now waiting (PostgreSQL) or queued (SQLite)
	close(hold)
	prev1, err1 := first()
	prev2, err2 := second()
	if err1 != nil || err2 != nil {
		t.Fatalf("writers: %v, %v", err1, err2)
	}
	if prev1 != "" || prev2 != "first" {
		t.Errorf("writers read current results %q and %q, want none and \"first\"", prev1, prev2)
	}
	var current []string
	read(t, st, func(tx platform.Tx) error {
		rs, err := tx.CurrentResults("P-1")
		for _, r := range rs {
			current = append(current, r.Summary)
		}
		return err
	})
	if diff := cmp.Diff([]string{"second"}, current); diff != "" {
		t.Errorf("current results (-want +got):\n%s", diff)
	}
}

// job is a compute job for person p and algorithm alg.
func job(p, alg string, trig result.Trigger) platform.ComputeJob {
	return platform.ComputeJob{Person: p, AlgorithmID: alg, VersionHash: "h-" + alg, Trigger: trig}
}

func jobArgs(t *testing.T, st *sqlstore.Store, state string) []platform.ComputeJob {
	t.Helper()
	var out []platform.ComputeJob
	for _, j := range testenv.Jobs(t, st) {
		if j.State == state {
			out = append(out, j.ComputeJob)
		}
	}
	return out
}

func testEnqueue(t *testing.T, st *sqlstore.Store) {
	enqueue := func(jobs ...platform.ComputeJob) {
		t.Helper()
		inTx(t, st, func(tx platform.Tx) error { return tx.Enqueue(jobs) })
	}
	j := job("P-1", "A", result.TriggerConsent)
	enqueue(j)
	enqueue(j)                                       // a waiting twin: not added
	enqueue(job("P-1", "A", result.TriggerGenotype)) // other arguments: added
	enqueue()                                        // nothing: fine
	enqueue(job("P-2", "A", result.TriggerGenotype), job("P-2", "A", result.TriggerGenotype))
	// A rolled-back transaction queues nothing.
	err := st.InTx(context.Background(), func(tx platform.Tx) error {
		if err := tx.Enqueue([]platform.ComputeJob{job("P-9", "A", result.TriggerConsent)}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("InTx returned nil for a failing fn")
	}
	want := []platform.ComputeJob{j, job("P-1", "A", result.TriggerGenotype), job("P-2", "A", result.TriggerGenotype)}
	if diff := cmp.Diff(want, jobArgs(t, st, "available")); diff != "" {
		t.Errorf("available jobs (-want +got):\n%s", diff)
	}

	// More than one insert batch.
	var many []platform.ComputeJob
	for i := range 1001 {
		many = append(many, job(fmt.Sprintf("P-M%04d", i), "A", result.TriggerNewVersion))
	}
	enqueue(many...)
	s, err := st.JobStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(platform.JobStats{Available: 3 + 1001}, s); diff != "" {
		t.Errorf("JobStats (-want +got):\n%s", diff)
	}
}

func testCancelJobs(t *testing.T, st *sqlstore.Store) {
	st.SetClock(time.Now) // River compares finalized_at with its own clock
	inTx(t, st, func(tx platform.Tx) error {
		return tx.Enqueue([]platform.ComputeJob{
			job("P-1", "A", result.TriggerConsent),
			job("P-1", "A", result.TriggerNewVersion),
			job("P-1", "B", result.TriggerConsent),
			job("P-2", "A", result.TriggerConsent),
		})
	})
	cancel := func(p, alg string) int {
		t.Helper()
		var n int
		inTx(t, st, func(tx platform.Tx) error {
			var err error
			n, err = tx.CancelJobs(p, alg)
			return err
		})
		return n
	}
	if n := cancel("P-1", "A"); n != 2 {
		t.Errorf("CancelJobs(P-1, A) = %d, want 2", n)
	}
	if n := cancel("P-1", "A"); n != 0 {
		t.Errorf("CancelJobs(P-1, A) again = %d, want 0", n)
	}
	if diff := cmp.Diff([]platform.ComputeJob{job("P-1", "B", result.TriggerConsent), job("P-2", "A", result.TriggerConsent)}, jobArgs(t, st, "available")); diff != "" {
		t.Errorf("available after cancel (-want +got):\n%s", diff)
	}
	// A cancelled job does not block its twin: a re-grant can queue again.
	inTx(t, st, func(tx platform.Tx) error {
		return tx.Enqueue([]platform.ComputeJob{job("P-1", "A", result.TriggerConsent)})
	})
	s, err := st.JobStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(platform.JobStats{Available: 3, Cancelled: 2}, s); diff != "" {
		t.Errorf("JobStats (-want +got):\n%s", diff)
	}
	// River itself reads the cancelled rows back as cancelled and
	// finalized, so its cleaner and UI treat them as such.
	rc, err := river.NewClient(st.Driver(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rc.JobList(context.Background(), river.NewJobListParams().States(rivertype.JobStateCancelled))
	if err != nil {
		t.Fatalf("River lists cancelled jobs: %v", err)
	}
	if len(res.Jobs) != 2 {
		t.Fatalf("River lists %d cancelled jobs, want 2", len(res.Jobs))
	}
	for _, j := range res.Jobs {
		if j.FinalizedAt == nil || time.Since(*j.FinalizedAt).Abs() > time.Minute {
			t.Errorf("job %d: River reads finalized_at %v, want about now", j.ID, j.FinalizedAt)
		}
	}
}

// batchJobs reads the compute-batch jobs in the given state: their
// arguments as the worker gets them, and the JSON type of each stored
// argument (persons must be one string, not an array GIN indexes per
// element; see batchArgs).
func batchJobs(t *testing.T, st *sqlstore.Store, state string) ([]platform.BatchJob, []map[string]string) {
	t.Helper()
	args, typeOf := "args", "jsonb_typeof(v)"
	each := "jsonb_each(args)"
	if st.Dialect() == sqlstore.SQLite {
		args, typeOf, each = "json(args)", "CASE type WHEN 'text' THEN 'string' ELSE type END", "json_each(json(args))"
	}
	var valueType string
	if st.Dialect() == sqlstore.SQLite {
		valueType = `(SELECT json_group_object(key, ` + typeOf + `) FROM ` + each + `)`
	} else {
		valueType = `(SELECT jsonb_object_agg(key, ` + typeOf + `) FROM ` + each + ` AS e(key, v))`
	}
	rows, err := st.DB().QueryContext(context.Background(), `SELECT `+args+`, `+valueType+` FROM river_job WHERE kind = 'compute-batch' AND state = '`+state+`' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var jobs []platform.BatchJob
	var types []map[string]string
	for rows.Next() {
		var a, ty []byte
		if err := rows.Scan(&a, &ty); err != nil {
			t.Fatal(err)
		}
		var b sqlstore.BatchArgs
		if err := json.Unmarshal(a, &b); err != nil {
			t.Fatalf("batch args %s: %v", a, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(ty, &m); err != nil {
			t.Fatalf("batch arg types %s: %v", ty, err)
		}
		jobs, types = append(jobs, b.BatchJob), append(types, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return jobs, types
}

func testBatchJobs(t *testing.T, st *sqlstore.Store) {
	st.SetClock(time.Now)
	batch := func(alg string, persons ...string) platform.BatchJob {
		return platform.BatchJob{AlgorithmID: alg, VersionHash: "h-" + alg, Trigger: result.TriggerNewVersion, DatasetID: 1, Persons: persons}
	}
	queued := []platform.BatchJob{batch("A", "P-1", "P-2", "P-3"), batch("A", "P-1"), batch("B", "P-1", "P-4")}
	inTx(t, st, func(tx platform.Tx) error { return tx.EnqueueBatches(queued) })
	jobs, types := batchJobs(t, st, "available")
	if diff := cmp.Diff(queued, jobs); diff != "" {
		t.Errorf("queued batches read back (-want +got):\n%s", diff)
	}
	for i, ty := range types {
		if ty["person_list"] != "string" || ty["persons"] != "" {
			t.Errorf("batch %d stored with argument types %v: persons must be one string (person_list)", i, ty)
		}
	}
	// A batch queued by an earlier version, persons as an array, is
	// still read (by the worker and by CancelJobs).
	old := `{"algorithm_id":"A","version_hash":"h-A","trigger":"new-version","dataset_id":1,"persons":["P-1","P-5"]}`
	set := "CAST($1 AS jsonb)"
	if st.Dialect() == sqlstore.SQLite {
		set = "jsonb(?)"
	}
	if _, err := st.DB().ExecContext(context.Background(), `UPDATE river_job SET args = `+set+` WHERE id = (SELECT MAX(id) FROM river_job WHERE kind = 'compute-batch')`, old); err != nil {
		t.Fatal(err)
	}
	var n int
	inTx(t, st, func(tx platform.Tx) error {
		var err error
		n, err = tx.CancelJobs("P-1", "A")
		return err
	})
	if n != 3 { // two shrunk, one cancelled
		t.Errorf("CancelJobs(P-1, A) = %d, want 3", n)
	}
	jobs, _ = batchJobs(t, st, "available")
	want := []platform.BatchJob{batch("A", "P-2", "P-3"), batch("A", "P-5")}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("batches after withdrawal of P-1 from A (-want +got):\n%s", diff)
	}
	if cancelled, _ := batchJobs(t, st, "cancelled"); len(cancelled) != 1 || cancelled[0].AlgorithmID != "A" {
		t.Errorf("cancelled batches %v, want the one holding only P-1", cancelled)
	}
}

func testAudit(t *testing.T, st *sqlstore.Store) {
	entries := []struct {
		e       platform.AuditEntry
		details map[string]string
	}{
		{platform.AuditEntry{Actor: "dr-tamm", Role: "physician", Person: "P-1", Action: "view", Object: "results", Purpose: "treatment", RequestID: "req-1"},
			map[string]string{"results": "[1 2]", "xroad_client": "EE/GOV/70000001/ehr", "xroad_user": "EE38001010000"}},
		{platform.AuditEntry{Actor: "operator", Role: "operator", Action: "ingest", Object: "dataset 1", Purpose: "biobank ingest"}, nil},
		{platform.AuditEntry{Actor: "P-2", Role: "patient", Person: "P-2", Action: "consent.grant", Object: "alg-a", Purpose: "consent"},
			map[string]string{"channel": "portal"}},
		{platform.AuditEntry{Actor: "geneguard", Role: "system", Person: "P-1", Action: "run", Object: "alg-a@1", Purpose: "consent"}, map[string]string{}},
	}
	for _, c := range entries {
		inTx(t, st, func(tx platform.Tx) error { return tx.Audit(c.e, c.details) })
	}
	// A rolled-back append leaves nothing behind (so no gap once
	// sequenced: the next event below gets seq 4), and an event that
	// cannot be encoded losslessly is refused.
	for _, fail := range []func(tx platform.Tx) error{
		func(tx platform.Tx) error {
			if err := tx.Audit(platform.AuditEntry{Actor: "x", Action: "view"}, nil); err != nil {
				return err
			}
			return errors.New("roll back")
		},
		func(tx platform.Tx) error {
			return tx.Audit(platform.AuditEntry{Actor: "bad \xff", Action: "view"}, nil)
		},
		func(tx platform.Tx) error {
			return tx.Audit(platform.AuditEntry{Actor: "x"}, nil) // no action
		},
	} {
		if err := st.InTx(context.Background(), fail); err == nil {
			t.Error("a failing audit transaction returned nil")
		}
	}
	inTx(t, st, func(tx platform.Tx) error {
		return tx.Audit(platform.AuditEntry{Actor: "governance-board", Role: "governance", Action: "algorithm.activate", Object: "alg-a@2"}, nil)
	})

	// Committed but not sequenced yet: not in the log, and listed to the
	// person as pending, in the order queued.
	if n, err := st.AuditSize(context.Background()); err != nil || n != 0 {
		t.Errorf("AuditSize before sequencing = %d, %v; want 0", n, err)
	}
	read(t, st, func(tx platform.Tx) error {
		got, err := tx.AuditTrail("P-1")
		if err != nil {
			return err
		}
		want := []platform.AuditEntry{
			{Time: t0, Actor: "dr-tamm", Role: "physician", Person: "P-1", Action: "view", Object: "results", Purpose: "treatment", RequestID: "req-1", Pending: true},
			{Time: t0, Actor: "geneguard", Role: "system", Person: "P-1", Action: "run", Object: "alg-a@1", Purpose: "consent", Pending: true},
		}
		if diff := cmp.Diff(want, got, equateTimes); diff != "" {
			t.Errorf("AuditTrail(P-1) before sequencing (-want +got):\n%s", diff)
		}
		return nil
	})
	if n, err := st.SequenceAudit(context.Background()); err != nil || n != 5 {
		t.Fatalf("SequenceAudit = %d, %v; want 5", n, err)
	}
	if n, err := st.SequenceAudit(context.Background()); err != nil || n != 0 {
		t.Errorf("SequenceAudit again = %d, %v; want 0", n, err)
	}
	if n := testenv.Count(t, st, `SELECT COUNT(*) FROM audit_pending`); n != 0 {
		t.Errorf("%d pending rows left after sequencing", n)
	}

	want := []audit.Event{
		{Seq: 0, Time: t0, Actor: "dr-tamm", Role: "physician", Person: "P-1", Action: "view", Object: "results", Purpose: "treatment", RequestID: "req-1",
			XRoadClient: "EE/GOV/70000001/ehr", XRoadUser: "EE38001010000", Details: map[string]string{"results": "[1 2]"}},
		{Seq: 1, Time: t0, Actor: "operator", Role: "operator", Action: "ingest", Object: "dataset 1", Purpose: "biobank ingest"},
		{Seq: 2, Time: t0, Actor: "P-2", Role: "patient", Person: "P-2", Action: "consent.grant", Object: "alg-a", Purpose: "consent", Details: map[string]string{"channel": "portal"}},
		{Seq: 3, Time: t0, Actor: "geneguard", Role: "system", Person: "P-1", Action: "run", Object: "alg-a@1", Purpose: "consent"},
		{Seq: 4, Time: t0, Actor: "governance-board", Role: "governance", Action: "algorithm.activate", Object: "alg-a@2"},
	}
	if diff := cmp.Diff(want, testenv.AuditLog(t, st), equateTimes); diff != "" {
		t.Errorf("stored audit log (-want +got):\n%s", diff)
	}
	read(t, st, func(tx platform.Tx) error {
		got, err := tx.AuditTrail("P-1")
		if err != nil {
			return err
		}
		want := []platform.AuditEntry{
			{Seq: 0, Time: t0, Actor: "dr-tamm", Role: "physician", Person: "P-1", Action: "view", Object: "results", Purpose: "treatment", RequestID: "req-1"},
			{Seq: 3, Time: t0, Actor: "geneguard", Role: "system", Person: "P-1", Action: "run", Object: "alg-a@1", Purpose: "consent"},
		}
		if diff := cmp.Diff(want, got, equateTimes); diff != "" {
			t.Errorf("AuditTrail(P-1) (-want +got):\n%s", diff)
		}
		return nil
	})
}

// testAuditConcurrent appends from many transactions at once while two
// sequencers run: no two events may get one sequence number, none may be
// lost and none may leave a gap.
func testAuditConcurrent(t *testing.T, st *sqlstore.Store) {
	const writers, each = 4, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+2)
	// Two sequencers at once, as two processes would run them, while the
	// writers append.
	stop := make(chan struct{})
	var seqWG sync.WaitGroup
	for range 2 {
		seqWG.Add(1)
		go func() {
			defer seqWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.SequenceAudit(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- st.InTx(context.Background(), func(tx platform.Tx) error {
					return tx.Audit(platform.AuditEntry{Actor: fmt.Sprintf("w%d", w), Action: "view", Object: fmt.Sprint(i)}, nil)
				})
			}
		}()
	}
	wg.Wait()
	close(stop)
	seqWG.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	log := testenv.AuditLog(t, st) // checks contiguity and hashes
	got := map[string]int{}
	for _, e := range log {
		got[e.Actor]++
	}
	want := map[string]int{"w0": each, "w1": each, "w2": each, "w3": each}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("events per writer (-want +got):\n%s", diff)
	}
}

// testAuditCommitOrder: an event queued by a transaction that is still
// open when the sequencer runs is overtaken by one committed later, and
// sequenced once it commits: never skipped, never numbered twice.
func testAuditCommitOrder(t *testing.T, st *sqlstore.Store) {
	if st.Dialect() != sqlstore.Postgres {
		t.Skip("SQLite has one connection: transactions cannot overlap")
	}
	ctx := context.Background()
	queued, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- st.InTx(ctx, func(tx platform.Tx) error {
			if err := tx.Audit(platform.AuditEntry{Actor: "slow", Action: "view"}, nil); err != nil {
				return err
			}
			once.Do(func() { close(queued) })
			<-release
			return nil
		})
	}()
	<-queued
	inTx(t, st, func(tx platform.Tx) error {
		return tx.Audit(platform.AuditEntry{Actor: "fast", Action: "view"}, nil)
	})
	if n, err := st.SequenceAudit(ctx); err != nil || n != 1 {
		t.Fatalf("SequenceAudit with an open appender = %d, %v; want 1", n, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := st.SequenceAudit(ctx); err != nil || n != 1 {
		t.Fatalf("SequenceAudit after it committed = %d, %v; want 1", n, err)
	}
	var got []string
	for _, e := range testenv.AuditLog(t, st) {
		got = append(got, e.Actor)
	}
	if diff := cmp.Diff([]string{"fast", "slow"}, got); diff != "" {
		t.Errorf("log order (-want +got):\n%s", diff)
	}
}
