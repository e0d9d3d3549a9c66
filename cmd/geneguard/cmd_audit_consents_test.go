package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// TestAuditVerifyConsents: a consent row deleted, forged or edited in SQL
// (deleting a withdrawal brings withdrawn results back into clinical view)
// is caught by `audit verify`, which names the consent row and the index
// of the consent event that recorded it; an honest log passes.
func TestAuditVerifyConsents(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 3)
			p0, p1 := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
			w.Grant(t, p0, demo.PGxAlgorithmID)
			w.Grant(t, p1, demo.PGxAlgorithmID)
			w.Drain(t)
			w.Withdraw(t, p0, demo.PGxAlgorithmID)
			w.Drain(t)
			auditCheckpoint(t, dsn, data)
			verifyOK, verifyFails := auditVerifier(t, dsn, data, "consents OK: 3 match")
			verifyOK("honest log")

			// The withdrawal row and the event that recorded it.
			ctx := context.Background()
			var wid int64
			var at time.Time
			if err := w.Store.DB().QueryRowContext(ctx, rebindTest(w, `SELECT id, at FROM consent_events WHERE person_id = ? AND action = 'withdraw'`), p0.Person).Scan(&wid, &at); err != nil {
				t.Fatal(err)
			}
			var seq uint64
			found := false
			for _, e := range testenv.AuditLog(t, w.Store) {
				if e.Action == "consent.withdraw" && e.Details["consent"] == fmt.Sprint(wid) {
					if e.Person != p0.Person || e.Object != demo.PGxAlgorithmID || e.Details["channel"] != "portal" || e.Time.Sub(at).Abs() > time.Microsecond {
						t.Fatalf("the withdraw event does not describe its row: %+v", e)
					}
					seq, found = e.Seq, true
				}
			}
			if !found {
				t.Fatalf("no consent.withdraw event names consent row %d", wid)
			}
			mismatch := fmt.Sprintf("consent row %d does not match its consent event at index %d", wid, seq)

			tamperSQL(t, dsn, `UPDATE consent_events SET action = 'grant' WHERE id = ?`, wid)
			verifyFails("withdrawal turned into a grant", mismatch+": action grant, but the event records withdraw")
			tamperSQL(t, dsn, `UPDATE consent_events SET action = 'withdraw' WHERE id = ?`, wid)
			verifyOK("action restored")

			tamperSQL(t, dsn, `UPDATE consent_events SET person_id = ? WHERE id = ?`, p1.Person, wid)
			verifyFails("re-filed under another person", mismatch+": person")
			tamperSQL(t, dsn, `UPDATE consent_events SET person_id = ? WHERE id = ?`, p0.Person, wid)
			verifyOK("person restored")

			tamperSQL(t, dsn, `UPDATE consent_events SET at = ? WHERE id = ?`, at.Add(-time.Hour), wid)
			verifyFails("re-timed", mismatch+": at ")
			tamperSQL(t, dsn, `UPDATE consent_events SET at = ? WHERE id = ?`, at, wid)
			verifyOK("time restored")

			tamperSQL(t, dsn, `UPDATE consent_events SET channel = 'cli' WHERE id = ?`, wid)
			verifyFails("channel edited", mismatch+": channel")
			tamperSQL(t, dsn, `UPDATE consent_events SET channel = 'portal' WHERE id = ?`, wid)
			verifyOK("channel restored")

			p2 := w.Pseudo.Pseudonym(people[2].Code)
			tamperSQL(t, dsn, `INSERT INTO consent_events (person_id, algorithm_id, action, actor, channel, at) VALUES (?, ?, 'grant', ?, 'portal', ?)`, p2, demo.PGxAlgorithmID, p2, at)
			forged := int64(testenv.Count(t, w.Store, `SELECT MAX(id) FROM consent_events`))
			verifyFails("forged grant", fmt.Sprintf("consent row %d: grant of %s for %s: no consent event in the audit log records this row", forged, demo.PGxAlgorithmID, p2))
			tamperSQL(t, dsn, `DELETE FROM consent_events WHERE id = ?`, forged)
			verifyOK("forged grant removed")

			tamperSQL(t, dsn, `DELETE FROM consent_events WHERE person_id = ? AND action = 'withdraw'`, p0.Person)
			verifyFails("withdrawal deleted", mismatch+": the event records withdraw of "+demo.PGxAlgorithmID+" for "+p0.Person+", but no such consent row is stored: deleted")
		})
	}
}

func rebindTest(w *testenv.World, q string) string {
	if w.Store.Dialect() == sqlstore.Postgres {
		return strings.Replace(q, "?", "$1", 1)
	}
	return q
}
