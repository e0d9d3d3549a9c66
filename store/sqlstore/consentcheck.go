package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
)

// Consents are protected by the audit log through their consent events:
// the service appends a consent row and, in the same transaction, a
// "consent.grant" or "consent.withdraw" event with the person, the
// algorithm (object), the actor, the time, the channel and the row's id
// (details "consent"). VerifyAudit, once the log itself verifies, checks
// every consent row against the event that recorded it, so deleting a
// withdrawal (which would bring withdrawn results back into clinical
// view), forging a grant or editing a row in SQL shows even though the
// consent table is not hashed. Events from before the row id was recorded
// are matched to the rows that no event names by person, algorithm and
// order (their actor is not compared: it was once spelled differently).

// consentActions maps the consent event actions to the row's action.
var consentActions = map[string]string{"consent.grant": "grant", "consent.withdraw": "withdraw"}

// consentRef is one consent event of the verified log.
type consentRef struct {
	seq                      uint64
	person, algorithm, actor string
	action                   string // the row's spelling: grant, withdraw
	channel                  string
	hasChannel               bool
	at                       time.Time
	row                      int64 // details "consent"; 0 in older events
	used                     bool
}

// consentLog collects the consent events of the verified log.
type consentLog struct {
	byRow    map[int64]*consentRef
	older    map[[2]string][]*consentRef // (person, algorithm) → events naming no row, in log order
	conflict *platform.ConsentTamperError
}

func newConsentLog() *consentLog {
	return &consentLog{byRow: map[int64]*consentRef{}, older: map[[2]string][]*consentRef{}}
}

// note records row, an event the log verification accepted, if it is a
// consent event. Other rows are not parsed.
func (cl *consentLog) note(row indexedRow) {
	action, ok := consentActions[row.action]
	if !ok {
		return
	}
	e, err := audit.ParseCanonical(row.Canonical)
	if err != nil {
		return // audit.Verify reports it
	}
	ref := &consentRef{seq: row.Seq, person: e.Person, algorithm: e.Object, actor: e.Actor, action: action, at: e.Time}
	ref.channel, ref.hasChannel = e.Details["channel"]
	v, ok := e.Details["consent"]
	if !ok {
		k := [2]string{e.Person, e.Object}
		cl.older[k] = append(cl.older[k], ref)
		return
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		if cl.conflict == nil {
			cl.conflict = &platform.ConsentTamperError{Event: row.Seq, HasEvent: true, Reason: fmt.Sprintf("the event names consent row %q, which is not a row id", v)}
		}
		return
	}
	if prev := cl.byRow[id]; prev != nil {
		if cl.conflict == nil {
			cl.conflict = &platform.ConsentTamperError{Consent: id, Event: row.Seq, HasEvent: true, Reason: fmt.Sprintf("the event records the same consent row as the event at index %d", prev.seq)}
		}
		return
	}
	ref.row = id
	cl.byRow[id] = ref
}

// consentRow is one stored consent row.
type consentRow struct {
	id                                        int64
	person, algorithm, action, actor, channel string
	at                                        time.Time
}

// mismatch says how row differs from the event ref, "" when it does not.
func (ref *consentRef) mismatch(c consentRow, linked bool) string {
	switch {
	case c.person != ref.person:
		return fmt.Sprintf("person %s, but the event records %s", c.person, ref.person)
	case c.algorithm != ref.algorithm:
		return fmt.Sprintf("algorithm %s, but the event records %s", c.algorithm, ref.algorithm)
	case c.action != ref.action:
		return fmt.Sprintf("action %s, but the event records %s", c.action, ref.action)
	}
	if d := c.at.Sub(ref.at); d < -time.Microsecond || d > time.Microsecond {
		return fmt.Sprintf("at %s, but the event's time is %s", c.at.UTC().Format(time.RFC3339Nano), ref.at.UTC().Format(time.RFC3339Nano))
	}
	if ref.hasChannel && c.channel != ref.channel {
		return fmt.Sprintf("channel %q, but the event records %q", c.channel, ref.channel)
	}
	if linked && c.actor != ref.actor {
		return fmt.Sprintf("actor %s, but the event records %s", c.actor, ref.actor)
	}
	return ""
}

// maxConsentID is the largest consent row id, 0 when there is none.
func (s *Store) maxConsentID(ctx context.Context) (int64, error) {
	var max sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(id) FROM consent_events`).Scan(&max); err != nil {
		return 0, fmt.Errorf("sqlstore: verify consents: %w", err)
	}
	return max.Int64, nil
}

// verifyConsents checks every consent row with id <= upto (the largest id
// before the log was sequenced and read) against the consent events of the
// verified log, and that every event's row is still there; the first
// *platform.ConsentTamperError it finds. size is the number of events the
// verification read: a row whose event came later (written while verify
// ran) is counted in sum.ConsentsNew, not failed.
func (s *Store) verifyConsents(ctx context.Context, cl *consentLog, upto int64, size uint64, sum *platform.AuditSummary) error {
	if cl.conflict != nil {
		return cl.conflict
	}
	var next int64
	for {
		batch, err := s.consentBatch(ctx, next, upto)
		if err != nil {
			return err
		}
		for _, c := range batch {
			ref := cl.byRow[c.id]
			linked := ref != nil
			if ref == nil {
				k := [2]string{c.person, c.algorithm}
				if q := cl.older[k]; len(q) > 0 {
					ref, cl.older[k] = q[0], q[1:]
				}
			}
			if ref == nil {
				later, err := s.laterEvent(ctx, "consents", []string{"consent.grant", "consent.withdraw"}, c.person, size, names("consent", c.id))
				if err != nil {
					return err
				}
				if later {
					sum.ConsentsNew++
					continue
				}
				return &platform.ConsentTamperError{Consent: c.id, Reason: fmt.Sprintf("%s of %s for %s: no consent event in the audit log records this row: it was inserted outside the service", c.action, c.algorithm, c.person)}
			}
			ref.used = true
			if why := ref.mismatch(c, linked); why != "" {
				return &platform.ConsentTamperError{Consent: c.id, Event: ref.seq, HasEvent: true, Reason: why + ": the row was altered"}
			}
			sum.Consents++
			if !linked {
				sum.ConsentsUnlinked++
			}
		}
		if len(batch) < auditBatch {
			break
		}
		next = batch[len(batch)-1].id
	}
	// A consent change the log records must still be there. Its event
	// committed with the row, so a row with id > upto (written after upto
	// was read, before the log was) was committed too: read it now — else
	// deleting the newest row would go unseen.
	var miss *consentRef
	for id, r := range cl.byRow {
		if r.used {
			continue
		}
		if id > upto {
			c, ok, err := s.consentRow(ctx, id)
			if err != nil {
				return err
			}
			if ok {
				r.used = true
				if why := r.mismatch(c, true); why != "" {
					return &platform.ConsentTamperError{Consent: c.id, Event: r.seq, HasEvent: true, Reason: why + ": the row was altered"}
				}
				sum.Consents++
				continue
			}
		}
		if miss == nil || r.seq < miss.seq {
			miss = r
		}
	}
	for _, q := range cl.older {
		for _, r := range q {
			if !r.used && (miss == nil || r.seq < miss.seq) {
				miss = r
			}
		}
	}
	if miss != nil {
		return &platform.ConsentTamperError{Consent: miss.row, Event: miss.seq, HasEvent: true,
			Reason: fmt.Sprintf("the event records %s of %s for %s, but no such consent row is stored: deleted", miss.action, miss.algorithm, miss.person)}
	}
	return nil
}

// consentBatch reads consent rows with after < id <= upto in id order.
func (s *Store) consentBatch(ctx context.Context, after, upto int64) ([]consentRow, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, person_id, algorithm_id, action, actor, channel, at
		FROM consent_events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`), after, upto, auditBatch)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: verify consents: %w", err)
	}
	defer rows.Close()
	var out []consentRow
	for rows.Next() {
		var c consentRow
		if err := rows.Scan(&c.id, &c.person, &c.algorithm, &c.action, &c.actor, &c.channel, &c.at); err != nil {
			return nil, fmt.Errorf("sqlstore: verify consents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// consentRow reads the consent row id; false when there is none.
func (s *Store) consentRow(ctx context.Context, id int64) (consentRow, bool, error) {
	c := consentRow{id: id}
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT person_id, algorithm_id, action, actor, channel, at FROM consent_events WHERE id = ?`), id).
		Scan(&c.person, &c.algorithm, &c.action, &c.actor, &c.channel, &c.at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("sqlstore: verify consents: %w", err)
	}
	return c, true, nil
}
