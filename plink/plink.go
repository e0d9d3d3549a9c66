// Package plink reads PLINK 1 binary genotypes (.bed/.bim/.fam), one
// variant at a time: memory holds the samples and one variant's packed
// calls, never the whole matrix.
//
// Format (PLINK 1.9 documentation, "bed" file): three magic bytes 0x6c 0x1b
// 0x01 (variant-major), then per variant ⌈n/4⌉ bytes, four samples a byte
// from the low bits up. Each 2-bit code is 00 homozygous A1, 01 missing,
// 10 heterozygous, 11 homozygous A2. In .bim, A1 is usually the minor or
// ALT allele and A2 the major or REF (plink2 writes ALT, REF); "0" is an
// unknown allele.
package plink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Sample is one .fam row.
type Sample struct {
	FID, IID string
}

// Variant is one .bim row.
type Variant struct {
	Line   int
	Chrom  string // as written
	ID     string
	Pos    int
	A1, A2 string // A1 is counted by codes 00 (two copies) and 10 (one)
}

// Genotype codes.
const (
	HomA1   = 0 // 00
	Missing = 1 // 01
	Het     = 2 // 10
	HomA2   = 3 // 11
)

// Error is a fault in one of the three files, with the line for .bim/.fam.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("plink: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("plink: %s: %s", e.File, e.Msg)
}

// Reader streams a .bed with its .bim.
type Reader struct {
	prefix  string
	samples []Sample
	bim     *bufio.Scanner
	bimF    *os.File
	bed     *bufio.Reader
	bedF    *os.File
	nVar    int64 // variants the .bed holds, from its size
	line    int
	read    int64
	buf     []byte
}

// Open opens PREFIX.bed, PREFIX.bim and PREFIX.fam, reads the samples, and
// checks the .bed's magic and that its size fits the .bim.
func Open(prefix string) (*Reader, error) {
	r := &Reader{prefix: prefix}
	var err error
	if r.samples, err = readFam(prefix + ".fam"); err != nil {
		return nil, err
	}
	if r.bedF, err = os.Open(prefix + ".bed"); err != nil {
		return nil, fmt.Errorf("plink: %w", err)
	}
	if r.bimF, err = os.Open(prefix + ".bim"); err != nil {
		r.bedF.Close()
		return nil, fmt.Errorf("plink: %w", err)
	}
	r.bed = bufio.NewReaderSize(r.bedF, 1<<20)
	r.bim = bufio.NewScanner(r.bimF)
	r.bim.Buffer(make([]byte, 64<<10), 16<<20)
	magic := make([]byte, 3)
	if _, err := io.ReadFull(r.bed, magic); err != nil || magic[0] != 0x6c || magic[1] != 0x1b {
		r.Close()
		return nil, &Error{File: prefix + ".bed", Msg: "not a PLINK 1 .bed file (bad magic bytes)"}
	}
	if magic[2] != 0x01 {
		r.Close()
		return nil, &Error{File: prefix + ".bed", Msg: "sample-major .bed (PLINK 0.99) is not supported; rewrite it with plink --make-bed"}
	}
	st, err := r.bedF.Stat()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("plink: %w", err)
	}
	per := int64(r.BytesPerVariant())
	if per > 0 {
		if (st.Size()-3)%per != 0 {
			r.Close()
			return nil, &Error{File: prefix + ".bed", Msg: fmt.Sprintf("size %d is not 3 + a whole number of %d-byte variants for %d samples: the .fam does not belong to this .bed, or the file is truncated", st.Size(), per, len(r.samples))}
		}
		r.nVar = (st.Size() - 3) / per
	}
	r.buf = make([]byte, per)
	return r, nil
}

// Samples returns the .fam rows in order.
func (r *Reader) Samples() []Sample { return r.samples }

// BytesPerVariant is ⌈samples/4⌉.
func (r *Reader) BytesPerVariant() int { return (len(r.samples) + 3) / 4 }

// Close closes the files.
func (r *Reader) Close() error {
	var err error
	if r.bedF != nil {
		err = r.bedF.Close()
	}
	if r.bimF != nil {
		err = errors.Join(err, r.bimF.Close())
	}
	return err
}

// Next returns the next variant and its packed calls, which are valid
// until the next call. It returns io.EOF after the last variant, and an
// error when the .bim and .bed disagree on the number of variants.
func (r *Reader) Next() (Variant, []byte, error) {
	if !r.bim.Scan() {
		if err := r.bim.Err(); err != nil {
			return Variant{}, nil, fmt.Errorf("plink: %s.bim: %w", r.prefix, err)
		}
		if r.read != r.nVar {
			return Variant{}, nil, &Error{File: r.prefix + ".bim", Msg: fmt.Sprintf("%d variants, but the .bed holds %d", r.read, r.nVar)}
		}
		return Variant{}, nil, io.EOF
	}
	r.line++
	f := strings.Fields(r.bim.Text())
	if len(f) != 6 {
		return Variant{}, nil, &Error{File: r.prefix + ".bim", Line: r.line, Msg: fmt.Sprintf("%d fields, want 6 (chrom id cm pos a1 a2)", len(f))}
	}
	pos, err := strconv.Atoi(f[3])
	if err != nil || pos < 0 {
		return Variant{}, nil, &Error{File: r.prefix + ".bim", Line: r.line, Msg: fmt.Sprintf("position %q is not a non-negative integer", f[3])}
	}
	v := Variant{Line: r.line, Chrom: f[0], ID: f[1], Pos: pos, A1: f[4], A2: f[5]}
	if r.read >= r.nVar {
		return Variant{}, nil, &Error{File: r.prefix + ".bed", Msg: fmt.Sprintf("holds %d variants, but the .bim has more", r.nVar)}
	}
	if _, err := io.ReadFull(r.bed, r.buf); err != nil {
		return Variant{}, nil, fmt.Errorf("plink: %s.bed: variant %d: %w", r.prefix, r.line, err)
	}
	r.read++
	return v, r.buf, nil
}

// Code returns sample i's 2-bit code in a variant's packed calls.
func Code(packed []byte, i int) uint8 { return packed[i>>2] >> (2 * (i & 3)) & 3 }

func readFam(path string) ([]Sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plink: %w", err)
	}
	var out []Sample
	for n, line := range bytes.Split(b, []byte{'\n'}) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 6 {
			return nil, &Error{File: path, Line: n + 1, Msg: fmt.Sprintf("%d fields, want 6 (fid iid father mother sex phenotype)", len(f))}
		}
		out = append(out, Sample{FID: f[0], IID: f[1]})
	}
	if len(out) == 0 {
		return nil, &Error{File: path, Msg: "no samples"}
	}
	return out, nil
}
