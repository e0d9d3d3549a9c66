package platform_test

import (
	"context"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

// TestRefusalsAudited: a refused view of someone's data and a refused
// consent change are each recorded in their own transaction, filed under
// the person whose data it was (so it is in their access log) with the
// reason; a probe with a made-up pseudonym is recorded under no one.
func TestRefusalsAudited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		a, bob := f.alice, f.bob
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Drain(t)

		before := len(testenv.AuditLog(t, f.Store))
		attempts := []struct {
			name   string
			call   func() error
			action string
			object string
		}{
			{"patient reads another's results", func() error { _, err := f.Service.Results(ctx, bob, a.Person, ""); return err }, "view.refused", "results"},
			{"governance reads results", func() error {
				_, err := f.Service.Results(ctx, testenv.Governance, a.Person, "quality assurance")
				return err
			}, "view.refused", "results"},
			{"patient opens another's record", func() error { _, err := f.Service.Person(ctx, bob, a.Person); return err }, "view.refused", "record"},
			{"patient reads another's consents", func() error { _, err := f.Service.Consents(ctx, bob, a.Person); return err }, "view.refused", "consents"},
			{"patient reads another's access log", func() error { _, err := f.Service.AuditTrail(ctx, bob, a.Person); return err }, "view.refused", "access log"},
			{"physician reads an access log", func() error { _, err := f.Service.AuditTrail(ctx, testenv.Physician, a.Person); return err }, "view.refused", "access log"},
			{"patient withdraws another's consent", func() error {
				return f.Service.WithdrawConsent(ctx, bob, a.Person, demo.PGxAlgorithmID, "portal")
			}, "consent.refused", demo.PGxAlgorithmID},
		}
		for _, c := range attempts {
			if err := c.call(); platform.ErrorCode(err) != platform.CodeForbidden {
				t.Fatalf("%s: %v, want forbidden", c.name, err)
			}
		}
		log := testenv.AuditLog(t, f.Store)[before:]
		if len(log) != len(attempts) {
			t.Fatalf("%d events for %d refusals: %+v", len(log), len(attempts), log)
		}
		for i, c := range attempts {
			e := log[i]
			if e.Action != c.action || e.Object != c.object || e.Person != a.Person || e.Details["reason"] == "" || e.Details["results"] != "" {
				t.Errorf("%s: event %+v", c.name, e)
			}
		}
		if log[0].Actor != bob.Person || log[0].Role != "patient" {
			t.Errorf("the refused patient is named by pseudonym: %+v", log[0])
		}
		// Nothing was shown or changed: consent still in force.
		if rs := f.results(t, a, a.Person); len(rs) != 1 {
			t.Errorf("alice's results after the refusals: %d, want 1", len(rs))
		}

		// Alice's access log shows each attempt, with its reason.
		trail, err := f.Service.AuditTrail(ctx, a, a.Person)
		if err != nil {
			t.Fatal(err)
		}
		var refused int
		for _, e := range trail {
			if strings.HasSuffix(e.Action, ".refused") {
				refused++
				if e.Reason == "" {
					t.Errorf("access-log entry without its reason: %+v", e)
				}
			}
		}
		if refused != len(attempts) {
			t.Errorf("alice's access log shows %d refused attempts, want %d", refused, len(attempts))
		}

		// A probe of a pseudonym nobody has is recorded, under no one.
		if _, err := f.Service.Results(ctx, bob, "P-NOBODY", ""); platform.ErrorCode(err) != platform.CodeForbidden {
			t.Fatalf("probe: %v, want forbidden", err)
		}
		last := testenv.AuditLog(t, f.Store)
		if e := last[len(last)-1]; e.Action != "view.refused" || e.Person != "" || e.Details["target"] != "no such person" {
			t.Errorf("probe event: %+v", e)
		}
	})
}

// TestRefuseSignInAndSignOut: a refused sign-in is recorded as
// login.refused with its reason; when the identity provider vouched for a
// patient, under their pseudonym (never the personal code), else under no
// one. A sign-out is recorded as logout in the patient's access log.
func TestRefuseSignInAndSignOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		a := f.alice
		code := string(f.people[0].Code)
		before := len(testenv.AuditLog(t, f.Store))
		for _, c := range []struct {
			role    identity.Role
			subject string
		}{
			{"", ""},
			{identity.RolePatient, "EE" + code},
			{identity.RolePatient, "EE37605030299"}, // no record: under no one
			{identity.RolePhysician, "Dr-Saar"},
		} {
			if err := f.Service.RefuseSignIn(ctx, c.role, c.subject, "acr too low"); err != nil {
				t.Fatalf("RefuseSignIn(%q, %q): %v", c.role, c.subject, err)
			}
		}
		if err := f.Service.SignOut(ctx, a); err != nil {
			t.Fatal(err)
		}
		log := testenv.AuditLog(t, f.Store)[before:]
		type ev struct{ action, actor, role, person string }
		want := []ev{
			{"login.refused", "unknown", "", ""},
			{"login.refused", a.Person, "patient", a.Person},
			{"login.refused", "unknown", "", ""},
			{"login.refused", "dr-saar", "physician", ""},
			{"logout", a.Person, "patient", a.Person},
		}
		if len(log) != len(want) {
			t.Fatalf("%d events, want %d: %+v", len(log), len(want), log)
		}
		for i, w := range want {
			e := log[i]
			if (ev{e.Action, e.Actor, e.Role, e.Person}) != w {
				t.Errorf("event %d: %+v, want %+v", i, e, w)
			}
			if w.action == "login.refused" && e.Details["reason"] != "acr too low" {
				t.Errorf("event %d: reason %q", i, e.Details["reason"])
			}
			if strings.Contains(string(e.Canonical()), code) || strings.Contains(string(e.Canonical()), "37605030299") {
				t.Errorf("event %d records a personal code: %s", i, e.Canonical())
			}
		}
	})
}
