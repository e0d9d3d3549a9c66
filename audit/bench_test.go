package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/geneguard/geneguard/audit"
)

func BenchmarkBuilderAppend(b *testing.B) {
	leaves := leavesN(1 << 12)
	bl := audit.NewBuilder()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := bl.Append(leaves[i%len(leaves)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuilderAppendRoot is what a store does per audited action: one
// append plus the new root for the next checkpoint.
func BenchmarkBuilderAppendRoot(b *testing.B) {
	leaves := leavesN(1 << 12)
	bl := audit.NewBuilder()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := bl.Append(leaves[i%len(leaves)]); err != nil {
			b.Fatal(err)
		}
		_ = bl.Root()
	}
}

func BenchmarkLeafHash(b *testing.B) {
	e := sampleEvent(3)
	b.ReportAllocs()
	for b.Loop() {
		_ = audit.LeafHash(e)
	}
}

// BenchmarkInclusionProof measures proof generation from leaves only (no
// stored subtree hashes), i.e. the O(size) path used until tiles exist.
func BenchmarkInclusionProof(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{1 << 10, 1 << 14, 1 << 17} {
		src := memSource(leavesN(size))
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				idx := uint64(i*7919) % uint64(size)
				if _, err := audit.InclusionProof(ctx, src, idx, uint64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	const n = 1 << 12
	rows, cps, _, _ := buildLog(b, n, 1<<10, 1<<11, n)
	b.ReportAllocs()
	for b.Loop() {
		if err := audit.Verify(ctx, audit.Rows(rows), cps, v); err != nil {
			b.Fatal(err)
		}
	}
}
