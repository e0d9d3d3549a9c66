package platform_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

// TestBreakGlass: a physician may open a patient's results in an
// emergency, giving a reason; it is refused without one and to anyone but
// a physician; it shows what the clinical view shows and never overrides
// withdrawn consent; and it is in the patient's access log as
// "break-glass" with the reason.
func TestBreakGlass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		a := f.alice
		f.Grant(t, a, demo.PGxAlgorithmID)
		f.Grant(t, a, demo.PRSAlgorithmID)
		f.Drain(t)
		f.Withdraw(t, a, demo.PRSAlgorithmID)
		doc := testenv.Physician
		const reason = "Unconscious in the emergency department; antiplatelet decision needed now."

		before := len(testenv.AuditLog(t, f.Store))
		refused := []struct {
			name   string
			p      identity.Principal
			person string
			reason string
			code   platform.Code
		}{
			{"no reason", doc, a.Person, "", platform.CodeInvalid},
			{"blank reason", doc, a.Person, " \n\t ", platform.CodeInvalid},
			{"reason too long", doc, a.Person, strings.Repeat("x", platform.MaxBreakGlassReason+1), platform.CodeInvalid},
			{"reason not UTF-8", doc, a.Person, "bad \xff", platform.CodeInvalid},
			{"patient", a, a.Person, reason, platform.CodeForbidden},
			{"patient on another's record", a, f.bob.Person, reason, platform.CodeForbidden},
			{"governance", testenv.Governance, a.Person, reason, platform.CodeForbidden},
			{"operator", testenv.Operator, a.Person, reason, platform.CodeForbidden},
			{"unknown person", doc, "P-NOBODY", reason, platform.CodeNotFound},
		}
		for _, c := range refused {
			_, err := f.Service.BreakGlass(ctx, c.p, c.person, c.reason)
			if got := platform.ErrorCode(err); got != c.code {
				t.Errorf("%s: %v (code %s), want %s", c.name, err, got, c.code)
			}
			if msg := platform.ErrorMessage(err); msg == "Internal error." || msg == "" {
				t.Errorf("%s: message %q does not say why", c.name, msg)
			}
		}
		// Invalid requests append nothing; refusals of a principal who may
		// not use break-glass are recorded, each as one view.refused (filed
		// under the person named), with the reason and no results.
		var refusals int
		for _, e := range testenv.AuditLog(t, f.Store)[before:] {
			if e.Action != "view.refused" || e.Purpose != platform.PurposeEmergency || e.Details["reason"] == "" || e.Details["results"] != "" {
				t.Errorf("refused break-glass call appended %+v", e)
			}
			refusals++
		}
		if refusals != 4 {
			t.Errorf("refused break-glass calls appended %d view.refused events, want 4 (the forbidden ones)", refusals)
		}

		// The clinical view, no more: PRS consent was withdrawn.
		got, err := f.Service.BreakGlass(ctx, doc, a.Person, "  "+reason+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{demo.PGxAlgorithmID + "@" + f.PGx.Manifest.Version}, versions(got)); diff != "" {
			t.Errorf("break-glass results (-want +got):\n%s", diff)
		}
		log := testenv.AuditLog(t, f.Store)
		e := log[len(log)-1]
		if e.Action != "break-glass" || e.Actor != doc.Subject || e.Role != "physician" || e.Person != a.Person ||
			e.Object != "results" || e.Purpose != platform.PurposeEmergency || e.Details["reason"] != reason ||
			e.Details["results"] != "["+itoa(got[0].ID)+"]" {
			t.Errorf("break-glass event: %+v", e)
		}

		// The patient sees it, with the reason.
		trail, err := f.Service.AuditTrail(ctx, a, a.Person)
		if err != nil {
			t.Fatal(err)
		}
		last := trail[len(trail)-1]
		want := platform.AuditEntry{Seq: e.Seq, Time: e.Time, Actor: doc.Subject, Role: "physician", Person: a.Person,
			Action: "break-glass", Object: "results", Purpose: platform.PurposeEmergency, Reason: reason}
		if diff := cmp.Diff(want, last, equateInstants); diff != "" {
			t.Errorf("access log entry (-want +got):\n%s", diff)
		}

		// Withdrawn consent is not overridden.
		f.Withdraw(t, a, demo.PGxAlgorithmID)
		if got, err := f.Service.BreakGlass(ctx, doc, a.Person, reason); err != nil || len(got) != 0 {
			t.Errorf("break-glass after every consent was withdrawn: %v, %v; want nothing", versions(got), err)
		}
	})
}

// equateInstants compares times as instants, whatever zone the driver
// returns them in.
var equateInstants = cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })
