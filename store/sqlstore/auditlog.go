package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
)

// The audit log's read side and checkpoint signing (issue 6). Events are
// queued by tx.Audit inside each action's transaction and sequenced into
// audit_events by the sequencer (sequencer.go); everything here runs on
// its own, outside those transactions, and sees only sequenced events.
//
// Stored next to each checkpoint is the compact range at its size, so the
// next checkpoint hashes only the new events; and when a checkpoint is
// signed, every interior node of level auditNodeLevel or above that the new
// events completed is stored in audit_nodes, so a proof reads O(log n) rows
// plus at most two blocks of 2^auditNodeLevel leaf hashes. Both are derived
// data, checked against signed roots before they are relied on:
// SignCheckpoint resumes from the compact range only if it reproduces the
// signed root, receipts are self-checked against the signed checkpoint, and
// VerifyAudit recomputes both from the events. Altering them can therefore
// make signing or a receipt fail, never succeed falsely.

// auditNodeLevel is the lowest tree level whose node hashes are stored:
// 2^8 = 256 events per stored leaf-most node, about n/128 rows in all.
const auditNodeLevel = 8

// auditBatch is how many rows one read of the log fetches.
const auditBatch = 4096

// auditSignLock serialises checkpoint signers on PostgreSQL (sequencers
// serialise on auditSeqLock). SQLite serialises writers anyway.
const auditSignLock = 7264

var (
	auditHasher  = rfc6962.DefaultHasher
	auditRanges  = &compact.RangeFactory{Hash: auditHasher.HashChildren}
	errAuditSign = errors.New("sqlstore: sign checkpoint")
)

// ErrAuditState is wrapped by VerifyAudit when the events and checkpoints
// are intact but the derived signing state (audit_nodes, the compact
// column) disagrees with them: receipts or signing will fail until it is
// rebuilt. It is not evidence against the log itself.
var ErrAuditState = errors.New("derived audit state (audit_nodes / compact) does not match the verified events")

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// clampSeq converts a uint64 bound to the BIGINT seq column's range.
func clampSeq(x uint64) int64 { return int64(min(x, math.MaxInt64)) }

// AuditSize returns the number of sequenced events: one more than the
// largest seq. Pending events are not counted.
func (s *Store) AuditSize(ctx context.Context) (uint64, error) {
	return s.auditSize(ctx, s.db)
}

func (s *Store) auditSize(ctx context.Context, q querier) (uint64, error) {
	var max sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(seq) FROM audit_events`).Scan(&max); err != nil {
		return 0, fmt.Errorf("sqlstore: audit size: %w", err)
	}
	if !max.Valid || max.Int64 < 0 {
		return 0, nil
	}
	return uint64(max.Int64) + 1, nil
}

// AuditRows streams the stored rows with from <= seq < to in seq order, as
// audit.Verify wants them. It reads in batches and holds no connection
// between them, so the consumer may call the store meanwhile (on SQLite,
// whose pool has one connection, a held cursor would deadlock that).
func (s *Store) AuditRows(ctx context.Context, from, to uint64) iter.Seq2[audit.Row, error] {
	return func(yield func(audit.Row, error) bool) {
		next, end := clampSeq(from), clampSeq(to)
		for next < end {
			batch, err := s.auditBatch(ctx, s.db, next, end)
			if err != nil {
				yield(audit.Row{}, err)
				return
			}
			for _, r := range batch {
				if !yield(r, nil) {
					return
				}
			}
			if len(batch) < auditBatch {
				return
			}
			next = int64(batch[len(batch)-1].Seq) + 1
		}
	}
}

func (s *Store) auditBatch(ctx context.Context, q querier, from, to int64) ([]audit.Row, error) {
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT seq, canonical, leaf_hash FROM audit_events WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?`), from, to, auditBatch)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
	}
	defer rows.Close()
	out := make([]audit.Row, 0, 64)
	for rows.Next() {
		var r audit.Row
		var seq int64
		if err := rows.Scan(&seq, &r.Canonical, &r.LeafHash); err != nil {
			return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
		}
		r.Seq = uint64(seq)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
	}
	return out, nil
}

// LeafHashes implements audit.HashSource: the stored leaf hashes of
// [from, to). A missing row is a *audit.TamperError, since the caller asks
// only for entries a checkpoint (or the log size) says exist.
func (s *Store) LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	return s.leafHashes(ctx, s.db, from, to)
}

func (s *Store) leafHashes(ctx context.Context, q querier, from, to uint64) ([][]byte, error) {
	if to < from {
		return nil, fmt.Errorf("sqlstore: leaf hashes: bad range [%d, %d)", from, to)
	}
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT seq, leaf_hash FROM audit_events WHERE seq >= ? AND seq < ? ORDER BY seq`), clampSeq(from), clampSeq(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: leaf hashes: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, to-from)
	for rows.Next() {
		var seq int64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return nil, fmt.Errorf("sqlstore: leaf hashes: %w", err)
		}
		want := from + uint64(len(out))
		if uint64(seq) != want {
			return nil, &audit.TamperError{Index: want, Reason: fmt.Sprintf("seq %d missing (next stored row is %d)", want, seq)}
		}
		if len(h) != sha256.Size {
			return nil, &audit.TamperError{Index: want, Reason: fmt.Sprintf("stored leaf hash has %d bytes", len(h))}
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: leaf hashes: %w", err)
	}
	if got := from + uint64(len(out)); got != to {
		return nil, &audit.TamperError{Index: got, Reason: fmt.Sprintf("seq %d missing (rows end there, %d expected)", got, to)}
	}
	return out, nil
}

// NodeHashes implements audit.NodeSource, which makes audit.InclusionProof
// and audit.ConsistencyProof read stored subtree hashes instead of every
// leaf. Nodes below auditNodeLevel, and nodes no checkpoint has stored yet,
// are computed from leaf hashes.
func (s *Store) NodeHashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	stored, err := s.storedNodes(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	// Low nodes, grouped by the 2^auditNodeLevel-leaf block they lie in:
	// one leaf read per block (a proof touches at most two).
	blocks := map[uint64][]int{}
	for i, id := range ids {
		if h, ok := stored[id]; ok {
			out[i] = h
			continue
		}
		begin, _ := id.Coverage()
		blk := begin >> auditNodeLevel
		if id.Level >= auditNodeLevel {
			blk = math.MaxUint64 - uint64(i) // alone: a high node not stored yet
		}
		blocks[blk] = append(blocks[blk], i)
	}
	for _, idx := range blocks {
		lo, hi := uint64(math.MaxUint64), uint64(0)
		for _, i := range idx {
			b, e := ids[i].Coverage()
			lo, hi = min(lo, b), max(hi, e)
		}
		leaves, err := s.leafHashes(ctx, s.db, lo, hi)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			b, e := ids[i].Coverage()
			if out[i], err = subtreeHash(b, leaves[b-lo:e-lo]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// storedNodes looks up the ids at or above auditNodeLevel in audit_nodes.
func (s *Store) storedNodes(ctx context.Context, q querier, ids []compact.NodeID) (map[compact.NodeID][]byte, error) {
	out := map[compact.NodeID][]byte{}
	var want []compact.NodeID
	for _, id := range ids {
		if id.Level >= auditNodeLevel {
			want = append(want, id)
		}
	}
	for len(want) > 0 {
		n := min(len(want), 100)
		var where []string
		var args []any
		for _, id := range want[:n] {
			where = append(where, "(level = ? AND idx = ?)")
			args = append(args, int64(id.Level), int64(id.Index))
		}
		want = want[n:]
		rows, err := q.QueryContext(ctx, s.rebind(`SELECT level, idx, hash FROM audit_nodes WHERE `+strings.Join(where, " OR ")), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: audit nodes: %w", err)
		}
		for rows.Next() {
			var level, idx int64
			var h []byte
			if err := rows.Scan(&level, &idx, &h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: audit nodes: %w", err)
			}
			out[compact.NewNodeID(uint(level), uint64(idx))] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: audit nodes: %w", err)
		}
	}
	return out, nil
}

// subtreeHash hashes the leaves of one perfect subtree starting at begin.
func subtreeHash(begin uint64, leaves [][]byte) ([]byte, error) {
	r := auditRanges.NewEmptyRange(begin)
	for _, l := range leaves {
		if err := r.Append(l, nil); err != nil {
			return nil, err
		}
	}
	if hs := r.Hashes(); len(hs) == 1 {
		return hs[0], nil
	}
	return nil, fmt.Errorf("sqlstore: [%d, %d) is not a perfect subtree", begin, begin+uint64(len(leaves)))
}

func rangeRoot(r *compact.Range) []byte {
	if r.End() == 0 {
		return auditHasher.EmptyRoot()
	}
	root, err := r.GetRootHash(nil)
	if err != nil { // only for ranges not starting at 0
		panic(err)
	}
	return root
}

func joinHashes(hs [][]byte) []byte { return bytes.Join(hs, nil) }

func splitHashes(b []byte) ([][]byte, error) {
	if len(b)%sha256.Size != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of hashes", len(b))
	}
	var out [][]byte
	for ; len(b) > 0; b = b[sha256.Size:] {
		out = append(out, bytes.Clone(b[:sha256.Size]))
	}
	return out, nil
}

// HasCheckpoints reports whether any signed checkpoint is stored.
func (s *Store) HasCheckpoints(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM audit_checkpoints LIMIT 1) c`).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore: checkpoints: %w", err)
	}
	return n > 0, nil
}

// Checkpoints returns every stored signed checkpoint note, smallest first.
func (s *Store) Checkpoints(ctx context.Context) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT note FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: checkpoints: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var n []byte
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: checkpoints: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SignCheckpoint sequences the pending events (SequenceAudit), then signs
// a checkpoint over every sequenced event, stores it and returns the signed
// note. When no event was added since the latest checkpoint, it returns
// that checkpoint unchanged. A pending event that cannot be sequenced
// (ErrAuditPending) fails signing: it is evidence of tampering.
//
// It refuses to sign anything that might be inconsistent with the latest
// stored checkpoint: that checkpoint must open under v (so a row forged in
// audit_checkpoints cannot steer the signer), the stored compact range must
// reproduce its signed root, and each new event must be contiguous,
// canonical, and carry its own seq and leaf hash. The new tree is then the
// signed tree extended by the new leaves, consistent by construction.
// Errors: *audit.TamperError for a bad event row, platform.ErrInconsistent
// (wrapped) for bad checkpoint state. Checkpoints stored by an older
// version without a compact range are handled by rehashing from index 0.
//
// Signers are serialised (advisory lock on PostgreSQL); appenders and the
// sequencer are not blocked, and the events signed are the sequenced
// prefix committed when signing started reading.
func (s *Store) SignCheckpoint(ctx context.Context, signer *audit.Signer, v note.Verifier) ([]byte, error) {
	if signer.Origin() != v.Name() {
		return nil, fmt.Errorf("%w: signing key %q and verifier key %q name different logs", errAuditSign, signer.Origin(), v.Name())
	}
	if _, err := s.SequenceAudit(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", errAuditSign, err)
	}
	var out []byte
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		out, err = s.signCheckpointTx(ctx, signer, v)
		if !retryable(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return out, err
}

func (s *Store) signCheckpointTx(ctx context.Context, signer *audit.Signer, v note.Verifier) ([]byte, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: begin: %w", errAuditSign, err)
	}
	defer tx.Rollback()
	out, err := s.signCheckpoint(ctx, tx, signer, v)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%w: commit: %w", errAuditSign, err)
	}
	return out, nil
}

func (s *Store) signCheckpoint(ctx context.Context, tx *sql.Tx, signer *audit.Signer, v note.Verifier) ([]byte, error) {
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditSignLock); err != nil {
			return nil, fmt.Errorf("%w: lock: %w", errAuditSign, err)
		}
	}
	var (
		prevSize  int64
		prevNote  []byte
		prevState []byte
		havePrev  = true
	)
	err := tx.QueryRowContext(ctx, `SELECT size, note, compact FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&prevSize, &prevNote, &prevState)
	if errors.Is(err, sql.ErrNoRows) {
		havePrev = false
	} else if err != nil {
		return nil, fmt.Errorf("%w: latest checkpoint: %w", errAuditSign, err)
	}

	var nodes []storedNode
	visit := func(id compact.NodeID, h []byte) {
		if id.Level >= auditNodeLevel {
			nodes = append(nodes, storedNode{id, h})
		}
	}
	r := auditRanges.NewEmptyRange(0)
	if havePrev {
		cp, err := audit.OpenCheckpoint(prevNote, v)
		if err != nil {
			return nil, fmt.Errorf("%w: refusing: the latest stored checkpoint (size column %d) does not open under the log key: %w: %w", errAuditSign, prevSize, platform.ErrInconsistent, err)
		}
		if cp.Size != uint64(prevSize) {
			return nil, fmt.Errorf("%w: refusing: %w: the latest stored checkpoint says size %d but its size column says %d", errAuditSign, platform.ErrInconsistent, cp.Size, prevSize)
		}
		if prevState != nil {
			hs, err := splitHashes(prevState)
			if err == nil {
				r, err = auditRanges.NewRange(0, cp.Size, hs)
			}
			if err != nil || !bytes.Equal(rangeRoot(r), cp.Root) {
				return nil, fmt.Errorf("%w: refusing: %w: the stored compact range at size %d does not reproduce its signed root", errAuditSign, platform.ErrInconsistent, cp.Size)
			}
		} else {
			if err := s.extendRange(ctx, tx, r, cp.Size, visit); err != nil {
				return nil, err
			}
			if !bytes.Equal(rangeRoot(r), cp.Root) {
				return nil, &audit.TamperError{Index: 0, Reason: fmt.Sprintf("events [0, %d) no longer hash to the signed checkpoint of that size; refusing to sign", cp.Size)}
			}
		}
	}
	size, err := s.auditSize(ctx, tx)
	if err != nil {
		return nil, err
	}
	if havePrev && size == r.End() {
		return prevNote, nil
	}
	if size < r.End() {
		return nil, &audit.TamperError{Index: size, Reason: fmt.Sprintf("a checkpoint of size %d is signed but only %d events are stored: tail deleted; refusing to sign", r.End(), size)}
	}
	if err := s.extendRange(ctx, tx, r, size, visit); err != nil {
		return nil, err
	}
	root := rangeRoot(r)
	signed, err := signer.SignCheckpoint(signer.Origin(), size, root)
	if err != nil {
		return nil, err
	}
	// Never store a checkpoint that verify could not open.
	if _, err := audit.OpenCheckpoint(signed, v); err != nil {
		return nil, fmt.Errorf("%w: the signing key does not match the verifier key: %w", errAuditSign, err)
	}
	if err := s.insertNodes(ctx, tx, nodes); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_checkpoints (size, root, note, created_at, compact) VALUES (?, ?, ?, ?, ?)`),
		int64(size), root, signed, s.now(), joinHashes(r.Hashes())); err != nil {
		return nil, fmt.Errorf("%w: store: %w", errAuditSign, err)
	}
	return signed, nil
}

// extendRange appends the stored events [r.End(), to) to r, checking each
// row as audit.Verify does so that nothing malformed is ever signed.
func (s *Store) extendRange(ctx context.Context, q querier, r *compact.Range, to uint64, visit compact.VisitFn) error {
	for r.End() < to {
		batch, err := s.auditBatch(ctx, q, int64(r.End()), int64(to))
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return &audit.TamperError{Index: r.End(), Reason: fmt.Sprintf("seq %d missing (no later row below %d); refusing to sign", r.End(), to)}
		}
		for _, row := range batch {
			i := r.End()
			if row.Seq != i {
				return &audit.TamperError{Index: i, Reason: fmt.Sprintf("seq %d missing (next stored row is %d); refusing to sign", i, row.Seq)}
			}
			e, err := audit.ParseCanonical(row.Canonical)
			if err != nil {
				return &audit.TamperError{Index: i, Reason: fmt.Sprintf("canonical bytes do not parse: %v; refusing to sign", err)}
			}
			if e.Seq != i {
				return &audit.TamperError{Index: i, Reason: fmt.Sprintf("event bytes say seq %d; refusing to sign", e.Seq)}
			}
			if !bytes.Equal(auditHasher.HashLeaf(row.Canonical), row.LeafHash) {
				return &audit.TamperError{Index: i, Reason: "stored leaf hash does not match the canonical bytes; refusing to sign"}
			}
			if err := r.Append(bytes.Clone(row.LeafHash), visit); err != nil {
				return err
			}
		}
	}
	return nil
}

type storedNode struct {
	id   compact.NodeID
	hash []byte
}

func (s *Store) insertNodes(ctx context.Context, q querier, nodes []storedNode) error {
	for len(nodes) > 0 {
		n := min(len(nodes), 300)
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_nodes (level, idx, hash) VALUES `)
		args := make([]any, 0, 3*n)
		for i, nd := range nodes[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, int64(nd.id.Level), int64(nd.id.Index), nd.hash)
		}
		b.WriteString(` ON CONFLICT (level, idx) DO NOTHING`)
		if _, err := q.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
			return fmt.Errorf("%w: store nodes: %w", errAuditSign, err)
		}
		nodes = nodes[n:]
	}
	return nil
}

// Receipt returns an offline-verifiable receipt for event seq against the
// latest stored checkpoint, which must cover seq (else a CodeNotFound
// platform error saying so, wrapping ErrNotCheckpointed). An index past
// every event, sequenced or pending, is no event at all: CodeNotFound
// wrapping ErrNotFound, saying how many events the log has, rather than
// "not covered yet", which would send the caller to wait for a checkpoint
// that will never cover it. A stored event that no longer matches the
// signed log fails the receipt's self-check instead of producing a receipt.
func (s *Store) Receipt(ctx context.Context, seq uint64, v note.Verifier) (audit.Receipt, error) {
	if err := s.auditEventExists(ctx, seq); err != nil {
		return audit.Receipt{}, err
	}
	var n []byte
	err := s.db.QueryRowContext(ctx, `SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: "no audit checkpoint has been signed yet; receipts are available after the next one", Err: platform.ErrNotCheckpointed}
	}
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("sqlstore: receipt %d: %w", seq, err)
	}
	cp, err := audit.OpenCheckpoint(n, v)
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("sqlstore: receipt %d: latest checkpoint: %w", seq, err)
	}
	if seq >= cp.Size {
		return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: fmt.Sprintf("audit event %d is not covered by a signed checkpoint yet (the latest covers %d events); its receipt is available after the next one", seq, cp.Size), Err: platform.ErrNotCheckpointed}
	}
	var row audit.Row
	var got int64
	err = s.db.QueryRowContext(ctx, s.rebind(`SELECT seq, canonical, leaf_hash FROM audit_events WHERE seq = ?`), clampSeq(seq)).Scan(&got, &row.Canonical, &row.LeafHash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Receipt{}, &audit.TamperError{Index: seq, Reason: fmt.Sprintf("event %d is covered by the checkpoint of size %d but not stored: deleted", seq, cp.Size)}
	}
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("sqlstore: receipt %d: %w", seq, err)
	}
	row.Seq = uint64(got)
	return audit.NewReceipt(ctx, s, row, n, v)
}

// auditEventExists returns nil when index seq is an event's or will be
// one's once the pending events are sequenced (normally within 200 ms);
// otherwise a CodeNotFound error naming the log's size.
func (s *Store) auditEventExists(ctx context.Context, seq uint64) error {
	size, err := s.auditSize(ctx, s.db)
	if err != nil {
		return fmt.Errorf("sqlstore: receipt %d: %w", seq, err)
	}
	if seq < size {
		return nil
	}
	var pending uint64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_pending`).Scan(&pending); err != nil {
		return fmt.Errorf("sqlstore: receipt %d: pending events: %w", seq, err)
	}
	if seq < size+pending {
		return nil
	}
	has := "no events yet"
	switch {
	case size == 1:
		has = "1 event (index 0)"
	case size > 1:
		has = fmt.Sprintf("%d events (indexes 0 to %d)", size, size-1)
	}
	if pending > 0 {
		has += fmt.Sprintf(" and %d being sealed", pending)
	}
	return &platform.Error{Code: platform.CodeNotFound, Message: fmt.Sprintf("no audit event %d: the log has %s", seq, has), Err: platform.ErrNotFound}
}

// VerifyAudit recomputes the tree from every stored event and checks it
// against every stored checkpoint and the given external ones (see
// audit.Verify: *audit.TamperError names the first bad index,
// *audit.CheckpointError a stored checkpoint that does not open or whose
// size/root columns disagree with its signed text). With the log intact it
// also checks the derived signing state, reporting ErrAuditState.
//
// It sequences the pending events first, so that what was recorded is
// verified; a pending event that cannot be sequenced (ErrAuditPending) is
// reported after the sequenced log has been verified.
//
// Once the log verifies, every result row is checked against the run
// events naming it (resultcheck.go): its result.ContentHash must equal the
// recorded result_sha256, a new result's created_at the event's time, and
// every named result must exist; else a *platform.ResultTamperError naming
// the result and the event's index. Then every consent row is checked
// against the consent event that recorded it, and every consent event
// against its row (consentcheck.go); else a *platform.ConsentTamperError
// naming the consent row and the event's index. Then every dataset row and
// its sample mapping against its ingest event (datasetcheck.go); else a
// *platform.DatasetTamperError.
func (s *Store) VerifyAudit(ctx context.Context, v note.Verifier, external ...[]byte) (platform.AuditSummary, error) {
	var sum platform.AuditSummary
	// Results written from here on have their run events sequenced (or
	// queued) after this; only those up to upto must be named by the log.
	upto, err := s.maxResultID(ctx)
	if err != nil {
		return sum, err
	}
	consentUpto, err := s.maxConsentID(ctx)
	if err != nil {
		return sum, err
	}
	datasetUpto, err := s.maxDatasetID(ctx)
	if err != nil {
		return sum, err
	}
	_, seqErr := s.SequenceAudit(ctx)
	if seqErr != nil && !errors.Is(seqErr, ErrAuditPending) {
		return sum, fmt.Errorf("sqlstore: verify audit: %w", seqErr)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT size, root, note, compact FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return sum, fmt.Errorf("sqlstore: verify audit: %w", err)
	}
	runs := resultRuns{}
	currency := newResultCurrency()
	consents := newConsentLog()
	datasets := datasetLog{}
	var notes [][]byte
	states := map[uint64][]byte{}
	for rows.Next() {
		var size int64
		var root, n, state []byte
		if err := rows.Scan(&size, &root, &n, &state); err != nil {
			rows.Close()
			return sum, fmt.Errorf("sqlstore: verify audit: %w", err)
		}
		if v == nil {
			rows.Close()
			return sum, fmt.Errorf("sqlstore: verify audit: a signed checkpoint is stored: %w", platform.ErrNoVerifierKey)
		}
		cp, err := audit.OpenCheckpoint(n, v)
		if err != nil {
			rows.Close()
			return sum, &audit.CheckpointError{Position: len(notes), Err: err}
		}
		if cp.Size != uint64(size) || !bytes.Equal(cp.Root, root) {
			rows.Close()
			return sum, &audit.CheckpointError{Position: len(notes), Err: fmt.Errorf("%w: size/root columns (%d, %x) disagree with the signed note (%d, %x)", audit.ErrCheckpoint, size, root, cp.Size, cp.Root)}
		}
		if state != nil {
			states[cp.Size] = state
		}
		notes = append(notes, n)
		sum.Latest = cp
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("sqlstore: verify audit: %w", err)
	}
	stored, err := s.allNodes(ctx)
	if err != nil {
		return sum, err
	}

	// Recompute the derived state alongside audit.Verify, feeding each row
	// only after Verify has accepted it.
	var stateErr error
	r := auditRanges.NewEmptyRange(0)
	visit := func(id compact.NodeID, h []byte) {
		if id.Level < auditNodeLevel || stateErr != nil {
			return
		}
		if want, ok := stored[id]; ok && !bytes.Equal(want, h) {
			stateErr = fmt.Errorf("%w: stored node level %d index %d", ErrAuditState, id.Level, id.Index)
		}
	}
	checked := func(yield func(audit.Row, error) bool) {
		for row, err := range s.indexedRows(ctx) {
			if !yield(row.Row, err) || err != nil {
				return
			}
			// Verify accepted the row; now its plain columns.
			if err := row.check(); err != nil {
				yield(audit.Row{}, err)
				return
			}
			runs.note(row)
			currency.note(row)
			consents.note(row)
			datasets.note(row)
			if err := r.Append(bytes.Clone(row.LeafHash), visit); err != nil {
				stateErr = err
			}
			if st, ok := states[r.End()]; ok && stateErr == nil && !bytes.Equal(st, joinHashes(r.Hashes())) {
				stateErr = fmt.Errorf("%w: compact range of the checkpoint at size %d", ErrAuditState, r.End())
			}
		}
	}
	all := append(append([][]byte(nil), notes...), external...)
	if err := audit.Verify(ctx, checked, all, v); err != nil {
		var te *audit.TamperError
		if errors.As(err, &te) {
			return sum, te // also when it came from indexedRow.check
		}
		var ce *audit.CheckpointError
		if errors.As(err, &ce) && ce.Position >= len(notes) {
			return sum, fmt.Errorf("sqlstore: verify audit: external checkpoint %d: %w", ce.Position-len(notes)+1, ce.Err)
		}
		return sum, err
	}
	// Every checkpoint is stored when signed, so one kept outside that is
	// larger than the latest stored one means signed checkpoints were
	// deleted from the database (the events they covered still verify,
	// but nothing stored vouches for them any more).
	for i, n := range external {
		cp, err := audit.OpenCheckpoint(n, v)
		if err != nil {
			return sum, fmt.Errorf("sqlstore: verify audit: external checkpoint %d: %w", i+1, err)
		}
		if cp.Size > sum.Latest.Size {
			return sum, fmt.Errorf("sqlstore: verify audit: %w: a checkpoint kept outside the database covers %d events, but the latest stored checkpoint covers %d: signed checkpoints were deleted from the database", ErrCheckpointsDeleted, cp.Size, sum.Latest.Size)
		}
	}
	// The log is intact; now the results it vouches for.
	// Datasets first: results are checked against their verified mappings.
	columns := datasetColumns{}
	if err := s.verifyDatasets(ctx, datasets, datasetUpto, r.End(), &sum, columns); err != nil {
		return sum, err
	}
	if err := s.verifyResults(ctx, runs, currency, columns, upto, r.End(), &sum); err != nil {
		return sum, err
	}
	if err := s.verifyConsents(ctx, consents, consentUpto, r.End(), &sum); err != nil {
		return sum, err
	}
	if stateErr != nil {
		return sum, fmt.Errorf("sqlstore: verify audit: %w", stateErr)
	}
	if seqErr != nil {
		return sum, fmt.Errorf("sqlstore: verify audit: the sequenced log verifies, but: %w", seqErr)
	}
	sum.Events = r.End()
	sum.Root = rangeRoot(r)
	sum.Checkpoints = len(notes)
	sum.External = len(external)
	return sum, nil
}

// ErrCheckpointsDeleted: a checkpoint kept outside the database is newer
// than every stored one.
var ErrCheckpointsDeleted = errors.New("stored checkpoints are missing")

func (s *Store) allNodes(ctx context.Context) (map[compact.NodeID][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT level, idx, hash FROM audit_nodes`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit nodes: %w", err)
	}
	defer rows.Close()
	out := map[compact.NodeID][]byte{}
	for rows.Next() {
		var level, idx int64
		var h []byte
		if err := rows.Scan(&level, &idx, &h); err != nil {
			return nil, fmt.Errorf("sqlstore: audit nodes: %w", err)
		}
		out[compact.NewNodeID(uint(level), uint64(idx))] = h
	}
	return out, rows.Err()
}

// indexedRow is a stored row with the plain columns that index it: they
// are outside the hashed bytes, so VerifyAudit checks them against the
// canonical event, or re-filing a row under another person (hiding it from
// that person's access log) would go unnoticed.
type indexedRow struct {
	audit.Row
	person, action string
	at             time.Time
}

// check compares the plain columns with the hashed event. A row whose
// bytes do not parse is left to audit.Verify, which names the reason.
func (r indexedRow) check() error {
	e, err := audit.ParseCanonical(r.Canonical)
	if err != nil {
		return nil
	}
	// PostgreSQL keeps microseconds (rounded); the event has nanoseconds.
	d := r.at.Sub(e.Time)
	switch {
	case r.person != e.Person:
		return &audit.TamperError{Index: r.Seq, Reason: fmt.Sprintf("person_id column %q disagrees with the hashed event's person %q: re-filed", r.person, e.Person)}
	case r.action != e.Action:
		return &audit.TamperError{Index: r.Seq, Reason: fmt.Sprintf("action column %q disagrees with the hashed event's action %q", r.action, e.Action)}
	case d < -time.Microsecond || d > time.Microsecond:
		return &audit.TamperError{Index: r.Seq, Reason: fmt.Sprintf("at column %s disagrees with the hashed event's time %s", r.at.UTC().Format(time.RFC3339Nano), e.Time.Format(time.RFC3339Nano))}
	}
	return nil
}

// indexedRows is AuditRows over every row, with the index columns.
func (s *Store) indexedRows(ctx context.Context) iter.Seq2[indexedRow, error] {
	return func(yield func(indexedRow, error) bool) {
		var next int64
		for {
			batch, err := s.indexedBatch(ctx, next)
			if err != nil {
				yield(indexedRow{}, err)
				return
			}
			for _, r := range batch {
				if !yield(r, nil) {
					return
				}
			}
			if len(batch) < auditBatch {
				return
			}
			next = int64(batch[len(batch)-1].Seq) + 1
		}
	}
}

func (s *Store) indexedBatch(ctx context.Context, from int64) ([]indexedRow, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT seq, canonical, leaf_hash, person_id, action, at FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?`), from, auditBatch)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
	}
	defer rows.Close()
	var out []indexedRow
	for rows.Next() {
		var r indexedRow
		var seq int64
		if err := rows.Scan(&seq, &r.Canonical, &r.LeafHash, &r.person, &r.action, &r.at); err != nil {
			return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
		}
		r.Seq = uint64(seq)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit rows: %w", err)
	}
	return out, nil
}
