package pgx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/internal/bgzfpar"
	"github.com/geneguard/geneguard/vcf"
)

// CallFile calls genes (all defined genes when empty) for every sample of
// the VCF at path. It gives the same result as CallVCF on vcf.Open(path)
// but reads faster: BGZF blocks are inflated on every core, a line is
// looked at beyond CHROM and POS only when the position defines an allele,
// and genotypes are decoded from the line's bytes without splitting it into
// strings.
//
// The price is validation, as for prs.ScoreFile: CallVCF (through
// vcf.Reader) rejects a file with a malformed record anywhere, CallFile
// checks the header and the records at definition positions (their REF,
// ALT, column count and every GT), and skips the others unread.
func (c *Caller) CallFile(ctx context.Context, path string, genes []string) (*Result, error) {
	gs, err := c.genes(genes)
	if err != nil {
		return nil, err
	}
	hr, err := vcf.Open(path) // header, and the BGZF end-of-file check
	if err != nil {
		return nil, err
	}
	h := *hr.Header()
	hr.Close()
	if err := c.checkBuild(h.Build); err != nil {
		return nil, err
	}
	want := map[Locus]*Variant{}
	for _, g := range gs {
		addPositions(want, c.defs.Genes[g])
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pgx: %w", err)
	}
	defer f.Close()
	src, stop, err := bgzfpar.Open(f)
	if err != nil {
		return nil, fmt.Errorf("pgx: %s: %w", path, err)
	}
	defer stop()
	fr := &fastRecords{br: bufio.NewReaderSize(src, 4<<20), want: want, nSamples: len(h.Samples), chroms: map[string]string{}}
	run := c.newGeneRun(ctx, gs, len(h.Samples))
	t, err := readRecords(ctx, &h, want, fr.next, run.seen)
	if err != nil {
		run.abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return run.finish(t)
}

// fastRecords yields the records at wanted positions from a VCF's bytes.
type fastRecords struct {
	br       *bufio.Reader
	want     map[Locus]*Variant
	nSamples int
	line     int
	long     []byte            // a line longer than the buffer
	chroms   map[string]string // CHROM as written -> normalised
	rec      recView[[]byte]
	cols     [][]byte
}

func (r *fastRecords) readLine() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = r.br.ReadSlice('\n')
			r.long = append(r.long, b...)
		}
		b = r.long
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
		return nil, err
	}
	r.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'}), nil
}

func (r *fastRecords) fail(format string, a ...any) error {
	return &vcf.Error{Line: r.line, Msg: fmt.Sprintf(format, a...)}
}

// next returns the next record whose CHROM:POS is wanted.
func (r *fastRecords) next() (*recView[[]byte], error) {
	for {
		line, err := r.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("reading line %d: %w", r.line+1, err)
			}
			return nil, err
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		t1 := bytes.IndexByte(line, '\t')
		if t1 <= 0 {
			return nil, r.fail("no tab after CHROM")
		}
		t2 := bytes.IndexByte(line[t1+1:], '\t')
		if t2 < 0 {
			return nil, r.fail("no tab after POS")
		}
		chrom, ok := r.chroms[string(line[:t1])]
		if !ok {
			chrom = vcf.NormalizeChrom(string(line[:t1]))
			r.chroms[string(line[:t1])] = chrom
		}
		pos, ok := atoiBytes(line[t1+1 : t1+1+t2])
		if !ok {
			return nil, r.fail("POS %q is not a non-negative integer", line[t1+1:t1+1+t2])
		}
		loc := Locus{chrom, int64(pos)}
		if _, ok := r.want[loc]; !ok {
			continue
		}
		return r.parse(line, loc)
	}
}

// parse splits a wanted line and checks it as vcf.Reader would.
func (r *fastRecords) parse(line []byte, loc Locus) (*recView[[]byte], error) {
	want := 8
	if r.nSamples > 0 {
		want = 9 + r.nSamples
	}
	if n := bytes.Count(line, []byte{'\t'}) + 1; n != want {
		return nil, r.fail("%d tab-separated columns, header says %d", n, want)
	}
	// The fixed columns; the sample columns are left to the decoder.
	r.cols = r.cols[:0]
	for len(r.cols) < min(want, 9) {
		k := bytes.IndexByte(line, '\t')
		if k < 0 {
			r.cols = append(r.cols, line)
			line = line[len(line):]
			break
		}
		r.cols = append(r.cols, line[:k])
		line = line[k+1:]
	}
	ref := string(r.cols[3])
	if !validBases(ref) {
		return nil, r.fail("REF %q is not a sequence of A, C, G, T, N", ref)
	}
	var alts []string
	if a := string(r.cols[4]); a != "." {
		alts = strings.Split(a, ",")
		for _, x := range alts {
			if x == "" {
				return nil, r.fail("empty ALT allele in %q", a)
			}
			if isSymbolic(x) {
				continue
			}
			if !validBases(x) {
				return nil, r.fail("ALT %q is not a sequence of A, C, G, T, N", x)
			}
		}
	}
	r.rec = recView[[]byte]{line: r.line, loc: loc, ref: ref, alt: alts, filter: string(r.cols[6])}
	if r.nSamples > 0 {
		r.rec.format = strings.Split(string(r.cols[8]), ":")
		for i, f := range r.rec.format {
			if f == "GT" && i != 0 {
				return nil, r.fail("GT must be the first FORMAT key, found at position %d", i+1)
			}
		}
		r.rec.samples, r.rec.raw, r.rec.nRaw = nil, line, r.nSamples
	}
	return &r.rec, nil
}

func validBases(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A', 'C', 'G', 'T', 'N', 'a', 'c', 'g', 't', 'n':
		default:
			return false
		}
	}
	return true
}

func atoiBytes(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		n, err := strconv.Atoi(string(b))
		return n, err == nil && n >= 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
