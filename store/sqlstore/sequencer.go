package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/geneguard/geneguard/audit"
)

// The audit sequencer: queue, then sequence (as Trillian does).
//
// tx.Audit only inserts the event, with seq 0 in its canonical bytes, into
// audit_pending inside the action's transaction: the event commits or rolls
// back with the action, and appenders take no log-wide lock, so their
// commits (and fsyncs) run in parallel. The sequencer then moves committed
// pending rows into audit_events in batches, one transaction per batch:
// under a lock that admits one sequencer at a time it reads the next seq,
// deletes up to sequenceBatch pending rows in id order (RETURNING them),
// gives each the next seq, re-encodes it with that seq inside the hashed
// bytes, hashes the leaf, and inserts the rows. A row from a transaction
// still open when a batch runs is simply not visible yet and is taken by a
// later batch (sequenced in the order rows become visible, never skipped:
// nothing is remembered between batches but the log itself). Since a batch
// commits atomically under the lock, the sequenced log is always a
// contiguous prefix, as the checkpoint signer requires.
//
// It runs every few hundred milliseconds in serve, worker and demo
// processes (RunAuditSequencer), and on demand before a checkpoint is
// signed, before verification, and before an access log is read. Until a
// row is sequenced it is not hashed: the window is documented in
// ARCHITECTURE.md decision 8.

// auditSeqLock admits one sequencer at a time on PostgreSQL. It is the
// advisory lock appenders took before the queue existed, so an older binary
// still appending directly would serialise with the sequencer rather than
// claim the same seq. (SQLite: BEGIN IMMEDIATE serialises writers.)
const auditSeqLock = 7263

// sequenceBatch is the most pending rows one sequencer transaction moves.
const sequenceBatch = 8192

// ErrAuditPending is wrapped when a pending event cannot be sequenced
// because its stored bytes are not a canonical event: the pending table
// was altered (or a bug wrote it). The sequencer stops at that row rather
// than drop it or guess, so it needs an operator; events before it are
// sequenced.
var ErrAuditPending = errors.New("pending audit event cannot be sequenced")

// errSequencerBusy: another sequencer holds the lock (try mode only).
var errSequencerBusy = errors.New("sqlstore: another audit sequencer is running")

// SequenceAudit sequences every pending event committed before it started
// (and any committed while it runs, up to a short batch), waiting for a
// sequencer running elsewhere to finish first. It returns how many events
// it sequenced. Never call it inside a transaction of this store (SQLite
// has one connection).
func (s *Store) SequenceAudit(ctx context.Context) (int, error) {
	return s.sequenceAudit(ctx, true)
}

// RunAuditSequencer sequences pending events every interval until ctx ends.
// Any number of processes may run it: a tick that finds another sequencer
// at work skips. An error goes to onErr (may be nil) when it first occurs
// or changes, not at every tick, and is retried at the next tick.
func (s *Store) RunAuditSequencer(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.sequenceAudit(ctx, false)
		switch {
		case err == nil || errors.Is(err, errSequencerBusy):
			last = ""
		case ctx.Err() != nil:
			return
		case err.Error() != last:
			last = err.Error()
			if onErr != nil {
				onErr(err)
			}
		}
	}
}

func (s *Store) sequenceAudit(ctx context.Context, wait bool) (int, error) {
	total := 0
	for {
		var n int
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			n, err = s.sequenceBatchTx(ctx, wait)
			if !retryable(err) {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
		}
		total += n
		if err != nil || n < sequenceBatch {
			return total, err
		}
	}
}

// pendingRow is one row taken from audit_pending.
type pendingRow struct {
	id   int64
	body []byte
}

func (s *Store) sequenceBatchTx(ctx context.Context, wait bool) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: audit sequencer: begin: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if wait {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditSeqLock); err != nil {
				return 0, fmt.Errorf("sqlstore: audit sequencer: lock: %w", err)
			}
		} else {
			var ok bool
			if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, auditSeqLock).Scan(&ok); err != nil {
				return 0, fmt.Errorf("sqlstore: audit sequencer: lock: %w", err)
			}
			if !ok {
				return 0, errSequencerBusy
			}
		}
	}
	// Under the lock (READ COMMITTED: each statement sees every commit
	// before it), so the seq read here is the log's end. The next seq never
	// goes below the latest checkpoint's size: were the signed tail
	// deleted, new events must not take over indices a signature covers
	// (verify then names the first missing one).
	var maxSeq, cpSize sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT MAX(seq) FROM audit_events), (SELECT MAX(size) FROM audit_checkpoints)`).Scan(&maxSeq, &cpSize); err != nil {
		return 0, fmt.Errorf("sqlstore: audit sequencer: log size: %w", err)
	}
	next := int64(0)
	if maxSeq.Valid {
		next = maxSeq.Int64 + 1
	}
	if cpSize.Valid && cpSize.Int64 > next {
		next = cpSize.Int64
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, body FROM audit_pending ORDER BY id LIMIT ?`), sequenceBatch)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: audit sequencer: read pending: %w", err)
	}
	var pend []pendingRow
	for rows.Next() {
		var p pendingRow
		if err := rows.Scan(&p.id, &p.body); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: audit sequencer: read pending: %w", err)
		}
		pend = append(pend, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: audit sequencer: read pending: %w", err)
	}
	if len(pend) == 0 {
		return 0, nil
	}

	out := sequencedRows{
		id:  make([]int64, 0, len(pend)),
		seq: make([]int64, 0, len(pend)), at: make([]time.Time, 0, len(pend)),
		person: make([]string, 0, len(pend)), action: make([]string, 0, len(pend)),
		canonical: make([][]byte, 0, len(pend)), leaf: make([][]byte, 0, len(pend)),
	}
	var bad error
	for i, p := range pend {
		ev, err := audit.ParseCanonical(p.body)
		if err == nil && ev.Seq != 0 {
			err = fmt.Errorf("queued with seq %d", ev.Seq)
		}
		if err != nil {
			// Sequence the rows before it; it stays, and stops every
			// later run, until an operator has looked at it.
			bad = fmt.Errorf("sqlstore: audit sequencer: %w: audit_pending id %d: %w", ErrAuditPending, p.id, err)
			break
		}
		ev.Seq = uint64(next) + uint64(i)
		c := ev.Canonical()
		out.id = append(out.id, p.id)
		out.seq = append(out.seq, int64(ev.Seq))
		out.at = append(out.at, ev.Time)
		out.person = append(out.person, ev.Person)
		out.action = append(out.action, ev.Action)
		out.canonical = append(out.canonical, c)
		out.leaf = append(out.leaf, auditHasher.HashLeaf(c))
	}
	if len(out.id) == 0 {
		return 0, bad
	}
	if err := s.insertSequenced(ctx, tx, out); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: audit sequencer: commit: %w", err)
	}
	if bad != nil {
		return len(out.id), bad
	}
	return len(out.id), nil
}

// sequencedRows are the pending ids taken and the audit_events columns
// made from them, one slice per column.
type sequencedRows struct {
	id             []int64
	seq            []int64
	at             []time.Time
	person, action []string
	canonical      [][]byte
	leaf           [][]byte
}

func (s *Store) insertSequenced(ctx context.Context, tx *sql.Tx, r sequencedRows) error {
	if len(r.seq) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		// One statement for the whole batch, whatever its size.
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (seq, at, person_id, action, canonical, leaf_hash)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::bytea[], $6::bytea[])`,
			r.seq, r.at, r.person, r.action, r.canonical, r.leaf); err != nil {
			return fmt.Errorf("sqlstore: audit sequencer: insert: %w", err)
		}
		// By id, not by range: a lower id committed since the read above
		// is not sequenced yet and must stay.
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_pending WHERE id = ANY($1::bigint[])`, r.id); err != nil {
			return fmt.Errorf("sqlstore: audit sequencer: delete pending: %w", err)
		}
		return nil
	}
	for start := 0; start < len(r.seq); start += 1000 {
		end := min(start+1000, len(r.seq))
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_events (seq, at, person_id, action, canonical, leaf_hash) VALUES `)
		args := make([]any, 0, 6*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, r.seq[i], r.at[i], r.person[i], r.action[i], r.canonical[i], r.leaf[i])
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: audit sequencer: insert: %w", err)
		}
		ids := make([]any, 0, end-start)
		for _, id := range r.id[start:end] {
			ids = append(ids, id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_pending WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...); err != nil {
			return fmt.Errorf("sqlstore: audit sequencer: delete pending: %w", err)
		}
	}
	return nil
}
