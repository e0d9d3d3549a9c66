package testenv

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/runner"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// PseudonymKey is the pseudonym key of every test world (and of the data
// directories the command tests make, as hex in pseudonym.key).
var PseudonymKey = []byte("geneguard-test-pseudonym-key-01")

// Now is the runner's clock in test worlds, so ages (and so input
// fingerprints) do not change with the date the tests run.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Principals the tests act as.
var (
	Operator   = identity.Principal{Subject: "biobank-operator", Name: "Biobank operator", Role: identity.RoleOperator}
	Physician  = identity.Principal{Subject: "dr-tamm", Name: "Dr. Tiit Tamm", Role: identity.RolePhysician}
	Governance = identity.Principal{Subject: "governance-board", Name: "Governance board", Role: identity.RoleGovernance}
)

// World is the platform wired on one fresh database: the service, a runner
// with the real engines, and the two built-in algorithms registered and
// active.
type World struct {
	Store       *sqlstore.Store
	Service     *platform.Service
	Runner      *runner.Runner
	Pseudo      *identity.Pseudonymizer
	GenotypeDir string
	PGx, PRS    *algorithm.Version
}

// NewWorld opens a store at dsn and wires the platform on it.
func NewWorld(t testing.TB, dsn string) *World {
	t.Helper()
	st := OpenStore(t, dsn)
	pseudo, err := identity.NewPseudonymizer(PseudonymKey)
	if err != nil {
		t.Fatal(err)
	}
	genotypes := t.TempDir()
	w := &World{
		Store:   st,
		Service: platform.NewService(st, pseudo),
		Runner: &runner.Runner{
			Store:       st,
			Engines:     map[algorithm.Kind]runner.Engine{algorithm.KindPGx: runner.NewPGxEngine(), algorithm.KindPRS: runner.NewPRSEngine(), algorithm.KindMonogenic: runner.NewMonogenicEngine()},
			Worker:      "test-worker",
			Now:         func() time.Time { return Now },
			GenotypeDir: genotypes,
		},
		Pseudo:      pseudo,
		GenotypeDir: genotypes,
	}
	w.Service.SetBuildChecker(w.Runner)
	ctx := context.Background()
	for _, mk := range []func() (*algorithm.Version, error){demo.PGxAlgorithm, demo.PRSAlgorithm} {
		v, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Service.RegisterAlgorithm(ctx, identity.System, v); err != nil {
			t.Fatalf("register %s: %v", v.Manifest.ID, err)
		}
		if err := w.Service.Activate(ctx, identity.System, v.Hash); err != nil {
			t.Fatalf("activate %s: %v", v.Manifest.ID, err)
		}
		if v.Manifest.Kind == algorithm.KindPGx {
			w.PGx = v
		} else {
			w.PRS = v
		}
	}
	return w
}

// Ingest validates the VCF at path and records it as the operator, failing
// t on any error. It returns the prepared dataset and the jobs queued.
func (w *World) Ingest(t testing.TB, path string) (*ingest.Prepared, int) {
	t.Helper()
	ctx := context.Background()
	p, err := ingest.Prepare(ctx, path, w.GenotypeDir, nil)
	if err != nil {
		t.Fatalf("prepare %s: %v", path, err)
	}
	n, err := w.Service.IngestDataset(ctx, Operator, &p.Dataset, p.Samples)
	if err != nil {
		t.Fatalf("ingest %s: %v", path, err)
	}
	return p, n
}

// SignIn signs a person in as a patient.
func (w *World) SignIn(t testing.TB, code identity.PersonalCode) identity.Principal {
	t.Helper()
	p, err := w.Service.SignIn(context.Background(), string(code), identity.RolePatient)
	if err != nil {
		t.Fatalf("sign in %s: %v", code, err)
	}
	return p
}

// Grant gives the patient's own consent to an algorithm.
func (w *World) Grant(t testing.TB, p identity.Principal, algorithmID string) {
	t.Helper()
	if err := w.Service.GrantConsent(context.Background(), p, p.Person, algorithmID, "portal"); err != nil {
		t.Fatalf("grant %s for %s: %v", algorithmID, p.Person, err)
	}
}

// Withdraw withdraws the patient's own consent.
func (w *World) Withdraw(t testing.TB, p identity.Principal, algorithmID string) {
	t.Helper()
	if err := w.Service.WithdrawConsent(context.Background(), p, p.Person, algorithmID, "portal"); err != nil {
		t.Fatalf("withdraw %s for %s: %v", algorithmID, p.Person, err)
	}
}

// Drain works the queue with the world's runner, through River as the
// worker command does, until no job is waiting or running. A job that
// fails fails t with the job's error.
func (w *World) Drain(t testing.TB) {
	t.Helper()
	DrainWith(t, w.Store, w.Runner)
}

// DrainWith works the queue of st with r until nothing waits or runs.
func DrainWith(t testing.TB, st *sqlstore.Store, r *runner.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := queue.Start(ctx, st, r, queue.Config{Workers: 2, RescueAfter: time.Minute})
	if err != nil {
		t.Fatalf("start queue: %v", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Errorf("stop queue: %v", err)
		}
	}()
	WaitForQueue(t, ctx, st)
}

// WaitForQueue polls until no compute job is available, running or
// retryable; a retryable or discarded job fails t with its errors.
func WaitForQueue(t testing.TB, ctx context.Context, st *sqlstore.Store) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := st.JobStats(ctx)
		if err != nil {
			t.Fatalf("job stats: %v", err)
		}
		if s.Retryable > 0 || s.Discarded > 0 {
			t.Fatalf("jobs failed: %+v; errors: %s", s, strings.Join(JobErrors(t, st), "; "))
		}
		if s.Available+s.Running == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queue did not drain: %+v", s)
		case <-tick.C:
		}
	}
}

// Job is one compute job row as River keeps it.
type Job struct {
	State   string
	Attempt int
	platform.ComputeJob
}

// Jobs lists the compute jobs in insertion order.
func Jobs(t testing.TB, st *sqlstore.Store) []Job {
	t.Helper()
	args := "args"
	if st.Dialect() == sqlstore.SQLite {
		args = "json(args)" // River keeps SQLite args as binary JSONB
	}
	rows, err := st.DB().QueryContext(context.Background(), `SELECT state, attempt, `+args+` FROM river_job WHERE kind = 'compute' ORDER BY id`)
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		var args []byte
		if err := rows.Scan(&j.State, &j.Attempt, &args); err != nil {
			t.Fatalf("jobs: %v", err)
		}
		if err := json.Unmarshal(args, &j.ComputeJob); err != nil {
			t.Fatalf("job args %s: %v", args, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("jobs: %v", err)
	}
	return out
}

// JobErrors returns the recorded errors of compute jobs.
func JobErrors(t testing.TB, st *sqlstore.Store) []string {
	t.Helper()
	errs := "errors"
	if st.Dialect() == sqlstore.SQLite {
		errs = "json(errors)"
	}
	rows, err := st.DB().QueryContext(context.Background(), `SELECT id, `+errs+` FROM river_job WHERE kind = 'compute' AND errors IS NOT NULL ORDER BY id`)
	if err != nil {
		t.Fatalf("job errors: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatalf("job errors: %v", err)
		}
		out = append(out, string(b))
	}
	return out
}

// AuditLog sequences the pending audit events, then reads the whole log
// from the database and checks what a verifier relies on: sequence
// numbers contiguous from 0, canonical bytes that parse back to an event
// with the row's number, and the stored leaf hash being the RFC 6962 hash
// of exactly those bytes.
func AuditLog(t testing.TB, st *sqlstore.Store) []audit.Event {
	t.Helper()
	if _, err := st.SequenceAudit(context.Background()); err != nil {
		t.Fatalf("audit log: sequencing: %v", err)
	}
	rows, err := st.DB().QueryContext(context.Background(), `SELECT seq, canonical, leaf_hash FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var seq int64
		var canon, leaf []byte
		if err := rows.Scan(&seq, &canon, &leaf); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if seq != int64(len(out)) {
			t.Fatalf("audit log: row %d has seq %d; the sequence must be contiguous from 0", len(out), seq)
		}
		ev, err := audit.ParseCanonical(canon)
		if err != nil {
			t.Fatalf("audit log: seq %d: %v", seq, err)
		}
		if ev.Seq != uint64(seq) {
			t.Fatalf("audit log: row seq %d holds an event with seq %d", seq, ev.Seq)
		}
		if want := audit.LeafHash(ev); string(leaf) != string(want) {
			t.Fatalf("audit log: seq %d: stored leaf hash %x, want %x", seq, leaf, want)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return out
}

// SkipTodaysAgePass records today's age-milestone pass as done without
// running it. A worker runs the pass when it starts (a River periodic job),
// and what that queues depends on the calendar day the test runs on; tests
// that count jobs call this before starting workers so the counts are
// their own. The pass itself is tested with fixed days.
func (w *World) SkipTodaysAgePass(t testing.TB) {
	t.Helper()
	today := time.Now().UTC().Format("2006-01-02")
	if err := w.Store.InTx(context.Background(), func(tx platform.Tx) error {
		return tx.SetMark("age-milestones", today)
	}); err != nil {
		t.Fatalf("age-milestone mark: %v", err)
	}
}

// Revision registers (as the system, not yet active) another version of v
// with the same bundle under version label: what a new release of an
// algorithm looks like to the registry, to approve and activate.
func (w *World) Revision(t testing.TB, v *algorithm.Version, label string) *algorithm.Version {
	t.Helper()
	m := v.Manifest
	m.Version = label
	nv, err := algorithm.New(m, v.Files, "provider")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Service.RegisterAlgorithm(context.Background(), identity.System, nv); err != nil {
		t.Fatal(err)
	}
	return nv
}
