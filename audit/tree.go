package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is the only tree hasher this package uses: RFC 6962 / RFC 9162
// SHA-256, as C2SP tlog-checkpoint and tlog-tiles expect.
var hasher = rfc6962.DefaultHasher

// rangeFactory builds compact ranges with RFC 6962 node hashing. Ranges from
// one factory can be merged, so it is shared.
var rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}

// Root returns the RFC 6962 Merkle tree hash of the given leaf hashes. The
// empty tree hashes to SHA-256("") as RFC 6962 specifies.
func Root(leaves [][]byte) []byte {
	b := NewBuilder()
	for _, l := range leaves {
		// Append only fails on a wrong-length hash; treat that as a caller
		// bug the same way a nil map write would be.
		if err := b.Append(l); err != nil {
			panic(err)
		}
	}
	return b.Root()
}

// Builder keeps the running root of an append-only log in O(log n) memory
// (a compact range: the roots of the perfect subtrees covering [0, n)).
// A store can persist [Builder.Hashes] with the size and resume with
// [ResumeBuilder] instead of rereading every leaf. A Builder is not safe for
// concurrent use; appends are serialised by the store's transaction anyway.
type Builder struct {
	r *compact.Range
}

// NewBuilder returns a Builder for the empty log.
func NewBuilder() *Builder {
	return &Builder{r: rangeFactory.NewEmptyRange(0)}
}

// ResumeBuilder restores a Builder from a size and the compact-range hashes
// previously returned by [Builder.Hashes] for that size.
func ResumeBuilder(size uint64, hashes [][]byte) (*Builder, error) {
	for i, h := range hashes {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("audit: resume builder: hash %d has %d bytes, want %d", i, len(h), sha256.Size)
		}
	}
	// Copy: compact.Range appends into its slice in place, so sharing the
	// caller's backing array would let two builders corrupt each other.
	r, err := rangeFactory.NewRange(0, size, slices.Clone(hashes))
	if err != nil {
		return nil, fmt.Errorf("audit: resume builder: %w", err)
	}
	return &Builder{r: r}, nil
}

// Append adds the next leaf hash (as returned by [LeafHash]).
func (b *Builder) Append(leafHash []byte) error {
	if len(leafHash) != sha256.Size {
		return fmt.Errorf("audit: append: leaf hash has %d bytes, want %d", len(leafHash), sha256.Size)
	}
	// Clone: the range keeps the slice, and stores often reuse scan buffers
	// (database/sql RawBytes). The visitor is nil, so Append cannot fail; a
	// store that later keeps tiles would pass one to capture new nodes.
	return b.r.Append(bytes.Clone(leafHash), nil)
}

// Size is the number of leaves appended so far.
func (b *Builder) Size() uint64 { return b.r.End() }

// Root is the RFC 6962 root of the leaves appended so far.
func (b *Builder) Root() []byte {
	if b.r.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := b.r.GetRootHash(nil)
	if err != nil {
		// Only fails for ranges not starting at 0, which Builder never makes.
		panic(err)
	}
	return root
}

// Hashes returns a copy of the compact-range hashes (at most 64) that a
// store can persist to resume later with [ResumeBuilder].
func (b *Builder) Hashes() [][]byte { return slices.Clone(b.r.Hashes()) }

// HashSource is how a store hands stored leaf hashes to the tree maths.
// LeafHashes returns the leaf hashes of entries [from, to), in order, and
// exactly to-from of them.
type HashSource interface {
	LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error)
}

// NodeSource is an optional extension of [HashSource]. Today every proof
// node is recomputed from leaves, which costs O(size) hashing per proof and
// is fine for an audit log of modest size. A store that later persists
// interior subtree hashes (e.g. C2SP tlog-tiles, or the nodes a
// compact.VisitFn reports on append) implements NodeHashes, and the proof
// functions use it instead, making proofs O(log n) reads with no change to
// callers. Each returned hash must be the RFC 6962 hash of the perfect
// subtree identified by the node ID, in the order requested.
type NodeSource interface {
	HashSource
	NodeHashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error)
}

// nodeHashes fetches the hashes of the given perfect-subtree nodes, from a
// NodeSource if the store offers one, otherwise by hashing leaves.
func nodeHashes(ctx context.Context, src HashSource, ids []compact.NodeID) ([][]byte, error) {
	if ns, ok := src.(NodeSource); ok {
		hs, err := ns.NodeHashes(ctx, ids)
		if err != nil {
			return nil, err
		}
		if len(hs) != len(ids) {
			return nil, fmt.Errorf("node source returned %d hashes for %d nodes", len(hs), len(ids))
		}
		return hs, nil
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		begin, end := id.Coverage()
		leaves, err := src.LeafHashes(ctx, begin, end)
		if err != nil {
			return nil, fmt.Errorf("leaf hashes [%d, %d): %w", begin, end, err)
		}
		if uint64(len(leaves)) != end-begin {
			return nil, fmt.Errorf("leaf hashes [%d, %d): got %d, want %d", begin, end, len(leaves), end-begin)
		}
		r := rangeFactory.NewEmptyRange(begin)
		for _, l := range leaves {
			if len(l) != sha256.Size {
				return nil, fmt.Errorf("leaf hashes [%d, %d): hash of %d bytes", begin, end, len(l))
			}
			if err := r.Append(l, nil); err != nil {
				return nil, err
			}
		}
		// A node's coverage is a perfect subtree, so its compact range is
		// exactly one hash: the node hash.
		if hs := r.Hashes(); len(hs) == 1 {
			out[i] = hs[0]
		} else {
			return nil, fmt.Errorf("node %+v is not a perfect subtree", id)
		}
	}
	return out, nil
}

// InclusionProof returns the RFC 6962 audit path proving that leaf index is
// in the tree of the given size.
func InclusionProof(ctx context.Context, src HashSource, index, size uint64) ([][]byte, error) {
	p, err := inclusionProof(ctx, src, index, size)
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	return p, nil
}

func inclusionProof(ctx context.Context, src HashSource, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return buildProof(ctx, src, nodes)
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size1 is a
// prefix of the tree of size2.
func ConsistencyProof(ctx context.Context, src HashSource, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof: %w", err)
	}
	p, err := buildProof(ctx, src, nodes)
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof: %w", err)
	}
	return p, nil
}

func buildProof(ctx context.Context, src HashSource, nodes proof.Nodes) ([][]byte, error) {
	hs, err := nodeHashes(ctx, src, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hs, hasher.HashChildren)
}

// VerifyInclusion checks an inclusion proof for leafHash at index against
// the root of a tree of the given size.
func VerifyInclusion(index, size uint64, leafHash []byte, proofHashes [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(hasher, index, size, leafHash, proofHashes, root); err != nil {
		return fmt.Errorf("audit: verify inclusion of %d in %d: %w", index, size, readable(err))
	}
	return nil
}

// VerifyConsistency checks that root2 (size2) extends root1 (size1).
func VerifyConsistency(size1, size2 uint64, proofHashes [][]byte, root1, root2 []byte) error {
	if err := proof.VerifyConsistency(hasher, size1, size2, proofHashes, root1, root2); err != nil {
		return fmt.Errorf("audit: verify consistency %d→%d: %w", size1, size2, readable(err))
	}
	return nil
}

// rootMismatch re-renders merkle's RootMismatchError, whose message prints
// decimal byte slices over several lines, as one line of hex: these messages
// reach patients' receipt checkers and operators' logs. errors.As still
// finds the original.
type rootMismatch struct{ proof.RootMismatchError }

func (e rootMismatch) Error() string {
	return fmt.Sprintf("calculated root %x does not match expected root %x", e.CalculatedRoot, e.ExpectedRoot)
}

func (e rootMismatch) Unwrap() error { return e.RootMismatchError }

func readable(err error) error {
	if m, ok := err.(proof.RootMismatchError); ok {
		return rootMismatch{m}
	}
	return err
}
