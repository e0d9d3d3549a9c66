package audit

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"slices"

	"golang.org/x/mod/sumdb/note"
)

// Row is one stored audit row as a store reads it back.
type Row struct {
	Seq       uint64 // the store's sequence column
	Canonical []byte // Event.Canonical() as written
	LeafHash  []byte // LeafHash as written
}

// Rows adapts a slice for [Verify].
func Rows(rows []Row) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// TamperError reports evidence that the stored log was altered. Index is the
// first index at which the stored rows stop matching what was written:
// an edited row's index, the first missing seq after a deletion, or the first
// position holding the wrong row after a reorder.
type TamperError struct {
	Index  uint64
	Reason string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("audit: log tampered at index %d: %s", e.Index, e.Reason)
}

// CheckpointError reports a stored checkpoint that does not open under the
// log's key: the checkpoint table itself was altered (or the key is wrong).
// Position is the checkpoint's position in the slice given to Verify.
type CheckpointError struct {
	Position int
	Err      error
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("audit: stored checkpoint #%d: %v", e.Position, e.Err)
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// Verify audits a whole stored log, streaming rows in the order the store
// returns them (ORDER BY seq). For each row at position i it checks that
// seq == i, that the canonical bytes parse strictly and say Seq == i, and
// that the stored leaf hash equals the hash recomputed from the bytes. The
// running root is compared with every checkpoint's root when the log
// reaches that checkpoint's size; because each checkpoint root is recomputed
// from the same leaves, matching roots also prove every pair of checkpoints
// consistent.
//
// Detection limits, by design of any Merkle log: an edit that also rewrites
// the stored leaf hash is caught only by the first checkpoint covering it,
// and Verify then names the first index after the last checkpoint that
// still matched (the damage lies in [that index, checkpoint size)); rows
// appended after the newest checkpoint, and their deletion, are covered by
// nothing until the next checkpoint is signed.
//
// Errors: *TamperError for row evidence, *CheckpointError for a checkpoint
// that fails to open, ctx.Err() if cancelled, or a row-iterator error
// wrapped.
func Verify(ctx context.Context, rows iter.Seq2[Row, error], checkpoints [][]byte, v note.Verifier) error {
	cps := make([]Checkpoint, 0, len(checkpoints))
	for i, data := range checkpoints {
		cp, err := openCheckpoint(data, v)
		if err != nil {
			return &CheckpointError{Position: i, Err: err}
		}
		cps = append(cps, cp)
	}
	slices.SortStableFunc(cps, func(a, b Checkpoint) int {
		switch {
		case a.Size < b.Size:
			return -1
		case a.Size > b.Size:
			return 1
		}
		return 0
	})

	b := NewBuilder()
	var verifiedUpTo uint64 // size of the largest checkpoint that matched
	// check compares every checkpoint of exactly the builder's size.
	check := func() error {
		for len(cps) > 0 && cps[0].Size == b.Size() {
			if !bytes.Equal(cps[0].Root, b.Root()) {
				return &TamperError{Index: verifiedUpTo, Reason: fmt.Sprintf(
					"recomputed root at size %d differs from signed checkpoint; rows in [%d, %d) were altered",
					cps[0].Size, verifiedUpTo, cps[0].Size)}
			}
			verifiedUpTo = cps[0].Size
			cps = cps[1:]
		}
		return nil
	}
	if err := check(); err != nil { // size-0 checkpoints
		return err
	}
	for row, err := range rows {
		if err != nil {
			return fmt.Errorf("audit: verify: reading rows: %w", err)
		}
		i := b.Size()
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch {
		case row.Seq > i:
			return &TamperError{Index: i, Reason: fmt.Sprintf("seq %d missing (next stored row is %d): deleted or reordered", i, row.Seq)}
		case row.Seq < i:
			return &TamperError{Index: i, Reason: fmt.Sprintf("position %d holds seq %d: duplicated or reordered", i, row.Seq)}
		}
		e, err := parseCanonical(row.Canonical)
		if err != nil {
			return &TamperError{Index: i, Reason: fmt.Sprintf("canonical bytes do not parse: %v", err)}
		}
		if e.Seq != i {
			return &TamperError{Index: i, Reason: fmt.Sprintf("event bytes say seq %d: moved from another position", e.Seq)}
		}
		h := hashLeaf(row.Canonical)
		if !bytes.Equal(h, row.LeafHash) {
			return &TamperError{Index: i, Reason: "stored leaf hash does not match the canonical bytes: edited"}
		}
		if err := b.Append(h); err != nil {
			return fmt.Errorf("audit: verify: %w", err)
		}
		if err := check(); err != nil {
			return err
		}
	}
	if len(cps) > 0 {
		return &TamperError{Index: b.Size(), Reason: fmt.Sprintf(
			"signed checkpoint covers %d entries but only %d rows are stored: tail deleted", cps[len(cps)-1].Size, b.Size())}
	}
	return nil
}
