package audit

import (
	"context"
	"crypto/sha256"
	"fmt"

	tlogproof "github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Receipt lets a patient (or any auditor) check offline, with nothing but
// the log's published vkey, that an event is in the log the platform has
// signed. It is the event plus the C2SP tlog-proof@v1 triple (index,
// inclusion proof, signed checkpoint).
//
// Event holds the exact canonical bytes and is base64 in JSON on purpose:
// embedding it as a JSON object would let any re-indenting JSON tool change
// the bytes and break the leaf hash.
type Receipt struct {
	Event      []byte   `json:"event"`      // canonical event bytes
	Index      uint64   `json:"index"`      // leaf index (== the event's Seq)
	Proof      [][]byte `json:"proof"`      // RFC 6962 inclusion proof at Checkpoint's size
	Checkpoint string   `json:"checkpoint"` // signed note, C2SP tlog-checkpoint
}

// NewReceipt builds a receipt for a stored row against a signed checkpoint
// (normally the latest) and checks it before returning, so the portal never
// hands out a receipt that would fail in the patient's hands.
func NewReceipt(ctx context.Context, src HashSource, row Row, checkpoint []byte, v note.Verifier) (Receipt, error) {
	cp, err := openCheckpoint(checkpoint, v)
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: new receipt for %d: checkpoint: %w", row.Seq, err)
	}
	p, err := inclusionProof(ctx, src, row.Seq, cp.Size)
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: new receipt for %d: inclusion proof: %w", row.Seq, err)
	}
	r := Receipt{Event: row.Canonical, Index: row.Seq, Proof: p, Checkpoint: string(checkpoint)}
	if err := verifyReceipt(r, v); err != nil {
		return Receipt{}, fmt.Errorf("audit: new receipt for %d: self-check: %w", row.Seq, err)
	}
	return r, nil
}

// VerifyReceipt checks r fully offline: the checkpoint is signed by
// verifierKey (a vkey string), the event bytes are canonical and carry Seq ==
// Index, and the inclusion proof links the event's leaf hash to the signed
// root. It does not prove the platform has not forked its log; for that,
// compare checkpoints with other parties (witnesses) via consistency proofs.
func VerifyReceipt(r Receipt, verifierKey string) error {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return fmt.Errorf("audit: verify receipt: key: %w", err)
	}
	if err := verifyReceipt(r, v); err != nil {
		return fmt.Errorf("audit: verify receipt: %w", err)
	}
	return nil
}

func verifyReceipt(r Receipt, v note.Verifier) error {
	cp, err := openCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	e, err := parseCanonical(r.Event)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if e.Seq != r.Index {
		return fmt.Errorf("event seq %d does not match receipt index %d", e.Seq, r.Index)
	}
	if r.Index >= cp.Size {
		return fmt.Errorf("index %d not below checkpoint size %d", r.Index, cp.Size)
	}
	if err := proof.VerifyInclusion(hasher, r.Index, cp.Size, hashLeaf(r.Event), r.Proof, cp.Root); err != nil {
		return fmt.Errorf("inclusion in checkpoint of size %d: %w", cp.Size, readable(err))
	}
	return nil
}

// TLogProof renders the receipt's proof part in the C2SP tlog-proof@v1 text
// format (the event itself travels separately there), for tools that speak
// that format. It fails if a proof hash is not 32 bytes.
func (r Receipt) TLogProof() ([]byte, error) {
	p := tlogproof.TLogProof{Index: r.Index, Checkpoint: []byte(r.Checkpoint)}
	for i, h := range r.Proof {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("audit: tlog-proof: hash %d has %d bytes", i, len(h))
		}
		p.Hashes = append(p.Hashes, [sha256.Size]byte(h))
	}
	return p.Marshal(), nil
}
