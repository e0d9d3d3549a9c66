package prs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/geneguard/geneguard/vcf"
)

// ScoreFile scores the VCF at path, like ScoreVCF but faster on large
// files: BGZF blocks are inflated on every core, and a record is parsed
// beyond CHROM and POS only when a score has a variant at its position.
//
// The price is validation: ScoreVCF (through vcf.Reader) rejects a file
// with a malformed record anywhere, while ScoreFile checks the header and
// the records it scores, and skips the others unread. For deciding whether
// to store a file, read it with vcf.Reader; for scoring it, this is enough,
// since only the scored records affect the result.
func ScoreFile(ctx context.Context, path string, scores []*Score, opts Options) (*Result, error) {
	hr, err := vcf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prs: %w", err)
	}
	h := *hr.Header()
	hr.Close()
	m, res, err := prepare(&h, scores, opts)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prs: %w", err)
	}
	defer f.Close()
	src, stop, err := openDecompressed(f)
	if err != nil {
		return nil, fmt.Errorf("prs: %s: %w", path, err)
	}
	defer stop()
	fr := &fastReader{m: m, br: bufio.NewReaderSize(src, 4<<20), nSamples: len(h.Samples), chroms: map[string]string{}}
	if err := fr.run(ctx); err != nil {
		return nil, fmt.Errorf("prs: %s: %w", path, err)
	}
	if res.Scores, err = m.results(h.Samples, h.Build); err != nil {
		return nil, err
	}
	return res, nil
}

type fastReader struct {
	m        *matcher
	br       *bufio.Reader
	nSamples int
	line     int
	long     []byte            // holds a line longer than the buffer
	chroms   map[string]string // CHROM as written → normalised
}

func (r *fastReader) readLine() ([]byte, error) {
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

func (r *fastReader) fail(format string, a ...any) error {
	return &vcf.Error{Line: r.line, Msg: fmt.Sprintf(format, a...)}
}

func (r *fastReader) run(ctx context.Context) error {
	for n := 0; ; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("scoring stopped: %w", err)
			}
		}
		line, err := r.readLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading line %d: %w", r.line+1, err)
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := r.record(line); err != nil {
			return err
		}
	}
}

// record looks a data line up by CHROM and POS, and parses the rest only
// when the position is in a score.
func (r *fastReader) record(line []byte) error {
	t1 := bytes.IndexByte(line, '\t')
	if t1 <= 0 {
		return r.fail("no tab after CHROM")
	}
	t2 := bytes.IndexByte(line[t1+1:], '\t')
	if t2 < 0 {
		return r.fail("no tab after POS")
	}
	posField := line[t1+1 : t1+1+t2]
	pos, ok := atoi(posField)
	if !ok {
		return r.fail("POS %q is not a non-negative integer", posField)
	}
	chrom, ok := r.chroms[string(line[:t1])]
	if !ok {
		chrom = vcf.NormalizeChrom(string(line[:t1]))
		r.chroms[string(line[:t1])] = chrom
	}
	refs := r.m.index[posKey{chrom, pos}]
	if len(refs) == 0 {
		return nil
	}
	// ID REF ALT QUAL FILTER INFO FORMAT samples
	rest := line[t1+1+t2+1:]
	var cols [7][]byte
	for i := 0; i < 6; i++ {
		j := bytes.IndexByte(rest, '\t')
		if j < 0 {
			return r.fail("fewer than 8 tab-separated columns")
		}
		cols[i], rest = rest[:j], rest[j+1:]
	}
	ref := string(cols[1])
	var alts []string
	if s := string(cols[2]); s != "." {
		alts = splitComma(s)
	}
	if !r.m.match(refs, ref, alts) {
		return nil
	}
	j := bytes.IndexByte(rest, '\t')
	if j < 0 {
		return r.fail("no sample columns")
	}
	format, samples := rest[:j], rest[j+1:]
	return r.decode(format, samples, len(alts))
}

func splitComma(s string) []string {
	var out []string
	for {
		i := bytes.IndexByte([]byte(s), ',')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
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

// decode fills m.gts (and m.ds) from the sample columns, then applies the
// matched rows.
func (r *fastReader) decode(format, samples []byte, nAlt int) error {
	m := r.m
	n := r.nSamples
	m.resize(n)
	gtIdx, dsIdx, k := -1, -1, 0
	for f := range bytes.SplitSeq(format, []byte{':'}) {
		switch string(f) {
		case "GT":
			if k != 0 {
				return r.fail("GT must be the first FORMAT key, found at position %d", k+1)
			}
			gtIdx = 0
		case "DS":
			dsIdx = k
		}
		k++
	}
	m.useDS = m.wantDS(nAlt, gtIdx == 0, dsIdx >= 0)

	// The common case, "GT" alone with one-digit diploid calls, has a
	// fixed stride of 4 bytes per sample; check it and decode directly.
	if gtIdx == 0 && len(format) == 2 && len(samples) == 4*n-1 && nAlt < 10 && r.strided(samples, nAlt) {
		m.apply()
		return nil
	}
	i := 0
	for len(samples) > 0 || i < n {
		if i >= n {
			return r.fail("more sample columns than the header's %d", n)
		}
		var field []byte
		if j := bytes.IndexByte(samples, '\t'); j >= 0 {
			field, samples = samples[:j], samples[j+1:]
			if len(samples) == 0 {
				return r.fail("empty last sample column")
			}
		} else {
			field, samples = samples, nil
		}
		g := gt{-1, -1}
		if gtIdx == 0 {
			var err error
			if g, err = parseGTBytes(subfield(field, 0), nAlt); err != nil {
				return r.fail("sample %d: %v", i+1, err)
			}
		}
		m.gts[i] = g
		if m.useDS {
			m.ds[i] = math.NaN()
			if s := subfield(field, dsIdx); len(s) > 0 && !(len(s) == 1 && s[0] == '.') {
				v, err := strconv.ParseFloat(string(s), 64)
				if err != nil || v < 0 || v > 2 {
					return r.fail("sample %d: DS %q is not a dosage between 0 and 2", i+1, s)
				}
				m.ds[i] = v
			}
		}
		i++
	}
	if i != n {
		return r.fail("%d sample columns, the header has %d", i, n)
	}
	m.apply()
	return nil
}

// strided decodes "a/b\ta|b\t..." with one-digit alleles; it returns false,
// leaving the general parser to report or handle anything else.
func (r *fastReader) strided(s []byte, nAlt int) bool {
	gts := r.m.gts
	lim := int16(nAlt)
	for i := range gts {
		x := s[4*i : 4*i+3 : 4*i+3]
		ai, bi := alleleCode[x[0]], alleleCode[x[2]]
		if ai > lim || bi > lim || (x[1] != '/' && x[1] != '|') {
			return false
		}
		if 4*i+3 < len(s) && s[4*i+3] != '\t' {
			return false
		}
		gts[i] = gt{ai, bi}
	}
	return true
}

// alleleCode maps a one-character allele to its index: '0'..'9', '.' is
// missing (-1), anything else is out of range (127).
var alleleCode = func() (t [256]int16) {
	for i := range t {
		t[i] = 127
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int16(c - '0')
	}
	t['.'] = -1
	return t
}()

// subfield returns the idx-th ':'-separated field, or nil.
func subfield(s []byte, idx int) []byte {
	if idx < 0 {
		return nil
	}
	for k := 0; k < idx; k++ {
		j := bytes.IndexByte(s, ':')
		if j < 0 {
			return nil
		}
		s = s[j+1:]
	}
	if j := bytes.IndexByte(s, ':'); j >= 0 {
		return s[:j]
	}
	return s
}

// parseGTBytes parses a GT value under the same rules as vcf.Reader:
// haploid or diploid, '.' missing, allele indices within the record.
func parseGTBytes(s []byte, nAlt int) (gt, error) {
	if len(s) == 0 || (len(s) == 1 && s[0] == '.') {
		return gt{-1, -1}, nil
	}
	var al [2]int16
	k := 0
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '/' && s[i] != '|' {
			continue
		}
		if k == 2 {
			return gt{}, fmt.Errorf("GT %q has ploidy above 2; only haploid and diploid calls are supported", s)
		}
		tok := s[start:i]
		a := -1
		if !(len(tok) == 1 && tok[0] == '.') {
			n, ok := atoi(tok)
			if !ok {
				return gt{}, fmt.Errorf("GT %q has a bad allele %q", s, tok)
			}
			if n > nAlt {
				return gt{}, fmt.Errorf("GT %q refers to allele %d but the record has %d ALT allele(s)", s, n, nAlt)
			}
			a = n
		}
		al[k] = int16(a)
		k++
		start = i + 1
	}
	if k == 1 {
		return gt{al[0], haploid}, nil
	}
	return gt{al[0], al[1]}, nil
}
