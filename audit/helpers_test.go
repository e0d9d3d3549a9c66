package audit_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/geneguard/geneguard/audit"
)

// memSource is an in-memory HashSource, standing in for a store.
type memSource [][]byte

func (m memSource) LeafHashes(_ context.Context, from, to uint64) ([][]byte, error) {
	if from > to || to > uint64(len(m)) {
		return nil, fmt.Errorf("range [%d, %d) outside log of %d", from, to, len(m))
	}
	return m[from:to], nil
}

// refLeaf and refRoot are a deliberately naive RFC 6962 §2.1 reference
// written from the definition (split at the largest power of two < n), used
// to cross-check the transparency-dev based implementation.
func refLeaf(d []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, d...))
	return h[:]
}

func refNode(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

func refRoot(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		return refNode(refRoot(leaves[:k]), refRoot(leaves[k:]))
	}
}

var baseTime = time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.UTC)

func sampleEvent(i int) audit.Event {
	actions := []string{"ingest", "run", "view", "consent.grant", "consent.withdraw", "algorithm.submit", "login", "break-glass"}
	e := audit.Event{
		Seq:         uint64(i),
		Time:        baseTime.Add(time.Duration(i) * time.Minute),
		Actor:       fmt.Sprintf("EE3800108571%d", i%10),
		Role:        "clinician",
		Person:      fmt.Sprintf("pz-%04d", i%7),
		Action:      actions[i%len(actions)],
		Object:      fmt.Sprintf("result/%d", 1000+i),
		Purpose:     "TREAT",
		RequestID:   fmt.Sprintf("req-%d", i),
		XRoadClient: "EE/GOV/70009770/digilugu",
		XRoadUser:   "EE38001085718",
	}
	if i%3 == 0 {
		e.Details = map[string]string{"algorithm": "cyp2c19@1.2.0", "trigger": "order-sign"}
	}
	return e
}

// buildLog appends n sample events and signs a checkpoint after each size in
// cpSizes (size 0 allowed).
func buildLog(t testing.TB, n int, cpSizes ...uint64) (rows []audit.Row, cps [][]byte, s *audit.Signer, vkey string) {
	t.Helper()
	skey, vkey := testKey(t)
	s, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]bool{}
	for _, c := range cpSizes {
		want[c] = true
	}
	b := audit.NewBuilder()
	sign := func() {
		if !want[b.Size()] {
			return
		}
		cp, err := s.SignCheckpoint(s.Origin(), b.Size(), b.Root())
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, cp)
	}
	sign()
	for i := range n {
		e := sampleEvent(i)
		rows = append(rows, audit.Row{Seq: e.Seq, Canonical: e.Canonical(), LeafHash: audit.LeafHash(e)})
		if err := b.Append(audit.LeafHash(e)); err != nil {
			t.Fatal(err)
		}
		sign()
	}
	return rows, cps, s, vkey
}

const (
	testSKey = "PRIVATE+KEY+geneguard.test/audit+7b719f0f+AZT+1IwbEgHASQadCy3UNvQSK3vZLN/gOdhy8CO+qqEA"
	testVKey = "geneguard.test/audit+7b719f0f+AWwakwrAK11roIrBJ6kEwS5vNUhEbtUxGr95CM4jY2Pn"
)

// testKey is a fixed key so signed outputs are reproducible (Ed25519 is
// deterministic). Generated once with audit.GenerateKey.
func testKey(t testing.TB) (skey, vkey string) {
	t.Helper()
	return testSKey, testVKey
}

// corpusDir returns ../shared/corpus/<sub> relative to the module root
// (found by walking up to go.mod), skipping the test if it is absent.
func corpusDir(t testing.TB, sub ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found; skipping corpus test")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "corpus"}, sub...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus %s absent (%v); skipping", p, err)
	}
	return p
}
