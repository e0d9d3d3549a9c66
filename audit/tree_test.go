package audit_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/geneguard/geneguard/audit"
)

func leavesN(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = refLeaf([]byte(fmt.Sprintf("leaf %d", i)))
	}
	return out
}

func TestRootMatchesReference(t *testing.T) {
	empty := sha256.Sum256(nil)
	if diff := cmp.Diff(empty[:], audit.Root(nil)); diff != "" {
		t.Errorf("Root(empty) (-want +got):\n%s", diff)
	}
	all := leavesN(70)
	b := audit.NewBuilder()
	for n := 0; n <= len(all); n++ {
		want := refRoot(all[:n])
		if diff := cmp.Diff(want, audit.Root(all[:n])); diff != "" {
			t.Errorf("Root(%d) (-want +got):\n%s", n, diff)
		}
		if got := b.Size(); got != uint64(n) {
			t.Errorf("Builder.Size() = %d, want %d", got, n)
		}
		if diff := cmp.Diff(want, b.Root()); diff != "" {
			t.Errorf("Builder.Root() at %d (-want +got):\n%s", n, diff)
		}
		// A store persisting (size, Hashes) can resume and continue.
		r, err := audit.ResumeBuilder(b.Size(), b.Hashes())
		if err != nil {
			t.Fatalf("ResumeBuilder(%d): %v", n, err)
		}
		if n < len(all) {
			if err := b.Append(all[n]); err != nil {
				t.Fatal(err)
			}
			if err := r.Append(all[n]); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b.Root(), r.Root()); diff != "" {
				t.Errorf("resumed builder diverged at %d (-want +got):\n%s", n+1, diff)
			}
		}
	}
}

func TestBuilderRejectsBadInput(t *testing.T) {
	if err := audit.NewBuilder().Append([]byte("short")); err == nil {
		t.Error("Append(short hash) = nil error")
	}
	if _, err := audit.ResumeBuilder(3, [][]byte{make([]byte, 32)}); err == nil {
		t.Error("ResumeBuilder(3, 1 hash) = nil error; size 3 needs 2 hashes")
	}
	if _, err := audit.ResumeBuilder(1, [][]byte{[]byte("x")}); err == nil {
		t.Error("ResumeBuilder with short hash = nil error")
	}
}

// nodeSrc implements audit.NodeSource from the reference tree, standing in
// for a store that keeps subtree hashes (tiles).
type nodeSrc struct {
	memSource
	calls int
}

func (n *nodeSrc) NodeHashes(_ context.Context, ids []compact.NodeID) ([][]byte, error) {
	n.calls++
	out := make([][]byte, len(ids))
	for i, id := range ids {
		b, e := id.Coverage()
		out[i] = refRoot(n.memSource[b:e])
	}
	return out, nil
}

func TestProofsAllSizes(t *testing.T) {
	ctx := context.Background()
	all := leavesN(40)
	src := memSource(all)
	ns := &nodeSrc{memSource: src}
	for size := uint64(1); size <= uint64(len(all)); size++ {
		root := refRoot(all[:size])
		for i := uint64(0); i < size; i++ {
			p, err := audit.InclusionProof(ctx, src, i, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
			}
			if err := audit.VerifyInclusion(i, size, all[i], p, root); err != nil {
				t.Errorf("VerifyInclusion(%d, %d): %v", i, size, err)
			}
			p2, err := audit.InclusionProof(ctx, ns, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, p2); diff != "" {
				t.Errorf("NodeSource proof differs for (%d, %d) (-leaves +nodes):\n%s", i, size, diff)
			}
		}
		for s1 := uint64(0); s1 <= size; s1++ {
			p, err := audit.ConsistencyProof(ctx, src, s1, size)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", s1, size, err)
			}
			if err := audit.VerifyConsistency(s1, size, p, refRoot(all[:s1]), root); err != nil {
				t.Errorf("VerifyConsistency(%d, %d): %v", s1, size, err)
			}
			if s1 > 0 && s1 < size {
				if err := audit.VerifyConsistency(s1, size, p, refRoot(all[1:s1+1]), root); err == nil {
					t.Errorf("VerifyConsistency(%d, %d) accepted a wrong root1", s1, size)
				}
			}
		}
	}
	if ns.calls == 0 {
		t.Error("NodeSource was never used")
	}
}

type failSource struct{ err error }

func (f failSource) LeafHashes(context.Context, uint64, uint64) ([][]byte, error) { return nil, f.err }

type shortSource struct{ memSource }

func (s shortSource) LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	h, err := s.memSource.LeafHashes(ctx, from, to)
	if len(h) > 0 {
		h = h[1:]
	}
	return h, err
}

func TestProofErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("db down")
	tests := []struct {
		name    string
		run     func() error
		wantErr error
	}{
		{"index out of range", func() error { _, err := audit.InclusionProof(ctx, memSource(leavesN(4)), 4, 4); return err }, nil},
		{"size1 > size2", func() error { _, err := audit.ConsistencyProof(ctx, memSource(leavesN(4)), 4, 3); return err }, nil},
		{"source error wrapped", func() error { _, err := audit.InclusionProof(ctx, failSource{boom}, 0, 4); return err }, boom},
		{"short source", func() error {
			_, err := audit.InclusionProof(ctx, shortSource{memSource(leavesN(8))}, 0, 8)
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("got nil error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
		})
	}
}

// TestBuilderCopiesInput guards against stores that reuse a scan buffer.
func TestBuilderCopiesInput(t *testing.T) {
	all := leavesN(3)
	b := audit.NewBuilder()
	buf := make([]byte, 32)
	for _, l := range all {
		copy(buf, l)
		if err := b.Append(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i := range buf {
		buf[i] = 0xff
	}
	if diff := cmp.Diff(refRoot(all), b.Root()); diff != "" {
		t.Errorf("root changed with caller's buffer (-want +got):\n%s", diff)
	}
}

func TestVerifyErrorIsReadable(t *testing.T) {
	all := leavesN(4)
	p, err := audit.InclusionProof(context.Background(), memSource(all), 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	err = audit.VerifyInclusion(1, 4, all[1], p, all[0])
	var m proof.RootMismatchError
	if !errors.As(err, &m) {
		t.Fatalf("error %v does not wrap proof.RootMismatchError", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("multi-line error: %q", err)
	}
}
