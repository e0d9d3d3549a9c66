package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	tlogproof "github.com/transparency-dev/formats/proof"

	"github.com/geneguard/geneguard/audit"
)

func TestReceiptRoundTrip(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	const n = 20
	rows, cps, _, _ := buildLog(t, n, n)
	src := make(memSource, n)
	for i, r := range rows {
		src[i] = r.LeafHash
	}
	for _, row := range rows {
		r, err := audit.NewReceipt(ctx, src, row, cps[0], v)
		if err != nil {
			t.Fatalf("NewReceipt(%d): %v", row.Seq, err)
		}
		// What the patient downloads is JSON; verify what comes back.
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got audit.Receipt
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("JSON round trip (-want +got):\n%s", diff)
		}
		if err := audit.VerifyReceipt(got, testVKey); err != nil {
			t.Errorf("VerifyReceipt(%d): %v", row.Seq, err)
		}

		// The C2SP tlog-proof rendering parses back to the same proof.
		tp, err := r.TLogProof()
		if err != nil {
			t.Fatal(err)
		}
		var parsed tlogproof.TLogProof
		if err := parsed.Unmarshal(tp); err != nil {
			t.Fatalf("tlog-proof Unmarshal: %v", err)
		}
		var hashes [][]byte
		for _, h := range parsed.Hashes {
			hashes = append(hashes, h[:])
		}
		if diff := cmp.Diff(r.Proof, hashes); parsed.Index != r.Index || diff != "" || string(parsed.Checkpoint) != r.Checkpoint {
			t.Errorf("tlog-proof round trip: index %d/%d, checkpoint equal %v, proof diff:\n%s",
				parsed.Index, r.Index, string(parsed.Checkpoint) == r.Checkpoint, diff)
		}
	}
}

func TestVerifyReceiptRejects(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	const n = 13
	rows, cps, s, _ := buildLog(t, n, 9, n)
	src := make(memSource, n)
	for i, r := range rows {
		src[i] = r.LeafHash
	}
	good, err := audit.NewReceipt(ctx, src, rows[5], cps[1], v)
	if err != nil {
		t.Fatal(err)
	}
	_, otherVKey, _ := audit.GenerateKey(s.Origin())
	forkCP, _ := s.SignCheckpoint(s.Origin(), n, refRoot(leavesN(n)))

	clone := func(r audit.Receipt) audit.Receipt {
		r.Event = slices.Clone(r.Event)
		r.Proof = slices.Clone(r.Proof)
		for i := range r.Proof {
			r.Proof[i] = slices.Clone(r.Proof[i])
		}
		return r
	}
	tests := []struct {
		name   string
		mutate func(r *audit.Receipt)
		vkey   string
	}{
		{"event edited", func(r *audit.Receipt) {
			e, _ := audit.ParseCanonical(r.Event)
			e.Purpose = "RESEARCH"
			r.Event = e.Canonical()
		}, testVKey},
		{"event swapped for another row", func(r *audit.Receipt) { r.Event = rows[6].Canonical }, testVKey},
		{"index changed", func(r *audit.Receipt) { r.Index = 6 }, testVKey},
		{"index beyond checkpoint", func(r *audit.Receipt) { r.Index = n }, testVKey},
		{"proof bit flipped", func(r *audit.Receipt) { r.Proof[1][0] ^= 1 }, testVKey},
		{"proof truncated", func(r *audit.Receipt) { r.Proof = r.Proof[:len(r.Proof)-1] }, testVKey},
		{"proof extended", func(r *audit.Receipt) { r.Proof = append(r.Proof, r.Proof[0]) }, testVKey},
		{"older checkpoint, proof for newer", func(r *audit.Receipt) { r.Checkpoint = string(cps[0]) }, testVKey},
		{"forked checkpoint", func(r *audit.Receipt) { r.Checkpoint = string(forkCP) }, testVKey},
		{"wrong vkey", func(r *audit.Receipt) {}, otherVKey},
		{"garbage vkey", func(r *audit.Receipt) {}, "not a key"},
		{"non-canonical event", func(r *audit.Receipt) { r.Event = append(r.Event, ' ') }, testVKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clone(good)
			tt.mutate(&r)
			if err := audit.VerifyReceipt(r, tt.vkey); err == nil {
				t.Error("VerifyReceipt accepted a bad receipt")
			}
		})
	}
	if err := audit.VerifyReceipt(good, testVKey); err != nil {
		t.Errorf("mutations leaked into the original: %v", err)
	}
}

func TestNewReceiptErrors(t *testing.T) {
	ctx := context.Background()
	v, _ := audit.NewVerifier(testVKey)
	rows, cps, _, _ := buildLog(t, 4, 4)
	src := memSource{rows[0].LeafHash, rows[1].LeafHash, rows[2].LeafHash, rows[3].LeafHash}
	if _, err := audit.NewReceipt(ctx, src, rows[1], []byte("junk"), v); !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("junk checkpoint: err = %v, want ErrCheckpoint", err)
	}
	// A store bug (row bytes not matching its leaf hash) must not produce a receipt.
	bad := rows[1]
	bad.Canonical = rows[2].Canonical
	if _, err := audit.NewReceipt(ctx, src, bad, cps[0], v); err == nil {
		t.Error("NewReceipt built a receipt that cannot verify")
	}
}
