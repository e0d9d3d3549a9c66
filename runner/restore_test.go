package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

// mapCorrection ingests one file three times: without a map (each column
// its person's), with a map that swaps people[0] and people[1], and with
// the correct map. between runs after each of the first two ingests.
func mapCorrection(t *testing.T, w *testenv.World, people []demo.Person, between func(step int)) {
	t.Helper()
	ctx := context.Background()
	v := testenv.DemoVCF(t, people)
	path := v.Write(t, "c.vcf")
	c0, c1 := string(people[0].Code), string(people[1].Code)
	for step, m := range []map[string]string{nil, {c0: c1, c1: c0}, {c0: c0, c1: c1}} {
		p, err := ingest.Prepare(ctx, path, w.GenotypeDir, m)
		if err != nil {
			t.Fatalf("ingest %d: %v", step, err)
		}
		if _, err := w.Service.IngestDataset(ctx, testenv.Operator, &p.Dataset, p.Samples); err != nil {
			t.Fatalf("ingest %d: %v", step, err)
		}
		if step < 2 {
			between(step)
		}
	}
}

func currentResults(t *testing.T, w *testenv.World, person string) []result.Result {
	t.Helper()
	var rs []result.Result
	if err := w.Store.Read(context.Background(), func(tx platform.Tx) error {
		var err error
		rs, err = tx.CurrentResults(person)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestSampleMapCorrectionRestoresResults: a file ingested with the right
// mapping, then with a wrong one (two persons swapped), then with the
// right one again. The wrong map's results supersede the person's own;
// the correction recomputes her own input, which is her first result: it
// is current again, and the clinical view shows exactly her original
// results (no result vanishes, none is current twice).
func TestSampleMapCorrectionRestoresResults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		w.SkipTodaysAgePass(t)
		people := demo.Cohort(2)
		k, m := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
		for _, p := range []string{demo.PGxAlgorithmID, demo.PRSAlgorithmID} {
			w.Grant(t, k, p)
			w.Grant(t, m, p)
		}
		var original, wrong []result.Result
		mapCorrection(t, w, people, func(step int) {
			w.Drain(t)
			rs, err := w.Service.Results(ctx, testenv.Operator, k.Person, "")
			if err != nil {
				t.Fatal(err)
			}
			if step == 0 {
				original = rs
			} else {
				wrong = rs
			}
		})
		if len(original) != 2 {
			t.Fatalf("K's original results: %d, want 2", len(original))
		}
		if len(wrong) == 0 || wrong[0].ID == original[0].ID && wrong[len(wrong)-1].ID == original[len(original)-1].ID {
			t.Fatalf("the wrong map gave K no new result (%+v): the test does not reproduce the fault", wrong)
		}
		w.Drain(t)
		for _, p := range []struct {
			who  string
			code string
			orig []result.Result
		}{{"K", k.Person, original}} {
			got, err := w.Service.Results(ctx, testenv.Operator, p.code, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p.orig, got); diff != "" {
				t.Errorf("%s's clinical results after the correction (-original +got):\n%s", p.who, diff)
			}
		}
		// One current result per person and algorithm, for both.
		for _, person := range []string{k.Person, m.Person} {
			seen := map[string]bool{}
			for _, r := range currentResults(t, w, person) {
				if seen[r.AlgorithmID] {
					t.Errorf("%s has two current results for %s", person, r.AlgorithmID)
				}
				seen[r.AlgorithmID] = true
			}
			if len(seen) != 2 {
				t.Errorf("%s has current results for %d algorithms, want 2", person, len(seen))
			}
		}
		if n := runEvents(t, w)[platform.RunRestored]; n < 2 {
			t.Errorf("%d restored run events, want at least 2 (K's and M's)", n)
		}
	})
}

// TestComputeRestoresSuperseded: a run whose idempotency check finds the
// stored result for the same version and input superseded by a later one
// makes it current again in its write: the later one is superseded by it,
// the run is recorded as "restored" (usage and audit, with the stored
// row's content hash), and a further run finds it current ("unchanged").
func TestComputeRestoresSuperseded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		w.SkipTodaysAgePass(t)
		people := demo.Cohort(2)
		k, m := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
		w.Grant(t, k, demo.PRSAlgorithmID)
		w.Grant(t, m, demo.PRSAlgorithmID)
		job := platform.ComputeJob{Person: k.Person, AlgorithmID: demo.PRSAlgorithmID, VersionHash: w.PRS.Hash, Trigger: result.TriggerGenotype}
		mapCorrection(t, w, people, func(step int) {
			if out, err := w.Runner.Compute(ctx, job); err != nil || out != runner.OutcomeComputed {
				t.Fatalf("ingest %d: Compute = %q, %v; want %q", step, out, err, runner.OutcomeComputed)
			}
		})
		before := storedResults(t, w, k.Person)
		if len(before) != 2 || before[0].SupersededBy != before[1].ID || before[1].SupersededBy != 0 {
			t.Fatalf("before the correction: %+v; want the first superseded by the second", before)
		}
		out, err := w.Runner.Compute(ctx, job)
		if err != nil || out != runner.OutcomeRestored {
			t.Fatalf("Compute after the correction = %q, %v; want %q", out, err, runner.OutcomeRestored)
		}
		after := storedResults(t, w, k.Person)
		if len(after) != 2 || after[0].SupersededBy != 0 || after[1].SupersededBy != after[0].ID {
			t.Errorf("after the correction: %+v; want the second superseded by the first", after)
		}
		if cur := currentResults(t, w, k.Person); len(cur) != 1 || cur[0].ID == 0 || cur[0].ID != after[0].ID {
			t.Errorf("current results %+v; want only %d", cur, after[0].ID)
		}
		if out, err := w.Runner.Compute(ctx, job); err != nil || out != runner.OutcomeExisting {
			t.Errorf("Compute again = %q, %v; want %q", out, err, runner.OutcomeExisting)
		}
		var restored []map[string]string
		for _, e := range testenv.AuditLog(t, w.Store) {
			if e.Action == "run" && e.Details["outcome"] == platform.RunRestored {
				restored = append(restored, e.Details)
			}
		}
		if len(restored) != 1 || restored[0]["result"] != strconv.FormatInt(after[0].ID, 10) || restored[0]["result_sha256"] != after[0].ContentHash() {
			t.Errorf("restored run events %v; want one naming result %d with its content hash", restored, after[0].ID)
		}
		rep, err := w.Service.Usage(ctx, testenv.Governance, testenv.Now.AddDate(-1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rep.Rows {
			if r.Outcome == platform.RunRestored {
				n += r.Runs
			}
		}
		if n != 1 {
			t.Errorf("usage counts %d restored runs, want 1 (%+v)", n, rep.Rows)
		}
	})
}

// TestVerifyReplaysWhichResultIsCurrent: `audit verify` replays the run
// events that move which result is current (new results, a restored one
// after a sample-map correction) and accepts the honest outcome; putting
// a superseded result back in front in SQL, or leaving two current, fails
// naming the result.
func TestVerifyReplaysWhichResultIsCurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		w.SkipTodaysAgePass(t)
		people := demo.Cohort(2)
		k, m := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
		w.Grant(t, k, demo.PRSAlgorithmID)
		w.Grant(t, m, demo.PRSAlgorithmID)
		mapCorrection(t, w, people, func(int) { w.Drain(t) })
		w.Drain(t)
		if runEvents(t, w)[platform.RunRestored] == 0 {
			t.Fatal("no result was restored: the test does not replay a restore")
		}
		a, err := platform.NewAuditor(w.Store, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		verify := func() error {
			_, err := a.Verify(ctx)
			return err
		}
		if err := verify(); err != nil {
			t.Fatalf("honest log: %v", err)
		}
		exec := func(q string) {
			t.Helper()
			if _, err := w.Store.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		cur := currentResults(t, w, k.Person)
		if len(cur) != 1 {
			t.Fatalf("K has %d current results, want 1", len(cur))
		}
		var old, oldBy int64
		if err := w.Store.DB().QueryRowContext(ctx, `SELECT id, superseded_by FROM results WHERE person_id = '`+k.Person+`' AND superseded_by IS NOT NULL ORDER BY id LIMIT 1`).Scan(&old, &oldBy); err != nil {
			t.Fatalf("K has no superseded result: %v", err)
		}
		wantFail := func(what string) {
			t.Helper()
			var te *platform.ResultTamperError
			if err := verify(); !errors.As(err, &te) || !strings.Contains(te.Reason, "which result is current was altered") {
				t.Errorf("%s: verify = %v, want a result tamper error about which result is current", what, err)
			}
		}
		exec(fmt.Sprintf(`UPDATE results SET superseded_by = NULL WHERE id = %d`, old))
		exec(fmt.Sprintf(`UPDATE results SET superseded_by = %d WHERE id = %d`, old, cur[0].ID))
		wantFail("a superseded result put back in front")
		exec(fmt.Sprintf(`UPDATE results SET superseded_by = NULL WHERE id = %d`, cur[0].ID))
		wantFail("two current results")
		exec(fmt.Sprintf(`UPDATE results SET superseded_by = %d WHERE id = %d`, oldBy, old))
		if err := verify(); err != nil {
			t.Errorf("links restored: %v", err)
		}
	})
}

// TestVerifyDuringRecompute: `audit verify` run again and again while two
// workers recompute a new version (results written, earlier ones
// superseded, after verify read the log) never reports tampering: what
// changed while it ran is left for the next run.
func TestVerifyDuringRecompute(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		w.SkipTodaysAgePass(t)
		people := demo.Cohort(150)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		for _, p := range people {
			w.Grant(t, w.SignIn(t, p.Code), demo.PGxAlgorithmID)
		}
		w.Drain(t)
		v2 := w.Revision(t, w.PGx, w.PGx.Manifest.Version+"-rev2")
		if _, err := w.Service.ActivateAlgorithm(ctx, identity.System, v2.Hash); err != nil {
			t.Fatal(err)
		}
		a, err := platform.NewAuditor(w.Store, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		type outcome struct {
			runs int
			errs []error
		}
		res := make(chan outcome)
		go func() {
			var o outcome
			for {
				select {
				case <-done:
					res <- o
					return
				default:
				}
				if _, err := a.Verify(ctx); err != nil {
					o.errs = append(o.errs, err)
				}
				o.runs++
			}
		}()
		w.Drain(t)
		close(done)
		o := <-res
		if _, err := a.Verify(ctx); err != nil {
			t.Errorf("after the recompute: %v", err)
		}
		for _, err := range o.errs {
			t.Errorf("verify during the recompute: %v", err)
		}
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results WHERE superseded_by IS NULL`); n != len(people) {
			t.Errorf("%d current results, want %d", n, len(people))
		}
		t.Logf("%d verifications during the recompute", o.runs)
	})
}
