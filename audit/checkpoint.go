package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is an opened, signature-verified C2SP tlog-checkpoint.
type Checkpoint struct {
	Origin string // log identity; equals the signing key's name
	Size   uint64 // number of entries committed to
	Root   []byte // RFC 6962 root of the first Size entries
}

// ErrCheckpoint is wrapped by every checkpoint signing/opening failure so
// callers can tell "this checkpoint is bad" from I/O errors.
var ErrCheckpoint = errors.New("bad checkpoint")

// GenerateKey makes a fresh Ed25519 signed-note key pair whose key name is
// the log origin (e.g. "geneguard.ee/audit/v1"). skey is secret and belongs
// in the platform's secret store; vkey is published to patients and
// auditors. Both use the golang.org/x/mod/sumdb/note text formats.
func GenerateKey(origin string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key %q: %w", origin, err)
	}
	return skey, vkey, nil
}

// Signer signs checkpoints with a note signer. It is safe for concurrent
// use. The log's origin is the key's name: tying them together means a
// verifier holding only the vkey knows which log a checkpoint speaks for.
type Signer struct {
	s note.Signer
}

// NewSigner parses an skey as produced by [GenerateKey].
func NewSigner(skey string) (*Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("audit: new signer: %w", err)
	}
	return &Signer{s: s}, nil
}

// Origin is the log origin this signer speaks for (the key name).
func (s *Signer) Origin() string { return s.s.Name() }

// SignCheckpoint returns a signed note whose text is the C2SP checkpoint
// "origin\nsize\nbase64(root)\n". origin must equal the key name: a signer
// that would sign for any origin would let one log's key vouch for another.
func (s *Signer) SignCheckpoint(origin string, size uint64, root []byte) ([]byte, error) {
	if origin != s.s.Name() {
		return nil, fmt.Errorf("audit: sign checkpoint: %w: origin %q is not the key name %q", ErrCheckpoint, origin, s.s.Name())
	}
	if len(root) != sha256.Size {
		return nil, fmt.Errorf("audit: sign checkpoint: %w: root has %d bytes, want %d", ErrCheckpoint, len(root), sha256.Size)
	}
	text := log.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(text)}, s.s)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return signed, nil
}

// NewVerifier parses a vkey as produced by [GenerateKey].
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: new verifier: %w", err)
	}
	return v, nil
}

// OpenCheckpoint verifies the signed note against v and parses the
// checkpoint. The origin must equal v's key name. Signatures by other keys
// (e.g. witness cosignatures) are ignored, as C2SP signed-note requires;
// extension lines after the root are accepted and ignored.
//
// formats/log.ParseCheckpoint would do the same, but it flattens errors with
// %v; opening here keeps note's typed errors reachable via errors.As.
func OpenCheckpoint(data []byte, v note.Verifier) (Checkpoint, error) {
	c, err := openCheckpoint(data, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	return c, nil
}

// openCheckpoint is OpenCheckpoint without the package prefix, for callers
// inside the package that add their own context.
func openCheckpoint(data []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(data, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: origin %q, want %q", ErrCheckpoint, c.Origin, v.Name())
	}
	if len(c.Hash) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("%w: root has %d bytes, want %d", ErrCheckpoint, len(c.Hash), sha256.Size)
	}
	return Checkpoint{Origin: c.Origin, Size: c.Size, Root: c.Hash}, nil
}
