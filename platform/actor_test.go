package platform_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

func TestNormalizeAccount(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      string // substring of the error; "" means accepted
	}{
		{"alice", "alice", ""},
		{" alice", "alice", ""},
		{"Alice", "alice", ""},
		{"  ALICE\t", "alice", ""},
		{"dr-saar", "dr-saar", ""},
		{"Jüri Õun", "jüri õun", ""},
		{"", "", "empty"},
		{"   ", "", "empty"},
		{"al\x00ice", "", "control"},
		{"al\nice", "", "control"},
		{"al\u200bice", "", "non-printing"},
		{"\xff", "", "UTF-8"},
		{strings.Repeat("a", platform.MaxAccountLen+1), "", "longer than"},
	} {
		got, err := platform.NormalizeAccount(c.in)
		switch {
		case c.bad == "" && (err != nil || got != c.want):
			t.Errorf("NormalizeAccount(%q) = %q, %v; want %q", c.in, got, err, c.want)
		case c.bad != "" && (platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(platform.ErrorMessage(err), c.bad)):
			t.Errorf("NormalizeAccount(%q) = %q, %v; want an invalid error saying %q", c.in, got, err, c.bad)
		}
	}
}

func TestCheckPurpose(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      string
	}{
		{"treatment", "treatment", ""},
		{" operator review ", "operator review", ""},
		{"prescribing", "prescribing", ""},
		{"", "", "purpose is empty; state why the results are viewed, e.g. treatment, prescribing"},
		{"  ", "", "purpose is empty"},
		{"treat\x00ment", "", "control"},
		{"treatment\r\nforged: line", "", "control"},
		{"\x1b[31mred", "", "control"},
		{"\xff", "", "UTF-8"},
		{strings.Repeat("x", platform.MaxPurposeLen+1), "", "longer than 100"},
	} {
		got, err := platform.CheckPurpose(c.in)
		switch {
		case c.bad == "" && (err != nil || got != c.want):
			t.Errorf("CheckPurpose(%q) = %q, %v; want %q", c.in, got, err, c.want)
		case c.bad != "" && (platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(platform.ErrorMessage(err), c.bad)):
			t.Errorf("CheckPurpose(%q) = %q, %v; want an invalid error saying %q", c.in, got, err, c.bad)
		}
	}
}

// TestResultsPurposeRecorded: a view's purpose is recorded as stated
// (trimmed); a purpose with control characters is refused and nothing is
// audited for it.
func TestResultsPurposeRecorded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		views := func() []string {
			var out []string
			for _, e := range testenv.AuditLog(t, f.Store) {
				if e.Action == "view" && e.Person == f.alice.Person {
					out = append(out, e.Purpose)
				}
			}
			return out
		}
		for _, c := range []struct {
			purpose string
			ok      bool
		}{
			{" prescribing ", true},
			{"", true}, // the service's own pages state none: treatment
			{"x\x00y", false},
			{"a\nb", false},
		} {
			_, err := f.Service.Results(ctx, testenv.Physician, f.alice.Person, c.purpose)
			if c.ok != (err == nil) || (!c.ok && platform.ErrorCode(err) != platform.CodeInvalid) {
				t.Errorf("Results with purpose %q: %v", c.purpose, err)
			}
		}
		if got := strings.Join(views(), ","); got != "prescribing,treatment" {
			t.Errorf("recorded purposes %q, want prescribing,treatment", got)
		}
	})
}

// TestFourEyesAnySpelling: the submitter cannot approve their own version
// by spelling their account differently (spaces, case), an unacceptable
// account name is refused outright, and the accounts are recorded in one
// spelling: submitter, approver and activator.
func TestFourEyesAnySpelling(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		f.Service.SetValidator(f.Runner)
		ctx := context.Background()
		m := f.PGx.Manifest
		m.Version = "rev-spelling"
		m.Validation = []algorithm.Case{pgxCase(t, "normal metabolizer", "*1", "*1", "Normal Metabolizer")}
		v, err := algorithm.New(m, f.PGx.Files, "")
		if err != nil {
			t.Fatal(err)
		}
		submitter := identity.Principal{Subject: " Alice ", Role: identity.RoleOperator}
		if err := f.Service.SubmitAlgorithm(ctx, submitter, v); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.ValidateAlgorithm(ctx, submitter, v.Hash); err != nil {
			t.Fatal(err)
		}
		board := func(name string) identity.Principal {
			return identity.Principal{Subject: name, Name: name, Role: identity.RoleGovernance}
		}
		for _, c := range []struct {
			approver string
			code     platform.Code
			say      string
		}{
			{"alice", platform.CodeConflict, "four eyes"},
			{" alice", platform.CodeConflict, "four eyes"},
			{"Alice", platform.CodeConflict, "four eyes"},
			{"ALICE\t", platform.CodeConflict, "four eyes"},
			{"", platform.CodeInvalid, "empty"},
			{"bob\x00", platform.CodeInvalid, "control"},
			{"b\u200bob", platform.CodeInvalid, "non-printing"},
		} {
			wantCode(t, "approve as "+strconv.Quote(c.approver), f.Service.ApproveAlgorithm(ctx, board(c.approver), v.Hash), c.code, c.say)
		}
		if got := status(t, f.World, v.Hash); got != algorithm.StatusValidated {
			t.Fatalf("after refused approvals: %s", got)
		}
		if err := f.Service.ApproveAlgorithm(ctx, board(" Bob"), v.Hash); err != nil {
			t.Fatalf("approve by bob: %v", err)
		}
		if _, err := f.Service.ActivateAlgorithm(ctx, board("CAROL"), v.Hash); err != nil {
			t.Fatalf("activate by carol: %v", err)
		}
		got, err := f.Service.AlgorithmVersion(ctx, identity.System, v.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got.SubmittedBy != "alice" || got.ApprovedBy != "bob" || got.ActivatedBy != "carol" || got.Status != algorithm.StatusActive {
			t.Errorf("registry: submitted %q approved %q activated %q, %s; want alice, bob, carol, active", got.SubmittedBy, got.ApprovedBy, got.ActivatedBy, got.Status)
		}
		var steps []string
		for _, e := range testenv.AuditLog(t, f.Store) {
			if strings.HasSuffix(e.Object, "@rev-spelling") {
				steps = append(steps, e.Action+" by "+e.Actor)
			}
		}
		want := "algorithm.submit by alice,algorithm.validate by alice,algorithm.approve by bob,algorithm.activate by carol"
		if strings.Join(steps, ",") != want {
			t.Errorf("audited steps:\n got %s\nwant %s", strings.Join(steps, ","), want)
		}
	})
}

// TestBuiltinBootstrap: a version the system registers and activates
// itself records how it came to be active (approver BuiltinApprover, the
// system as activator); its validation cases, when it has any, run first,
// and a failure keeps it a draft with its failures shown. The system
// cannot bootstrap someone else's draft past the board.
func TestBuiltinBootstrap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		sys := identity.System

		// The built-ins the world bootstrapped have no cases.
		got, err := f.Service.AlgorithmVersion(ctx, sys, f.PGx.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got.ApprovedBy != platform.BuiltinApprover || got.ActivatedBy != "geneguard" || got.ApprovedAt.IsZero() {
			t.Errorf("built-in: approved %q at %v, activated %q", got.ApprovedBy, got.ApprovedAt, got.ActivatedBy)
		}
		if s := algorithm.ValidationSummary(got); s != "no validation cases in the manifest" {
			t.Errorf("built-in validation summary %q", s)
		}

		version := func(label string, cases ...algorithm.Case) *algorithm.Version {
			m := f.PGx.Manifest
			m.Version = label
			m.Validation = cases
			v, err := algorithm.New(m, f.PGx.Files, "geneguard")
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		normal := pgxCase(t, "normal metabolizer", "*1", "*1", "Normal Metabolizer")
		wrong := pgxCase(t, "poor called normal", "*2", "*2", "Normal Metabolizer")
		for _, c := range []struct {
			name      string
			v         *algorithm.Version
			submitter identity.Principal
			validator bool
			code      platform.Code // "" means activated
			say       string
			summary   string
		}{
			{"cases pass", version("boot-pass", normal), sys, true, "", "", "1/1 passed"},
			{"a case fails", version("boot-fail", normal, wrong), sys, true, platform.CodeConflict, "failed validation", `FAILED: 1 of 2 cases failed; first: case "poor called normal": expected "Normal Metabolizer", got "CYP2C19 *2/*2 — Poor Metabolizer"`},
			{"cases but no validator", version("boot-noval", normal), sys, false, platform.CodeConflict, "no validator", "not run (1 case)"},
			{"an operator's draft", version("boot-op"), testenv.Operator, true, platform.CodeConflict, "only an approved version", "no validation cases in the manifest"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if c.validator {
					f.Service.SetValidator(f.Runner)
				} else {
					f.Service.SetValidator(nil)
				}
				if err := f.Service.RegisterAlgorithm(ctx, c.submitter, c.v); err != nil {
					t.Fatal(err)
				}
				_, err := f.Service.ActivateAlgorithm(ctx, sys, c.v.Hash)
				if c.code == "" && err != nil {
					t.Fatalf("activate: %v", err)
				}
				if c.code != "" {
					wantCode(t, "activate", err, c.code, c.say)
				}
				got, err := f.Service.AlgorithmVersion(ctx, sys, c.v.Hash)
				if err != nil {
					t.Fatal(err)
				}
				if s := algorithm.ValidationSummary(got); s != c.summary {
					t.Errorf("validation summary %q, want %q", s, c.summary)
				}
				if c.code == "" {
					if got.Status != algorithm.StatusActive || got.ApprovedBy != platform.BuiltinApprover || got.ActivatedBy != "geneguard" || got.ValidatedAt.IsZero() {
						t.Errorf("activated: %s, approved %q, activated by %q, validated at %v", got.Status, got.ApprovedBy, got.ActivatedBy, got.ValidatedAt)
					}
				} else if got.Status != algorithm.StatusDraft || got.ApprovedBy != "" || got.ActivatedBy != "" {
					t.Errorf("refused: %s, approved %q, activated by %q; want an unapproved draft", got.Status, got.ApprovedBy, got.ActivatedBy)
				}
			})
		}
	})
}

// TestAgeMilestonesRefusesFutureDay: a pass for a day after today (by the
// service's clock) is refused and leaves the mark alone, so the next
// daily pass still covers the days since the last one.
func TestAgeMilestonesRefusesFutureDay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		today := time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC)
		f.Service.Now = func() time.Time { return today.Add(23 * time.Hour) }
		mark := func() string {
			var m string
			if err := f.Store.InTx(ctx, func(tx platform.Tx) (err error) {
				m, err = tx.Mark("age-milestones")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		for _, c := range []struct {
			day  time.Time
			ok   bool
			mark string
		}{
			{today.AddDate(0, 0, -2), true, "2030-06-13"},
			{today.AddDate(0, 0, 1), false, "2030-06-13"},
			{today.AddDate(10, 0, 0), false, "2030-06-13"},
			{today, true, "2030-06-15"},
			{today.Add(30 * time.Hour), false, "2030-06-15"},
		} {
			_, err := f.Service.AgeMilestones(ctx, identity.System, c.day)
			if c.ok && err != nil {
				t.Errorf("pass for %s: %v", c.day.Format("2006-01-02"), err)
			}
			if !c.ok {
				wantCode(t, "pass for "+c.day.Format("2006-01-02"), err, platform.CodeInvalid, "after today (2030-06-15, UTC)")
			}
			if m := mark(); m != c.mark {
				t.Errorf("after the pass for %s: mark %q, want %q", c.day.Format("2006-01-02"), m, c.mark)
			}
		}
	})
}

// A pass that looks at nothing says why, truthfully: a day the passes
// covered is "already done"; a day before the first pass was never looked
// at (the first pass looks at its own day only), so it is reported as out
// of reach, not as done; with the first pass's day unknown (a mark set
// before it was recorded) neither is claimed.
func TestAgeMilestonesSkipped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		f.Service.Now = func() time.Time { return time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC) }
		day := func(s string) time.Time {
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for _, c := range []struct {
			day, from string
			skipped   string // "" when the pass ran
		}{
			{"2030-06-10", "2030-06-10", ""},
			{"2030-06-10", "2030-06-11", "2030-06-10 was already done (the passes have covered 2030-06-10 to 2030-06-10); nothing queued"},
			{"2030-06-12", "2030-06-11", ""},
			{"2030-06-11", "2030-06-13", "2030-06-11 was already done (the passes have covered 2030-06-10 to 2030-06-12)"},
			{"2030-06-09", "2030-06-13", "nothing queued for 2030-06-09: it is before the first pass (2030-06-10), which looked at its own day only; passes never go back, and the next one covers the days after 2030-06-12"},
			{"2000-01-01", "2030-06-13", "nothing queued for 2000-01-01: it is before the first pass (2030-06-10)"},
		} {
			rep, err := f.Service.AgeMilestones(ctx, identity.System, day(c.day))
			if err != nil {
				t.Fatalf("pass for %s: %v", c.day, err)
			}
			if got := rep.From.Format("2006-01-02"); got != c.from {
				t.Errorf("pass for %s: from %s, want %s", c.day, got, c.from)
			}
			if got := rep.Skipped(); c.skipped == "" && got != "" || !strings.Contains(got, c.skipped) {
				t.Errorf("pass for %s: skipped %q, want %q", c.day, got, c.skipped)
			}
		}
		// A mark from before the first pass's day was recorded.
		if err := f.Store.InTx(ctx, func(tx platform.Tx) error { return tx.SetMark("age-milestones-first", "") }); err != nil {
			t.Fatal(err)
		}
		rep, err := f.Service.AgeMilestones(ctx, identity.System, day("2000-01-01"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rep.Skipped(), "nothing queued for 2000-01-01: the passes have covered the days up to 2030-06-12 (the first pass's day is not recorded) and never go back"; !strings.Contains(got, want) {
			t.Errorf("without the first pass's day: %q, want %q", got, want)
		}
	})
}
