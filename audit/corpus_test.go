package audit_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/geneguard/geneguard/audit"
)

// merkleVector is the union of transparency-dev/merkle's proofgen JSON
// inclusion and consistency vectors; []byte fields decode from base64.
type merkleVector struct {
	LeafIdx  *uint64  `json:"leafIdx"`
	TreeSize uint64   `json:"treeSize"`
	Root     []byte   `json:"root"`
	LeafHash []byte   `json:"leafHash"`
	Size1    uint64   `json:"size1"`
	Size2    uint64   `json:"size2"`
	Root1    []byte   `json:"root1"`
	Root2    []byte   `json:"root2"`
	Proof    [][]byte `json:"proof"`
	Desc     string   `json:"desc"`
	WantErr  bool     `json:"wantErr"`
}

func (v merkleVector) inclusion() bool { return v.LeafIdx != nil }

func (v merkleVector) verify() error {
	if v.inclusion() {
		return audit.VerifyInclusion(*v.LeafIdx, v.TreeSize, v.LeafHash, v.Proof, v.Root)
	}
	return audit.VerifyConsistency(v.Size1, v.Size2, v.Proof, v.Root1, v.Root2)
}

// rfc6962Leaves are the leaf inputs of the merkle testdata tree (hex).
var rfc6962Leaves = []string{"", "00", "10", "2021", "3031", "40414243",
	"5051525354555657", "606162636465666768696a6b6c6d6e6f"}

func TestCorpusMerkleVectors(t *testing.T) {
	dir := corpusDir(t, "interop", "tlog", "merkle-vectors")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in %s (%v)", dir, err)
	}
	var leaves memSource
	for _, h := range rfc6962Leaves {
		d, _ := hex.DecodeString(h)
		leaves = append(leaves, refLeaf(d))
	}
	ctx := context.Background()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v merkleVector
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			err = v.verify()
			if (err != nil) != v.WantErr {
				t.Fatalf("%s: verify = %v, wantErr %v", v.Desc, err, v.WantErr)
			}
			if v.WantErr {
				return
			}
			// Our proof generation over the same 8 leaves yields the vector.
			var got [][]byte
			if v.inclusion() {
				got, err = audit.InclusionProof(ctx, leaves[:v.TreeSize], *v.LeafIdx, v.TreeSize)
				if diff := cmp.Diff(v.Root, audit.Root(leaves[:v.TreeSize])); diff != "" {
					t.Errorf("root (-vector +ours):\n%s", diff)
				}
			} else {
				got, err = audit.ConsistencyProof(ctx, leaves[:v.Size2], v.Size1, v.Size2)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v.Proof, got); diff != "" {
				t.Errorf("proof (-vector +ours):\n%s", diff)
			}
			// Systematic mutations of the happy path must all be rejected.
			for _, m := range mutations(v) {
				if err := m.v.verify(); err == nil {
					t.Errorf("mutation %q accepted", m.name)
				}
			}
		})
	}
}

type mutation struct {
	name string
	v    merkleVector
}

// mutations derives must-fail variants of a valid vector, in the spirit of
// merkle's proofgen: bit flips in every hash, truncation, extension, element
// swap, and shifted index/size1. Size2/treeSize changes are left out: for a
// leaf on the left edge the same path can be valid for several sizes (the
// checkpoint signs size and root together, which is what binds them).
func mutations(v merkleVector) []mutation {
	var out []mutation
	cp := func() merkleVector {
		c := v
		c.Proof = make([][]byte, len(v.Proof))
		for i := range v.Proof {
			c.Proof[i] = bytes.Clone(v.Proof[i])
		}
		c.Root, c.Root1, c.Root2, c.LeafHash = bytes.Clone(v.Root), bytes.Clone(v.Root1), bytes.Clone(v.Root2), bytes.Clone(v.LeafHash)
		return c
	}
	for i := range v.Proof {
		for _, bit := range []int{0, 7, 255} {
			c := cp()
			c.Proof[i][bit/8] ^= 1 << (bit % 8)
			out = append(out, mutation{fmt.Sprintf("flip bit %d of proof[%d]", bit, i), c})
		}
	}
	if len(v.Proof) > 0 {
		c := cp()
		c.Proof = c.Proof[:len(c.Proof)-1]
		out = append(out, mutation{"truncated", c})
		c = cp()
		c.Proof = append(c.Proof, c.Proof[0])
		out = append(out, mutation{"extended", c})
		c = cp()
		c.Proof = append([][]byte{make([]byte, 32)}, c.Proof...)
		out = append(out, mutation{"zero hash prepended", c})
		c = cp()
		c.Proof = nil
		out = append(out, mutation{"empty proof", c})
	}
	if len(v.Proof) > 1 {
		c := cp()
		c.Proof[0], c.Proof[1] = c.Proof[1], c.Proof[0]
		out = append(out, mutation{"swapped proof[0], proof[1]", c})
	}
	if v.inclusion() {
		c := cp()
		c.LeafHash[0] ^= 1
		out = append(out, mutation{"leaf hash flipped", c})
		c = cp()
		c.Root[31] ^= 0x80
		out = append(out, mutation{"root flipped", c})
		c = cp()
		idx := *v.LeafIdx + 1
		c.LeafIdx = &idx
		out = append(out, mutation{"index+1", c})
		c = cp()
		c.Root = c.LeafHash
		out = append(out, mutation{"root = leaf", c})
	} else {
		c := cp()
		c.Root1[0] ^= 1
		out = append(out, mutation{"root1 flipped", c})
		c = cp()
		c.Root2[0] ^= 1
		out = append(out, mutation{"root2 flipped", c})
		c = cp()
		c.Root1, c.Root2 = c.Root2, c.Root1
		out = append(out, mutation{"roots swapped", c})
		c = cp()
		c.Size1++
		out = append(out, mutation{"size1+1", c})
	}
	return out
}

const tesseraVKey = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"

// parseBundle splits a C2SP tlog-tiles entry bundle: big-endian uint16
// length, then that many bytes, repeated.
func parseBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("truncated length prefix")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, fmt.Errorf("entry of %d bytes, %d left", n, len(b)-2)
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}

func TestCorpusTesseraLog(t *testing.T) {
	dir := corpusDir(t, "interop", "tlog", "tessera-testdata", "testdata", "log")
	v, err := audit.NewVerifier(tesseraVKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(dir, "tile", "entries", "000.p", "15"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantEntries := strings.Fields("one two three four five six seven eit nain ten ileven twelf threeten fourten fivten")
	var gotEntries []string
	for _, e := range entries {
		gotEntries = append(gotEntries, string(e))
	}
	if diff := cmp.Diff(wantEntries, gotEntries); diff != "" {
		t.Fatalf("entries (-want +got):\n%s", diff)
	}
	leaves := make(memSource, len(entries))
	for i, e := range entries {
		leaves[i] = refLeaf(e)
	}

	roots := map[uint64][]byte{}
	for size := uint64(0); size <= 15; size++ {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("checkpoint.%d", size)))
		if err != nil {
			t.Fatal(err)
		}
		cp, err := audit.OpenCheckpoint(data, v)
		if err != nil {
			t.Fatalf("checkpoint.%d: %v", size, err)
		}
		if cp.Size != size || cp.Origin != "example.com/log/testdata" {
			t.Errorf("checkpoint.%d: origin %q size %d", size, cp.Origin, cp.Size)
		}
		if diff := cmp.Diff(cp.Root, audit.Root(leaves[:size])); diff != "" {
			t.Errorf("checkpoint.%d root (-signed +recomputed):\n%s", size, diff)
		}
		roots[size] = cp.Root

		// Each partial bundle is a prefix; each partial level-0 tile holds
		// exactly our leaf hashes.
		if size == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "tile", "entries", "000.p", fmt.Sprint(size)))
		if err != nil {
			t.Fatal(err)
		}
		if es, err := parseBundle(b); err != nil || len(es) != int(size) {
			t.Errorf("bundle %d: %d entries, err %v", size, len(es), err)
		}
		tile, err := os.ReadFile(filepath.Join(dir, "tile", "0", "000.p", fmt.Sprint(size)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bytes.Join(leaves[:size], nil), tile); diff != "" {
			t.Errorf("tile/0/000.p/%d (-ours +tile):\n%s", size, diff)
		}
	}

	latest, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := audit.OpenCheckpoint(latest, v); err != nil || cp.Size != 15 {
		t.Errorf("checkpoint: size %d, err %v", cp.Size, err)
	}

	// Every checkpoint is consistent with every later one, and every entry
	// provably included in every checkpoint that covers it.
	for s2 := uint64(1); s2 <= 15; s2++ {
		for s1 := uint64(0); s1 <= s2; s1++ {
			p, err := audit.ConsistencyProof(ctx, leaves, s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyConsistency(s1, s2, p, roots[s1], roots[s2]); err != nil {
				t.Errorf("consistency %d→%d: %v", s1, s2, err)
			}
			if s1 < s2 {
				p, err := audit.InclusionProof(ctx, leaves, s1, s2)
				if err != nil {
					t.Fatal(err)
				}
				if err := audit.VerifyInclusion(s1, s2, leaves[s1], p, roots[s2]); err != nil {
					t.Errorf("inclusion of %d in %d: %v", s1, s2, err)
				}
			}
		}
	}

	// Editing a signed checkpoint breaks it.
	forged := bytes.Replace(latest, []byte("\n15\n"), []byte("\n14\n"), 1)
	if _, err := audit.OpenCheckpoint(forged, v); err == nil {
		t.Error("forged tessera checkpoint opened")
	}
}

func TestCorpusNoteKAT(t *testing.T) {
	dir := corpusDir(t, "interop", "tlog")
	raw, err := os.ReadFile(filepath.Join(dir, "note_kat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("note_kat.txt: %s not found", re)
		}
		return m[1]
	}
	skey := field(`(?m)^skey: (\S+)$`)
	vkey1 := field(`(?m)^vkey: (\S+)$`)
	vkey2 := field(`Second KAT .*vkey (\S+)`)
	parts := strings.Split(text, "-----8<-----\n")
	if len(parts) < 5 {
		t.Fatalf("note_kat.txt: %d sections, want 5", len(parts))
	}
	note1, note2 := []byte(parts[1]), []byte(parts[3])

	// Sign reproduces the exact bytes.
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(note1[:bytes.Index(note1, []byte("\n\n"))+1])
	got, err := note.Sign(&note.Note{Text: msg}, s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(note1), string(got)); diff != "" {
		t.Errorf("Sign (-kat +got):\n%s", diff)
	}

	tests := []struct {
		name string
		vkey string
		msg  []byte
	}{
		{"PeterNeumann", vkey1, note1},
		{"C2SP example", vkey2, note2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := audit.NewVerifier(tt.vkey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := note.Open(tt.msg, note.VerifierList(v)); err != nil {
				t.Errorf("Open: %v", err)
			}
			flipped := bytes.Replace(tt.msg, []byte("is"), []byte("IS"), 1)
			if _, err := note.Open(flipped, note.VerifierList(v)); err == nil {
				t.Error("Open accepted an edited note")
			}
			// These notes are not checkpoints: OpenCheckpoint must say so
			// even though the signature is good.
			if _, err := audit.OpenCheckpoint(tt.msg, v); err == nil {
				t.Error("OpenCheckpoint accepted a non-checkpoint note")
			}
		})
	}
}
