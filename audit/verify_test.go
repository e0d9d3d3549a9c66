package audit_test

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/audit"
)

// everySize lists checkpoint sizes 0..n, i.e. a checkpoint after every append.
func everySize(n int) []uint64 {
	out := make([]uint64, n+1)
	for i := range out {
		out[i] = uint64(i)
	}
	return out
}

func TestVerifyIntact(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	tests := []struct {
		name    string
		n       int
		cpSizes []uint64
	}{
		{"empty log, no checkpoints", 0, nil},
		{"empty log, size-0 checkpoint", 0, []uint64{0}},
		{"20 events, checkpoint every append", 20, everySize(20)},
		{"20 events, sparse checkpoints", 20, []uint64{1, 8, 13, 20}},
		{"20 events, rows after last checkpoint", 20, []uint64{16}},
		{"20 events, no checkpoints", 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, cps, _, _ := buildLog(t, tt.n, tt.cpSizes...)
			// Checkpoint order in storage must not matter.
			slices.Reverse(cps)
			if err := audit.Verify(ctx, audit.Rows(rows), cps, v); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyNamesFirstBadIndex(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	const n = 20

	// reencode builds the row a careful attacker would write for e at seq i:
	// fresh canonical bytes and a matching leaf hash.
	reencode := func(e audit.Event) audit.Row {
		return audit.Row{Seq: e.Seq, Canonical: e.Canonical(), LeafHash: audit.LeafHash(e)}
	}

	tests := []struct {
		name    string
		cpSizes []uint64
		mutate  func(rows []audit.Row) []audit.Row
		want    uint64
	}{
		{
			name:    "edited bytes, stale leaf hash",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				e, _ := audit.ParseCanonical(rows[7].Canonical)
				e.Purpose = "RESEARCH"
				rows[7].Canonical = e.Canonical()
				return rows
			},
			want: 7,
		},
		{
			name:    "edited bytes and leaf hash, checkpoint every append",
			cpSizes: everySize(n),
			mutate: func(rows []audit.Row) []audit.Row {
				e, _ := audit.ParseCanonical(rows[11].Canonical)
				e.Actor = "someone-else"
				rows[11] = reencode(e)
				return rows
			},
			want: 11,
		},
		{
			name:    "edited bytes and leaf hash, sparse checkpoints",
			cpSizes: []uint64{5, 10, 15, 20},
			mutate: func(rows []audit.Row) []audit.Row {
				e, _ := audit.ParseCanonical(rows[12].Canonical)
				e.Action = "view"
				rows[12] = reencode(e)
				return rows
			},
			want: 10, // damage lies in [10, 15): first index after the last good checkpoint
		},
		{
			name:    "non-canonical bytes (whitespace)",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows[4].Canonical = append([]byte(" "), rows[4].Canonical...)
				return rows
			},
			want: 4,
		},
		{
			name:    "leaf hash column edited",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows[0].LeafHash = bytes.Repeat([]byte{1}, 32)
				return rows
			},
			want: 0,
		},
		{
			name:    "deleted row",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				return slices.Delete(rows, 9, 10)
			},
			want: 9,
		},
		{
			name:    "deleted several rows",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				return slices.Delete(rows, 3, 6)
			},
			want: 3,
		},
		{
			name:    "deleted tail covered by a checkpoint",
			cpSizes: []uint64{10, n},
			mutate: func(rows []audit.Row) []audit.Row {
				return rows[:17]
			},
			want: 17,
		},
		{
			name:    "deleted then renumbered",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows = slices.Delete(rows, 6, 7)
				for i := 6; i < len(rows); i++ {
					rows[i].Seq = uint64(i)
				}
				return rows
			},
			want: 6, // bytes at position 6 still say seq 7
		},
		{
			name:    "deleted, renumbered and re-encoded",
			cpSizes: everySize(n),
			mutate: func(rows []audit.Row) []audit.Row {
				rows = slices.Delete(rows, 6, 7)
				for i := 6; i < len(rows); i++ {
					e, _ := audit.ParseCanonical(rows[i].Canonical)
					e.Seq = uint64(i)
					rows[i] = reencode(e)
				}
				return rows
			},
			want: 6,
		},
		{
			name:    "two rows swapped (seq column moved with them)",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows[3], rows[14] = rows[14], rows[3]
				return rows
			},
			want: 3,
		},
		{
			name:    "two rows' contents swapped, seq column kept",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows[5].Canonical, rows[8].Canonical = rows[8].Canonical, rows[5].Canonical
				rows[5].LeafHash, rows[8].LeafHash = rows[8].LeafHash, rows[5].LeafHash
				return rows
			},
			want: 5,
		},
		{
			name:    "reordered and re-encoded to fit",
			cpSizes: everySize(n),
			mutate: func(rows []audit.Row) []audit.Row {
				a, _ := audit.ParseCanonical(rows[15].Canonical)
				b, _ := audit.ParseCanonical(rows[16].Canonical)
				a.Seq, b.Seq = 16, 15
				rows[15], rows[16] = reencode(b), reencode(a)
				return rows
			},
			want: 15,
		},
		{
			name:    "row inserted",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				return slices.Insert(rows, 2, rows[1])
			},
			want: 2,
		},
		{
			name:    "last row truncated",
			cpSizes: []uint64{n},
			mutate: func(rows []audit.Row) []audit.Row {
				rows[n-1].Canonical = rows[n-1].Canonical[:len(rows[n-1].Canonical)-1]
				return rows
			},
			want: n - 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, cps, _, _ := buildLog(t, n, tt.cpSizes...)
			if err := audit.Verify(ctx, audit.Rows(rows), cps, v); err != nil {
				t.Fatalf("intact log: Verify: %v", err)
			}
			rows = tt.mutate(rows)
			err := audit.Verify(ctx, audit.Rows(rows), cps, v)
			var te *audit.TamperError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %v, want *TamperError", err)
			}
			if diff := cmp.Diff(tt.want, te.Index); diff != "" {
				t.Errorf("TamperError.Index (-want +got):\n%s\nreason: %s", diff, te.Reason)
			}
		})
	}
}

func TestVerifyCheckpointErrors(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	rows, cps, _, _ := buildLog(t, 6, 2, 4, 6)
	forged := bytes.Replace(cps[1], []byte("\n4\n"), []byte("\n5\n"), 1)
	err := audit.Verify(ctx, audit.Rows(rows), [][]byte{cps[0], forged, cps[2]}, v)
	var ce *audit.CheckpointError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify = %v, want *CheckpointError", err)
	}
	if ce.Position != 1 || !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("CheckpointError = %+v, want position 1 wrapping ErrCheckpoint", ce)
	}

	// A validly signed checkpoint from a forked history: same key, other root.
	s, _ := audit.NewSigner(testSKey)
	fork, _ := s.SignCheckpoint(s.Origin(), 4, refRoot(leavesN(4)))
	err = audit.Verify(ctx, audit.Rows(rows), [][]byte{cps[0], fork}, v)
	var te *audit.TamperError
	if !errors.As(err, &te) || te.Index != 2 {
		t.Errorf("Verify with forked checkpoint = %v, want TamperError at 2", err)
	}
}

func TestVerifyIteratorAndContext(t *testing.T) {
	v, _ := audit.NewVerifier(testVKey)
	rows, cps, _, _ := buildLog(t, 3, 3)
	boom := errors.New("scan failed")
	failing := func(yield func(audit.Row, error) bool) {
		if !yield(rows[0], nil) {
			return
		}
		yield(audit.Row{}, boom)
	}
	if err := audit.Verify(context.Background(), iter.Seq2[audit.Row, error](failing), cps, v); !errors.Is(err, boom) {
		t.Errorf("Verify with failing iterator = %v, want %v", err, boom)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := audit.Verify(ctx, audit.Rows(rows), cps, v); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with cancelled ctx = %v, want context.Canceled", err)
	}
}
