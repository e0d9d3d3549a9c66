package prs

import (
	"io"

	"github.com/geneguard/geneguard/internal/bgzfpar"
)

// openDecompressed returns the uncompressed bytes of a plain, gzip or BGZF
// stream; BGZF is inflated on every core (internal/bgzfpar).
func openDecompressed(r io.Reader) (io.Reader, func(), error) {
	return bgzfpar.Open(r)
}
