package platform_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
	"github.com/geneguard/geneguard/web/reqmeta"
)

// fixture is a world with a small cohort ingested and nobody consenting.
type fixture struct {
	*testenv.World
	people []demo.Person
	alice  identity.Principal // people[0], signed in
	bob    identity.Principal // people[1], signed in
}

func newFixture(t *testing.T, b testenv.Backend) *fixture {
	t.Helper()
	w := testenv.NewWorld(t, b.DSN(t))
	people := demo.Cohort(3)
	path := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")
	if _, jobs := w.Ingest(t, path); jobs != 0 {
		t.Fatalf("ingest with no consent queued %d jobs, want 0", jobs)
	}
	return &fixture{World: w, people: people, alice: w.SignIn(t, people[0].Code), bob: w.SignIn(t, people[1].Code)}
}

// forEachBackend runs test once per database, in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

func (f *fixture) results(t *testing.T, p identity.Principal, person string) []result.Result {
	t.Helper()
	rs, err := f.Service.Results(context.Background(), p, person, "")
	if err != nil {
		t.Fatalf("Results(%s as %s): %v", person, p.Role, err)
	}
	return rs
}

func (f *fixture) allResults(t *testing.T, person string) []result.Result {
	t.Helper()
	var rs []result.Result
	if err := f.Store.Read(context.Background(), func(tx platform.Tx) error {
		var err error
		rs, err = tx.AllResults(person)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rs
}

func (f *fixture) stats(t *testing.T) platform.JobStats {
	t.Helper()
	s, err := f.Service.JobStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// summaries lists results as "algorithm@version: category" lines.
func summaries(rs []result.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.AlgorithmID+"@"+r.Version+": "+r.Category)
	}
	return out
}

// newVersion registers and activates (as the system) a new version of v
// with the same bundle, which queues a recomputation for every consented
// person.
func (f *fixture) newVersion(t *testing.T, v *algorithm.Version, label string) *algorithm.Version {
	t.Helper()
	nv := f.Revision(t, v, label)
	if err := f.Service.Activate(context.Background(), identity.System, nv.Hash); err != nil {
		t.Fatal(err)
	}
	return nv
}

// TestConsentDefaultDeny: genotypes and an active algorithm are not enough;
// without an opt-in nothing is queued, and a job run anyway computes
// nothing.
func TestConsentDefaultDeny(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		if diff := cmp.Diff(platform.JobStats{}, f.stats(t)); diff != "" {
			t.Errorf("jobs after ingest without consent (-want +got):\n%s", diff)
		}
		// Consent to one algorithm does not let another run.
		f.Grant(t, f.bob, demo.PGxAlgorithmID)
		f.Drain(t)

		ctx := context.Background()
		for _, j := range []platform.ComputeJob{
			{Person: f.alice.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: f.PGx.Hash, Trigger: result.TriggerManual},
			{Person: f.alice.Person, AlgorithmID: demo.PRSAlgorithmID, VersionHash: f.PRS.Hash, Trigger: result.TriggerManual},
			{Person: f.bob.Person, AlgorithmID: demo.PRSAlgorithmID, VersionHash: f.PRS.Hash, Trigger: result.TriggerManual},
		} {
			out, err := f.Runner.Compute(ctx, j)
			if err != nil || out != runner.OutcomeNoConsent {
				t.Errorf("Compute(%s, %s) = %q, %v; want %q", j.Person, j.AlgorithmID, out, err, runner.OutcomeNoConsent)
			}
		}
		if got := f.allResults(t, f.alice.Person); len(got) != 0 {
			t.Errorf("alice has stored results %v, want none", summaries(got))
		}
		if diff := cmp.Diff([]string{demo.PGxAlgorithmID + "@" + f.PGx.Manifest.Version}, versions(f.allResults(t, f.bob.Person))); diff != "" {
			t.Errorf("bob's stored results (-want +got):\n%s", diff)
		}
		if n := testenv.Count(t, f.Store, `SELECT COUNT(*) FROM results`); n != 1 {
			t.Errorf("%d result rows, want 1 (bob's PGx)", n)
		}
	})
}

func versions(rs []result.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.AlgorithmID+"@"+r.Version)
	}
	return out
}

// TestWithdrawal: a withdrawal hides results at once, cancels waiting jobs,
// and keeps the rows for audit; a re-grant shows them again.
func TestWithdrawal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		a := f.alice
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Grant(t, a, demo.PRSAlgorithmID)
		f.Drain(t)
		before := f.results(t, a, a.Person)
		if len(before) != 2 {
			t.Fatalf("results after consent: %v, want PGx and PRS", summaries(before))
		}

		// A new PGx version queues a recomputation that is still waiting
		// when alice withdraws.
		v2 := f.newVersion(t, f.PGx, f.PGx.Manifest.Version+"-rev2")
		if s := f.stats(t); s.Available != 1 {
			t.Fatalf("jobs after new version: %+v, want one waiting", s)
		}
		f.Withdraw(t, a, demo.PGxAlgorithmID)
		if diff := cmp.Diff(platform.JobStats{Completed: 2, Cancelled: 1}, f.stats(t)); diff != "" {
			t.Errorf("jobs after withdrawal (-want +got):\n%s", diff)
		}
		want := []string{demo.PRSAlgorithmID + "@demo-1"}
		for _, p := range []identity.Principal{a, testenv.Physician} {
			if diff := cmp.Diff(want, versions(f.results(t, p, a.Person))); diff != "" {
				t.Errorf("results for %s after withdrawal (-want +got):\n%s", p.Role, diff)
			}
		}
		// The row stays for the audit trail.
		if diff := cmp.Diff(versions(before), versions(f.allResults(t, a.Person)), cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
			t.Errorf("stored results after withdrawal (-want +got):\n%s", diff)
		}
		// A second withdrawal changes nothing and is not audited.
		n := len(testenv.AuditLog(t, f.Store))
		f.Withdraw(t, a, demo.PGxAlgorithmID)
		if got := len(testenv.AuditLog(t, f.Store)); got != n {
			t.Errorf("repeated withdrawal appended %d audit events", got-n)
		}

		// Re-grant: the new active version is computed and shown.
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Drain(t)
		want = []string{demo.PGxAlgorithmID + "@" + v2.Manifest.Version, demo.PRSAlgorithmID + "@demo-1"}
		if diff := cmp.Diff(want, versions(f.results(t, a, a.Person))); diff != "" {
			t.Errorf("results after re-grant (-want +got):\n%s", diff)
		}
	})
}

// TestRegrantShowsResultAgain: withdrawing and granting again, with nothing
// else changed, shows the same result row; the recomputation the grant
// queues finds it and writes nothing.
func TestRegrantShowsResultAgain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		a := f.alice
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Drain(t)
		first := f.results(t, a, a.Person)
		if len(first) != 1 {
			t.Fatalf("results after consent: %v", summaries(first))
		}
		f.Withdraw(t, a, demo.PGxAlgorithmID)
		if got := f.results(t, a, a.Person); len(got) != 0 {
			t.Fatalf("results after withdrawal: %v, want none", summaries(got))
		}
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Drain(t)
		again := f.results(t, a, a.Person)
		if len(again) != 1 || again[0].ID != first[0].ID {
			t.Errorf("results after re-grant: %+v, want the first result (id %d) again", again, first[0].ID)
		}
		if n := len(f.allResults(t, a.Person)); n != 1 {
			t.Errorf("%d stored results, want 1", n)
		}
		if s := f.stats(t); s.Completed != 2 {
			t.Errorf("jobs: %+v, want 2 completed (grant, re-grant)", s)
		}
	})
}

// gateEngine holds Run until released, so a test can act while a job is
// in the middle of its computation.
type gateEngine struct {
	runner.Engine
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (g *gateEngine) Run(ctx context.Context, v *algorithm.Version, in runner.Input) (runner.Output, error) {
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return runner.Output{}, ctx.Err()
	}
	return g.Engine.Run(ctx, v, in)
}

// TestWithdrawalDuringRun: a job a worker already took is not cancelled by
// the withdrawal, but when it finishes afterwards it writes nothing.
func TestWithdrawalDuringRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		a := f.alice
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Drain(t)
		f.newVersion(t, f.PGx, f.PGx.Manifest.Version+"-rev2")

		gate := &gateEngine{Engine: f.Runner.Engines[algorithm.KindPGx], started: make(chan struct{}), release: make(chan struct{})}
		r := *f.Runner
		r.Engines = map[algorithm.Kind]runner.Engine{algorithm.KindPGx: gate, algorithm.KindPRS: f.Runner.Engines[algorithm.KindPRS]}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		client, err := queue.Start(ctx, f.Store, &r, queue.Config{Workers: 1, RescueAfter: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-gate.started:
		case <-ctx.Done():
			t.Fatal("the worker never started the job")
		}
		f.Withdraw(t, a, demo.PGxAlgorithmID)
		close(gate.release)
		testenv.WaitForQueue(t, ctx, f.Store)
		if err := client.Stop(ctx); err != nil {
			t.Fatal(err)
		}

		if diff := cmp.Diff(platform.JobStats{Completed: 2}, f.stats(t)); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
		if got := f.allResults(t, a.Person); len(got) != 1 || got[0].VersionHash != f.PGx.Hash {
			t.Errorf("stored results %v, want only the first version's", versions(got))
		}
		if got := f.results(t, a, a.Person); len(got) != 0 {
			t.Errorf("results after withdrawal: %v, want none", summaries(got))
		}
		var withdraw map[string]string
		for _, e := range testenv.AuditLog(t, f.Store) {
			if e.Action == "consent.withdraw" {
				withdraw = e.Details
			}
		}
		if withdraw["jobs_cancelled"] != "0" {
			t.Errorf("withdrawal audit details %v, want jobs_cancelled 0 (the job was running)", withdraw)
		}
	})
}

// TestAuthorisation: who may do what, enforced by the service; a refused
// call writes nothing, not even an audit event.
func TestAuthorisation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		a, bob := f.alice, f.bob
		f.Grant(t, bob, demo.PGxAlgorithmID)
		ctx := context.Background()
		people := demo.Cohort(5)[3:] // not in the fixture's dataset
		prepared, err := ingest.Prepare(ctx, testenv.DemoVCF(t, people).Write(t, "more.vcf"), f.GenotypeDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		ingestAs := func(p identity.Principal) error {
			d := prepared.Dataset
			_, err := f.Service.IngestDataset(ctx, p, &d, prepared.Samples)
			return err
		}
		v2, err := algorithm.New(algorithm.Manifest{ID: "x", Version: "1", Kind: algorithm.KindPRS, Title: "x", Purpose: "x", Inputs: algorithm.InputSpec{Genotypes: true}}, nil, "x")
		if err != nil {
			t.Fatal(err)
		}
		forbidden := []struct {
			name string
			call func() error
		}{
			{"patient reads another patient's results", func() error { _, err := f.Service.Results(ctx, a, bob.Person, ""); return err }},
			{"patient reads another patient's record", func() error { _, err := f.Service.Person(ctx, a, bob.Person); return err }},
			{"patient reads another patient's consents", func() error { _, err := f.Service.Consents(ctx, a, bob.Person); return err }},
			{"patient reads another patient's access log", func() error { _, err := f.Service.AuditTrail(ctx, a, bob.Person); return err }},
			{"patient grants for another patient", func() error { return f.Service.GrantConsent(ctx, a, bob.Person, demo.PRSAlgorithmID, "portal") }},
			{"patient withdraws for another patient", func() error { return f.Service.WithdrawConsent(ctx, a, bob.Person, demo.PGxAlgorithmID, "portal") }},
			{"physician grants consent", func() error {
				return f.Service.GrantConsent(ctx, testenv.Physician, a.Person, demo.PGxAlgorithmID, "portal")
			}},
			{"physician withdraws consent", func() error {
				return f.Service.WithdrawConsent(ctx, testenv.Physician, bob.Person, demo.PGxAlgorithmID, "portal")
			}},
			{"physician reads an access log", func() error { _, err := f.Service.AuditTrail(ctx, testenv.Physician, a.Person); return err }},
			{"patient ingests", func() error { return ingestAs(a) }},
			{"physician ingests", func() error { return ingestAs(testenv.Physician) }},
			{"governance ingests", func() error { return ingestAs(testenv.Governance) }},
			{"physician registers an algorithm", func() error { return f.Service.RegisterAlgorithm(ctx, testenv.Physician, v2) }},
			{"operator activates an algorithm", func() error { return f.Service.Activate(ctx, testenv.Operator, f.PGx.Hash) }},
		}
		log := len(testenv.AuditLog(t, f.Store))
		for _, c := range forbidden {
			t.Run(c.name, func(t *testing.T) {
				err := c.call()
				if code := platform.ErrorCode(err); code != platform.CodeForbidden {
					t.Errorf("got %v (code %s), want %s", err, code, platform.CodeForbidden)
				}
				if msg := platform.ErrorMessage(err); msg == "Internal error." || msg == "" {
					t.Errorf("message %q does not tell the user why", msg)
				}
			})
		}
		// A refused access to a person's data is itself recorded, once
		// (view.refused, consent.refused: the first 9 cases); refused
		// ingests and registry calls append nothing.
		appended := testenv.AuditLog(t, f.Store)[log:]
		for _, e := range appended {
			if e.Action != "view.refused" && e.Action != "consent.refused" {
				t.Errorf("a refused call appended %+v", e)
			}
		}
		if len(appended) != 9 {
			t.Errorf("refused calls appended %d audit events, want 9 refusals", len(appended))
		}
		if n := testenv.Count(t, f.Store, `SELECT COUNT(*) FROM datasets`); n != 1 {
			t.Errorf("%d datasets after refused ingests, want 1", n)
		}
		if n := testenv.Count(t, f.Store, `SELECT COUNT(*) FROM consent_events`); n != 1 {
			t.Errorf("%d consent events after refused grants, want 1 (bob's own)", n)
		}

		// What is allowed.
		if _, err := f.Service.Results(ctx, a, a.Person, ""); err != nil {
			t.Errorf("patient reads own results: %v", err)
		}
		if _, err := f.Service.Results(ctx, testenv.Physician, bob.Person, "treatment"); err != nil {
			t.Errorf("physician reads a patient's results: %v", err)
		}
		if _, err := f.Service.AuditTrail(ctx, a, a.Person); err != nil {
			t.Errorf("patient reads own access log: %v", err)
		}
		if _, err := f.Service.AuditTrail(ctx, testenv.Governance, a.Person); err != nil {
			t.Errorf("governance reads an access log: %v", err)
		}
		if err := ingestAs(testenv.Operator); err != nil {
			t.Errorf("operator ingests: %v", err)
		}
		if err := f.Service.GrantConsent(ctx, testenv.Operator, a.Person, demo.PGxAlgorithmID, "paper"); err != nil {
			t.Errorf("operator records a paper consent: %v", err)
		}
	})
}

// TestAuditEveryAction: each action leaves one event naming the actor
// (a patient by pseudonym), the person it concerns and the purpose; no
// personal code is stored anywhere in the log or the consent records.
func TestAuditEveryAction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		ctx := context.Background()
		prepared, jobs := w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		if jobs != 0 {
			t.Fatalf("ingest queued %d jobs", jobs)
		}
		a := w.SignIn(t, people[0].Code)
		w.Grant(t, a, demo.PGxAlgorithmID)
		w.Drain(t)
		doc, err := w.Service.SignIn(ctx, testenv.Physician.Subject, identity.RolePhysician)
		if err != nil {
			t.Fatal(err)
		}
		xroad := reqmeta.With(ctx, reqmeta.Meta{RequestID: "req-7", XRoadClient: "EE/GOV/70000001/ehr", XRoadUserID: "EE38001010000"})
		if _, err := w.Service.Results(xroad, doc, a.Person, "prescription: citalopram"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Service.Results(ctx, a, a.Person, ""); err != nil {
			t.Fatal(err)
		}
		w.Withdraw(t, a, demo.PGxAlgorithmID)

		type ev struct{ Actor, Role, Person, Action, Object, Purpose, RequestID, XRoadClient string }
		pgx := demo.PGxAlgorithmID + "@" + w.PGx.Manifest.Version
		prs := demo.PRSAlgorithmID + "@" + w.PRS.Manifest.Version
		want := []ev{
			{"geneguard", "system", "", "algorithm.submit", pgx, "registry", "", ""},
			{"geneguard", "system", "", "algorithm.activate", pgx, "registry", "", ""},
			{"geneguard", "system", "", "algorithm.submit", prs, "registry", "", ""},
			{"geneguard", "system", "", "algorithm.activate", prs, "registry", "", ""},
			{testenv.Operator.Subject, "operator", "", "ingest", "dataset " + itoa(prepared.Dataset.ID), "biobank ingest", "", ""},
			{a.Person, "patient", a.Person, "login", "portal", "patient self-service", "", ""},
			{a.Person, "patient", a.Person, "consent.grant", demo.PGxAlgorithmID, "consent", "", ""},
			{"geneguard", "system", a.Person, "run", pgx, "consent", "", ""},
			{"dr-tamm", "physician", "", "login", "portal", "physician", "", ""},
			{"dr-tamm", "physician", a.Person, "view", "results", "prescription: citalopram", "req-7", "EE/GOV/70000001/ehr"},
			{a.Person, "patient", a.Person, "view", "results", "treatment", "", ""},
			{a.Person, "patient", a.Person, "consent.withdraw", demo.PGxAlgorithmID, "consent", "", ""},
		}
		log := testenv.AuditLog(t, w.Store)
		var got []ev
		for _, e := range log {
			got = append(got, ev{e.Actor, e.Role, e.Person, e.Action, e.Object, e.Purpose, e.RequestID, e.XRoadClient})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("audit log (-want +got):\n%s", diff)
		}

		// The person's own access log is the events about them.
		trail, err := w.Service.AuditTrail(ctx, a, a.Person)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range trail {
			actions = append(actions, e.Action)
		}
		if diff := cmp.Diff([]string{"login", "consent.grant", "run", "view", "view", "consent.withdraw"}, actions); diff != "" {
			t.Errorf("alice's access log (-want +got):\n%s", diff)
		}

		// No personal code is stored in the log or the consent records.
		raw, err := json.Marshal(log)
		if err != nil {
			t.Fatal(err)
		}
		var actors []byte
		rows, err := w.Store.DB().QueryContext(ctx, `SELECT actor FROM consent_events`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			actors = append(actors, s...)
		}
		rows.Close()
		for _, p := range people {
			if strings.Contains(string(raw), string(p.Code)) || strings.Contains(string(actors), string(p.Code)) {
				t.Errorf("personal code %s is stored in the audit log or consent records", p.Code)
			}
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// An algorithm id with no registered version is not found in every
// consent use case, naming the registered ids: before, the history of a
// typo was an empty "default deny" and its withdrawal succeeded. A
// retired algorithm is still known: its history shows, and it can be
// opted out of.
func TestConsentUnknownAlgorithm(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		audited := func() int {
			return testenv.Count(t, f.Store, `SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM audit_events)`)
		}
		before := audited()
		want := `no algorithm "no-such-alg" (registered: ` // the list follows
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"history", func() error {
				_, err := f.Service.ConsentHistory(ctx, f.alice, f.alice.Person, "no-such-alg")
				return err
			}},
			{"fhir", func() error { _, err := f.Service.ConsentFHIR(ctx, f.alice, f.alice.Person, "no-such-alg"); return err }},
			{"grant", func() error { return f.Service.GrantConsent(ctx, f.alice, f.alice.Person, "no-such-alg", "portal") }},
			{"withdraw", func() error { return f.Service.WithdrawConsent(ctx, f.alice, f.alice.Person, "no-such-alg", "portal") }},
		} {
			err := tc.call()
			if platform.ErrorCode(err) != platform.CodeNotFound || !strings.Contains(platform.ErrorMessage(err), want) || !strings.Contains(platform.ErrorMessage(err), demo.PGxAlgorithmID) {
				t.Errorf("%s: %v, want not_found %q naming %s", tc.name, err, want, demo.PGxAlgorithmID)
			}
		}
		if n := audited(); n != before {
			t.Errorf("refusing an unknown algorithm audited %d events", n-before)
		}
		// A retired algorithm: known, its history readable, an opt-out
		// (with nothing in force) is no error.
		f.Grant(t, f.alice, demo.PGxAlgorithmID)
		if err := f.Service.RetireAlgorithm(ctx, testenv.Governance, f.PGx.Hash, "test: superseded"); err != nil {
			t.Fatal(err)
		}
		if h, err := f.Service.ConsentHistory(ctx, f.alice, f.alice.Person, demo.PGxAlgorithmID); err != nil || len(h) != 1 {
			t.Errorf("history of a retired algorithm: %v %v", h, err)
		}
		if err := f.Service.WithdrawConsent(ctx, f.alice, f.alice.Person, demo.PGxAlgorithmID, "portal"); err != nil {
			t.Errorf("opting out of a retired algorithm: %v", err)
		}
	})
}
