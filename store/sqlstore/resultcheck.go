package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// Results are protected by the audit log through their "run" events: the
// runner writes a result and, in the same transaction, a run event naming
// it (details "result") with its result.ContentHash (details
// "result_sha256"). VerifyAudit, once the log itself verifies, checks every
// result row against the events that name it, so editing, inserting or
// deleting a result row shows even though the results table is not hashed.

// runRef is what the verified log says about one result.
type runRef struct {
	seq      uint64 // the first run event naming the result
	hash     string // result_sha256 of the first event carrying one
	hashSeq  uint64 // that event's index
	created  bool   // an event with outcome new-result names it
	at       time.Time
	atSeq    uint64
	column   int // the column the creating event read; -1 when not recorded
	conflict *platform.ResultTamperError
}

// resultRuns collects the run events of the verified log by result id.
type resultRuns map[int64]*runRef

// note records row, an event the log verification accepted, if it is a run
// event naming a result. Rows that are not run events are not parsed.
func (rr resultRuns) note(row indexedRow) {
	if row.action != "run" {
		return
	}
	e, err := audit.ParseCanonical(row.Canonical)
	if err != nil {
		return // audit.Verify reports it
	}
	id, err := strconv.ParseInt(e.Details["result"], 10, 64)
	if err != nil {
		return
	}
	ref := rr[id]
	if ref == nil {
		ref = &runRef{seq: row.Seq, column: -1}
		rr[id] = ref
	}
	if h := e.Details["result_sha256"]; h != "" {
		switch {
		case ref.hash == "":
			ref.hash, ref.hashSeq = h, row.Seq
		case ref.hash != h && ref.conflict == nil:
			ref.conflict = &platform.ResultTamperError{Result: id, Event: row.Seq, HasEvent: true,
				Reason: fmt.Sprintf("the event records content hash %s, but the run event at index %d recorded %s for the same result", h, ref.hashSeq, ref.hash)}
		}
	}
	if e.Details["outcome"] == platform.RunNewResult && !ref.created {
		ref.created, ref.at, ref.atSeq = true, e.Time, row.Seq
		if c, err := strconv.Atoi(e.Details["column"]); err == nil {
			ref.column = c
		}
	}
}

// maxResultID is the largest result id, 0 when there is none.
func (s *Store) maxResultID(ctx context.Context) (int64, error) {
	var max sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(id) FROM results`).Scan(&max); err != nil {
		return 0, fmt.Errorf("sqlstore: verify results: %w", err)
	}
	return max.Int64, nil
}

// verifyResults checks every result row with id <= upto (the largest id
// before the log was sequenced and read) against the run events of the
// verified log, the first *platform.ResultTamperError it finds. size is the
// number of events the verification read: a result whose run event came
// later (written while verify ran) is counted in sum.ResultsNew, not
// failed.
func (s *Store) verifyResults(ctx context.Context, runs resultRuns, rc *resultCurrency, columns datasetColumns, upto int64, size uint64, sum *platform.AuditSummary) error {
	seen := make(map[int64]bool, len(runs))
	var next int64
	for {
		batch, err := s.resultBatch(ctx, next, upto)
		if err != nil {
			return err
		}
		for _, r := range batch {
			seen[r.ID] = true
			ref := runs[r.ID]
			if ref == nil {
				later, err := s.laterEvent(ctx, "results", []string{"run"}, r.Person, size, names("result", r.ID))
				if err != nil {
					return err
				}
				if later {
					sum.ResultsNew++
					continue
				}
				return &platform.ResultTamperError{Result: r.ID, Reason: "no run event in the audit log names this result: the row was inserted outside the runner"}
			}
			if ref.conflict != nil {
				return ref.conflict
			}
			if ref.created {
				if d := r.CreatedAt.Sub(ref.at); d < -time.Microsecond || d > time.Microsecond {
					return &platform.ResultTamperError{Result: r.ID, Event: ref.atSeq, HasEvent: true,
						Reason: fmt.Sprintf("created_at %s differs from the time %s of the event that created it", r.CreatedAt.UTC().Format(time.RFC3339Nano), ref.at.UTC().Format(time.RFC3339Nano))}
				}
			}
			if ref.hash != "" {
				if got := r.ContentHash(); got != ref.hash {
					return &platform.ResultTamperError{Result: r.ID, Event: ref.hashSeq, HasEvent: true,
						Reason: fmt.Sprintf("the stored row hashes to %s, but the run event recorded %s: the row was altered", got, ref.hash)}
				}
			}
			if col, ok := columns.of(r.DatasetID, r.Person); ok && ref.created && ref.column >= 0 && col != ref.column {
				return &platform.ResultTamperError{Result: r.ID, Event: ref.atSeq, HasEvent: true,
					Reason: fmt.Sprintf("it was computed from column %d of dataset %d, but the dataset's verified mapping gives the person column %d: the mapping was altered while it ran", ref.column, r.DatasetID, col)}
			}
			if te, err := s.checkCurrency(ctx, rc, r, size); err != nil || te != nil {
				if err != nil {
					return err
				}
				return te
			}
			if ref.hash == "" {
				sum.ResultsUnhashed++
				continue
			}
			sum.Results++
		}
		if len(batch) < auditBatch {
			break
		}
		next = batch[len(batch)-1].ID
	}
	// A result the log names must still be there. Its run event committed
	// with the row (or after it), so a result with id > upto (written after
	// upto was read, before the log was) is looked up: else deleting the
	// newest result would go unseen.
	var missing int64
	var ref *runRef
	for id, r := range runs {
		if seen[id] || (ref != nil && r.seq > ref.seq) {
			continue
		}
		if id > upto {
			ok, err := s.resultExists(ctx, id)
			if err != nil {
				return err
			}
			if ok {
				continue // checked next time
			}
		}
		missing, ref = id, r
	}
	if ref != nil {
		return &platform.ResultTamperError{Result: missing, Event: ref.seq, HasEvent: true, Reason: "the run event names this result, but no such row is stored: deleted"}
	}
	return nil
}

// resultExists reports whether result id is stored.
func (s *Store) resultExists(ctx context.Context, id int64) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM results WHERE id = ?`), id).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore: verify results: %w", err)
	}
	return n > 0, nil
}

// resultBatch reads result rows with after < id <= upto in id order: the
// stored columns result.ContentHash covers, and superseded_by.
func (s *Store) resultBatch(ctx context.Context, after, upto int64) ([]result.Result, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, person_id, algorithm_id, version_hash, input_fingerprint, dataset_id, trigger_kind, summary, category, output, created_at, duration_ms, worker, superseded_by
		FROM results WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`), after, upto, auditBatch)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: verify results: %w", err)
	}
	defer rows.Close()
	var out []result.Result
	for rows.Next() {
		var r result.Result
		var trig, output string
		var sup sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Person, &r.AlgorithmID, &r.VersionHash, &r.InputFingerprint, &r.DatasetID, &trig, &r.Summary, &r.Category, &output, &r.CreatedAt, &r.DurationMS, &r.Worker, &sup); err != nil {
			return nil, fmt.Errorf("sqlstore: verify results: %w", err)
		}
		r.SupersededBy = sup.Int64
		r.Trigger = result.Trigger(trig)
		r.Output = json.RawMessage(output)
		out = append(out, r)
	}
	return out, rows.Err()
}

// laterEvent reports whether an audit event of one of actions about
// person that match accepts was queued or sequenced after the first from
// events were read: a row written while verify ran, or committed out of id
// order on PostgreSQL. what names the check in errors.
func (s *Store) laterEvent(ctx context.Context, what string, actions []string, person string, from uint64, match func(audit.Event) bool) (bool, error) {
	in := "'" + strings.Join(actions, "', '") + "'" // constants of this package, never input
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT canonical FROM audit_events WHERE person_id = ? AND action IN (`+in+`) AND seq >= ?
		UNION ALL SELECT body FROM audit_pending WHERE person_id = ?`), person, clampSeq(from), person)
	if err != nil {
		return false, fmt.Errorf("sqlstore: verify %s: %w", what, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return false, fmt.Errorf("sqlstore: verify %s: %w", what, err)
		}
		if e, err := audit.ParseCanonical(b); err == nil && slices.Contains(actions, e.Action) && match(e) {
			found = true
		}
	}
	return found, rows.Err()
}

// names matches an event whose details name id under key.
func names(key string, id int64) func(audit.Event) bool {
	want := strconv.FormatInt(id, 10)
	return func(e audit.Event) bool { return e.Details[key] == want }
}
