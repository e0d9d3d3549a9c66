package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// consentChange appends a consent row and its audit event in one
// transaction, as the service does; withID false writes the event as
// releases before the row id was recorded did (no details "consent").
func consentChange(t *testing.T, s *sqlstore.Store, person string, a consent.Action, withID bool) int64 {
	t.Helper()
	var id int64
	inTx(t, s, func(tx platform.Tx) error {
		var err error
		id, err = tx.AppendConsent(consent.Event{Person: person, Algorithm: "A", Action: a, Actor: person, Channel: "portal"})
		if err != nil {
			return err
		}
		d := map[string]string{"channel": "portal"}
		if withID {
			d["consent"] = fmt.Sprint(id)
		}
		return tx.Audit(platform.AuditEntry{Actor: person, Role: "patient", Person: person, Action: "consent." + string(a), Object: "A", Purpose: "consent"}, d)
	})
	return id
}

// TestVerifyAuditConsents: consent rows are checked against their audit
// events, by row id for events that name it and by person, algorithm and
// order for older ones; a deleted, forged or edited row is named.
func TestVerifyAuditConsents(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			addPersons(t, s, "P-1", "P-2")
			consentChange(t, s, "P-1", consent.Grant, false)
			older := consentChange(t, s, "P-1", consent.Withdraw, false)
			consentChange(t, s, "P-1", consent.Grant, false)
			consentChange(t, s, "P-2", consent.Grant, true)
			linked := consentChange(t, s, "P-2", consent.Withdraw, true)
			auditSign(t, s, k)
			exec := func(q string, args ...any) {
				t.Helper()
				if d == "postgres" {
					for i := 1; strings.Contains(q, "?"); i++ {
						q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
					}
				}
				if _, err := s.DB().ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := s.VerifyAudit(ctx, k.v)
			if err != nil || sum.Consents != 5 || sum.ConsentsUnlinked != 3 {
				t.Fatalf("honest log: %+v, %v; want 5 consents, 3 matched by order", sum, err)
			}
			tamper := func(what string, want platform.ConsentTamperError) {
				t.Helper()
				_, err := s.VerifyAudit(ctx, k.v)
				var te *platform.ConsentTamperError
				if !errors.As(err, &te) || te.Consent != want.Consent || te.HasEvent != want.HasEvent || (want.HasEvent && te.Event != want.Event) || !strings.Contains(te.Reason, want.Reason) {
					t.Errorf("%s: verify: %v; want consent row %d, event %d (%v), %q", what, err, want.Consent, want.Event, want.HasEvent, want.Reason)
				}
			}
			// Event indexes: one per change, in order (0..4).
			exec(`UPDATE consent_events SET action = 'grant' WHERE id = ?`, linked)
			tamper("linked row edited", platform.ConsentTamperError{Consent: linked, Event: 4, HasEvent: true, Reason: "action grant, but the event records withdraw"})
			exec(`UPDATE consent_events SET action = 'withdraw' WHERE id = ?`, linked)
			exec(`UPDATE consent_events SET actor = 'dr-forger' WHERE id = ?`, linked)
			tamper("linked row's actor edited", platform.ConsentTamperError{Consent: linked, Event: 4, HasEvent: true, Reason: "actor dr-forger"})
			exec(`UPDATE consent_events SET actor = 'P-2' WHERE id = ?`, linked)
			if _, err := s.VerifyAudit(ctx, k.v); err != nil {
				t.Fatalf("restored: %v", err)
			}
			exec(`DELETE FROM consent_events WHERE id = ?`, linked)
			tamper("newest row deleted", platform.ConsentTamperError{Consent: linked, Event: 4, HasEvent: true, Reason: "no such consent row is stored: deleted"})
			consentChange(t, s, "P-2", consent.Withdraw, true) // P-2's withdrawal again, its own row and event (index 5)
			exec(`DELETE FROM consent_events WHERE id = ?`, older)
			// The older events are matched in order: P-1's later grant now
			// stands where the withdrawal was recorded.
			tamper("older withdrawal deleted", platform.ConsentTamperError{Consent: older + 1, Event: 1, HasEvent: true, Reason: "action grant, but the event records withdraw"})
		})
	}
}
