package platform_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

var (
	provider = identity.Principal{Subject: "provider-anna", Name: "Anna (provider)", Role: identity.RoleOperator}
	// The same account acting on the board: four eyes must refuse it.
	annaOnBoard = identity.Principal{Subject: "provider-anna", Name: "Anna (board)", Role: identity.RoleGovernance}
	boardMember = identity.Principal{Subject: "board-jaan", Name: "Jaan (board)", Role: identity.RoleGovernance}
)

// pgxCase returns a validation case from one cohort person with the given
// CYP2C19 diplotype: their genotypes as a one-sample VCF, expecting want.
func pgxCase(t *testing.T, name string, a1, a2 string, want string) algorithm.Case {
	t.Helper()
	for _, p := range demo.Cohort(300) {
		if p.CYP2C19 == [2]string{a1, a2} || p.CYP2C19 == [2]string{a2, a1} {
			return algorithm.Case{Name: name, VCF: string(testenv.DemoVCF(t, []demo.Person{p}).Bytes()), Expect: want}
		}
	}
	t.Fatalf("no cohort person with CYP2C19 %s/%s", a1, a2)
	return algorithm.Case{}
}

// submitPGx submits a new PGx version with cases as the provider.
func submitPGx(t *testing.T, w *testenv.World, label string, cases ...algorithm.Case) *algorithm.Version {
	t.Helper()
	m := w.PGx.Manifest
	m.Version = label
	m.Validation = cases
	v, err := algorithm.New(m, w.PGx.Files, "whatever-the-bundle-says")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Service.SubmitAlgorithm(context.Background(), provider, v); err != nil {
		t.Fatalf("submit: %v", err)
	}
	return v
}

func wantCode(t *testing.T, what string, err error, code platform.Code, substr string) {
	t.Helper()
	if platform.ErrorCode(err) != code || !strings.Contains(platform.ErrorMessage(err), substr) {
		t.Errorf("%s: %v (code %s); want %s saying %q", what, err, platform.ErrorCode(err), code, substr)
	}
}

func status(t *testing.T, w *testenv.World, hash string) algorithm.Status {
	t.Helper()
	v, err := w.Service.AlgorithmVersion(context.Background(), identity.System, hash)
	if err != nil {
		t.Fatal(err)
	}
	return v.Status
}

// TestSubmitRefusesInvalidManifest: a version built without algorithm.New
// (so its manifest was never validated) is refused by the service with the
// manifest's reason, and nothing is registered.
func TestSubmitRefusesInvalidManifest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		m := f.PGx.Manifest
		m.Version = "rev-no-genotypes"
		m.Inputs.Genotypes = false
		v := &algorithm.Version{Manifest: m, Files: f.PGx.Files}
		v.Hash = v.ComputeHash()
		wantCode(t, "submit", f.Service.SubmitAlgorithm(ctx, provider, v), platform.CodeInvalid, `inputs.genotypes is false, but the pgx engine reads genotypes`)
		if _, err := f.Service.AlgorithmVersion(ctx, identity.System, v.Hash); platform.ErrorCode(err) != platform.CodeNotFound {
			t.Errorf("the refused version was registered (look-up: %v)", err)
		}
	})
}

// TestLifecycleFourEyes walks a version from draft to retired: nothing is
// approved before validation, the submitter cannot approve their own
// version even with the governance role, only the board activates, and
// activation retires the previous version and recomputes consented
// persons. Every step is in the audit log.
func TestLifecycleFourEyes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		f.Service.SetValidator(f.Runner)
		ctx := context.Background()
		f.Grant(t, f.alice, demo.PGxAlgorithmID)
		f.Drain(t)
		v := submitPGx(t, f.World, "rev-4eyes",
			pgxCase(t, "normal metabolizer", "*1", "*1", "Normal Metabolizer"),
			pgxCase(t, "poor metabolizer", "*2", "*2", "Poor Metabolizer"))
		if got := status(t, f.World, v.Hash); got != algorithm.StatusDraft {
			t.Fatalf("submitted version is %s", got)
		}
		wantCode(t, "approve a draft", f.Service.ApproveAlgorithm(ctx, boardMember, v.Hash), platform.CodeConflict, "has not been validated")
		wantCode(t, "activate a draft", f.Service.Activate(ctx, boardMember, v.Hash), platform.CodeConflict, "only an approved version")
		_, err := f.Service.ValidateAlgorithm(ctx, testenv.Physician, v.Hash)
		wantCode(t, "physician validates", err, platform.CodeForbidden, "")
		rep, err := f.Service.ValidateAlgorithm(ctx, provider, v.Hash)
		if err != nil || !rep.Passed() || len(rep.Cases) != 2 {
			t.Fatalf("validate: %+v, %v", rep, err)
		}
		wantCode(t, "operator approves", f.Service.ApproveAlgorithm(ctx, provider, v.Hash), platform.CodeForbidden, "governance board")
		wantCode(t, "submitter approves", f.Service.ApproveAlgorithm(ctx, annaOnBoard, v.Hash), platform.CodeConflict, "four eyes")
		if got := status(t, f.World, v.Hash); got != algorithm.StatusValidated {
			t.Fatalf("after refused approvals: %s, want validated", got)
		}
		if err := f.Service.ApproveAlgorithm(ctx, boardMember, v.Hash); err != nil {
			t.Fatalf("approve: %v", err)
		}
		wantCode(t, "operator activates", f.Service.Activate(ctx, provider, v.Hash), platform.CodeForbidden, "governance board")
		rep2, err := f.Service.ActivateAlgorithm(ctx, boardMember, v.Hash)
		if err != nil {
			t.Fatalf("activate: %v", err)
		}
		if rep2.Retired != f.PGx.Hash || rep2.Persons != 1 {
			t.Errorf("activation: %+v, want the old version retired and alice recomputed", rep2)
		}
		if got := status(t, f.World, f.PGx.Hash); got != algorithm.StatusRetired {
			t.Errorf("old version is %s, want retired", got)
		}
		f.Drain(t)
		rs := f.results(t, f.alice, f.alice.Person)
		if len(rs) != 1 || rs[0].VersionHash != v.Hash || rs[0].Trigger != result.TriggerNewVersion {
			t.Errorf("alice's results after activation: %+v, want one citing %s", rs, v.Hash)
		}
		if err := f.Service.RetireAlgorithm(ctx, boardMember, v.Hash, "superseded by a later release"); err != nil {
			t.Fatalf("retire: %v", err)
		}
		wantCode(t, "retire twice", f.Service.RetireAlgorithm(ctx, boardMember, v.Hash, ""), platform.CodeConflict, "already retired")
		got, err := f.Service.AlgorithmVersion(ctx, identity.System, v.Hash[:12])
		if err != nil {
			t.Fatal(err)
		}
		if got.SubmittedBy != provider.Subject || got.ApprovedBy != boardMember.Subject || got.ValidatedAt.IsZero() || got.ApprovedAt.IsZero() || got.ActivatedAt.IsZero() || got.RetiredAt.IsZero() {
			t.Errorf("registry record: submitted %q approved %q stamps %v %v %v %v", got.SubmittedBy, got.ApprovedBy, got.ValidatedAt, got.ApprovedAt, got.ActivatedAt, got.RetiredAt)
		}
		var steps []string
		for _, e := range testenv.AuditLog(t, f.Store) {
			if strings.HasPrefix(e.Action, "algorithm.") && strings.HasSuffix(e.Object, "@rev-4eyes") {
				steps = append(steps, e.Action+" by "+e.Actor)
			}
		}
		want := "algorithm.submit by provider-anna,algorithm.validate by provider-anna,algorithm.approve by board-jaan,algorithm.activate by board-jaan,algorithm.retire by board-jaan"
		if strings.Join(steps, ",") != want {
			t.Errorf("audited steps:\n got %s\nwant %s", strings.Join(steps, ","), want)
		}
	})
}

// TestFailingValidationBlocksApproval: one failing case keeps the version
// a draft; the error and the stored report name the case; approval and
// activation are refused.
func TestFailingValidationBlocksApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		f.Service.SetValidator(f.Runner)
		ctx := context.Background()
		v := submitPGx(t, f.World, "rev-bad",
			pgxCase(t, "normal metabolizer", "*1", "*1", "Normal Metabolizer"),
			pgxCase(t, "star-2 homozygote claimed normal", "*2", "*2", "Normal Metabolizer"))
		rep, err := f.Service.ValidateAlgorithm(ctx, provider, v.Hash)
		wantCode(t, "validate", err, platform.CodeConflict, `case "star-2 homozygote claimed normal": expected "Normal Metabolizer"`)
		if rep.Passed() || len(rep.Cases) != 2 || !rep.Cases[0].Pass || rep.Cases[1].Pass {
			t.Errorf("report: %+v", rep)
		}
		if got := status(t, f.World, v.Hash); got != algorithm.StatusDraft {
			t.Errorf("status %s, want draft", got)
		}
		wantCode(t, "approve", f.Service.ApproveAlgorithm(ctx, boardMember, v.Hash), platform.CodeConflict, "star-2 homozygote claimed normal")
		wantCode(t, "activate", f.Service.Activate(ctx, boardMember, v.Hash), platform.CodeConflict, "only an approved version")

		// No cases at all is no validation either.
		empty := submitPGx(t, f.World, "rev-empty")
		_, err = f.Service.ValidateAlgorithm(ctx, provider, empty.Hash)
		wantCode(t, "validate without cases", err, platform.CodeConflict, "no validation cases")
	})
}

// withdrawingEngine withdraws one person's consent the first time the
// engine runs, i.e. while a batch is being computed.
type withdrawingEngine struct {
	runner.Engine
	once     sync.Once
	withdraw func()
}

func (e *withdrawingEngine) Run(ctx context.Context, v *algorithm.Version, in runner.Input) (runner.Output, error) {
	e.once.Do(e.withdraw)
	return e.Engine.Run(ctx, v, in)
}

// TestRecomputeBatch activates a new PRS version over a cohort large
// enough to be recomputed in batch jobs; one person withdraws while the
// batch computes. That person gets no new result; everyone else gets
// exactly one, which supersedes the old (still stored, still cited by its
// audit event); persons whose category changed are listed.
func TestRecomputeBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		w := testenv.NewWorld(t, b.DSN(t))
		ctx := context.Background()
		people := demo.Cohort(90)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		var ps []identity.Principal
		for _, p := range people {
			pr := w.SignIn(t, p.Code)
			w.Grant(t, pr, demo.PRSAlgorithmID)
			ps = append(ps, pr)
		}
		w.Drain(t)
		quitter := ps[17]

		// v2: same score, a stricter model: the top 60% are "moderately
		// increased", so many categories change.
		m := w.PRS.Manifest
		m.Version = "demo-2"
		files := map[string][]byte{}
		for k, c := range w.PRS.Files {
			files[k] = c
		}
		files[runner.PRSModelFile] = []byte(strings.Replace(string(files[runner.PRSModelFile]), `"up_to_percentile": 80`, `"up_to_percentile": 40`, 1))
		v2, err := algorithm.New(m, files, "geneguard")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Service.RegisterAlgorithm(ctx, identity.System, v2); err != nil {
			t.Fatal(err)
		}
		rep, err := w.Service.ActivateAlgorithm(ctx, identity.System, v2.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Persons != len(people) || rep.Jobs != 1 {
			t.Fatalf("activation %+v, want %d persons in one batch job", rep, len(people))
		}
		eng := w.Runner.Engines[algorithm.KindPRS]
		w.Runner.Engines[algorithm.KindPRS] = &withdrawingEngine{Engine: eng, withdraw: func() {
			if err := w.Service.WithdrawConsent(ctx, quitter, quitter.Person, demo.PRSAlgorithmID, "portal"); err != nil {
				t.Errorf("withdraw: %v", err)
			}
		}}
		w.Drain(t)
		w.Runner.Engines[algorithm.KindPRS] = eng

		changed := 0
		for _, pr := range ps {
			var rs []result.Result
			if err := w.Store.Read(ctx, func(tx platform.Tx) error {
				var err error
				rs, err = tx.AllResults(pr.Person)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if pr.Person == quitter.Person {
				if len(rs) != 1 || rs[0].VersionHash != w.PRS.Hash {
					t.Errorf("the person who withdrew mid-recompute has results %+v; want only the old one", rs)
				}
				continue
			}
			if len(rs) != 2 || rs[0].VersionHash != w.PRS.Hash || rs[1].VersionHash != v2.Hash || rs[0].SupersededBy != rs[1].ID || rs[1].SupersededBy != 0 {
				t.Fatalf("%s: results %+v; want the old superseded by one new", pr.Person, rs)
			}
			if rs[0].Category != rs[1].Category {
				changed++
			}
		}
		// The superseded results stay auditable: their run events cite them.
		cited := map[string]bool{}
		for _, e := range testenv.AuditLog(t, w.Store) {
			if e.Action == "run" {
				cited[e.Details["result"]+"@"+e.Details["version_hash"]] = true
			}
		}
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results WHERE superseded_by IS NOT NULL`); n != len(people)-1 {
			t.Errorf("%d superseded results, want %d", n, len(people)-1)
		}
		if n := len(cited); n != 2*len(people)-1 {
			t.Errorf("run events cite %d distinct results, want %d", n, 2*len(people)-1)
		}
		changes, err := w.Service.ResultChanges(ctx, testenv.Governance, v2.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if changed == 0 || len(changes) != changed {
			t.Errorf("%d result changes listed, %d categories changed (want equal and > 0)", len(changes), changed)
		}
		for _, c := range changes {
			if c.OldCategory == c.NewCategory || c.Person == quitter.Person {
				t.Errorf("change %+v", c)
			}
		}
		// Usage counts the batch's runs by outcome.
		u, err := w.Service.Usage(ctx, testenv.Governance, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var v2u *platform.VersionUsage
		for i := range u.Versions {
			if u.Versions[i].VersionHash == v2.Hash {
				v2u = &u.Versions[i]
			}
		}
		if v2u == nil || v2u.ByOutcome[platform.RunNewResult] != len(people)-1 || v2u.ByOutcome[platform.RunNoConsent] != 1 || v2u.ByTrigger[string(result.TriggerNewVersion)] != len(people) {
			t.Errorf("usage of v2: %+v", v2u)
		}
	})
}

// TestRegisterTwice: registering content already registered names the
// version it is registered as; a known version label with other content
// says to give the new content a new label (and names the registered
// content's hash, not the new one's).
func TestRegisterTwice(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := testenv.NewWorld(t, b.DSN(t))
			ctx := context.Background()
			err := w.Service.RegisterAlgorithm(ctx, identity.System, w.PGx)
			wantCode(t, "same content", err, platform.CodeConflict, "this content ("+algorithm.ShortHash(w.PGx.Hash)+") is already registered, as "+w.PGx.Manifest.ID+"@"+w.PGx.Manifest.Version)
			m := w.PGx.Manifest
			m.Title += " (edited)"
			v, err := algorithm.New(m, w.PGx.Files, "provider")
			if err != nil {
				t.Fatal(err)
			}
			err = w.Service.RegisterAlgorithm(ctx, identity.System, v)
			wantCode(t, "same label", err, platform.CodeConflict, "version "+m.Version+" is already registered with other content ("+algorithm.ShortHash(w.PGx.Hash)+"); give the new content a new version label")
		})
	}
}
