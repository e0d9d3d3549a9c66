// Package vcf reads genotypes from VCF 4.x files, plain, gzip or bgzip,
// one record at a time.
//
// The reader validates as it streams: the header (fileformat, the #CHROM
// line, unique sample IDs), every record's columns, and every genotype
// (allele indices within the record's alleles, ploidy of one or two). The
// first fault is returned as an *Error naming the line, so a caller that
// stores what it reads can reject a malformed file whole: read to the end
// inside a transaction, and roll back on any error.
package vcf

import (
	"bufio"
	"bytes"

	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Error is a fault in a VCF file, located by line number (1-based, counting
// header lines), so an operator can open the file at the fault.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "vcf: " + e.Msg
	}
	return fmt.Sprintf("vcf: line %d: %s", e.Line, e.Msg)
}

// Header is what the meta-information lines and the #CHROM line say.
type Header struct {
	FileFormat string // e.g. "VCFv4.2"
	Samples    []string
	Contigs    []Contig
	// Build is "GRCh37", "GRCh38" or "" when the header does not tell.
	// It is read from ##reference, ##contig assembly= or known contig
	// lengths, because biobank files rarely say it plainly.
	Build string
	// Formats and Infos hold the FORMAT and INFO definitions by ID.
	Formats map[string]FieldDef
	Infos   map[string]FieldDef
	// Meta is every ## line, without the leading ##, in file order.
	Meta []string
}

// Contig is one ##contig line.
type Contig struct {
	ID       string
	Length   int
	Assembly string
}

// FieldDef is one ##INFO or ##FORMAT definition.
type FieldDef struct {
	ID, Number, Type, Description string
}

// Record is one data line. Sample columns are kept raw and parsed on
// demand, because most callers need only a few sites of a wide file.
type Record struct {
	Line   int
	Chrom  string // as written in the file; see NormalizeChrom
	Pos    int
	ID     string
	Ref    string
	Alt    []string // empty when ALT is "."
	Qual   string
	Filter string
	Info   string
	Format []string

	samples []string
	gtIndex int // index of GT in Format, -1 if absent
	dsIndex int // index of DS in Format, -1 if absent
}

// Genotype is one sample's call at one record.
type Genotype struct {
	// Alleles holds allele indices (0 = REF, 1.. = ALT); -1 is a missing
	// allele ('.'). Its length is the ploidy.
	Alleles []int
	Phased  bool
}

// Missing reports whether no allele was called.
func (g Genotype) Missing() bool {
	for _, a := range g.Alleles {
		if a >= 0 {
			return false
		}
	}
	return true
}

// Reader streams records from a VCF.
type Reader struct {
	sc     *bufio.Scanner
	closer io.Closer
	hdr    Header
	line   int
	err    error
}

// Open opens a VCF file, decompressing gzip and bgzip (BGZF is gzip with
// extra fields, so one decoder serves both).
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vcf: %w", err)
	}
	if err := checkBGZFEnd(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r, err := newReader(f, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// bgzfEOF is the empty block that ends every BGZF file (SAM/BAM spec §4.1.2).
var bgzfEOF = []byte{0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}

// checkBGZFEnd rejects a BGZF file without its end-of-file block. A BGZF
// file cut between blocks is otherwise a valid, shorter gzip stream, and a
// copy that stopped early would be read as a smaller cohort without any
// error. Plain gzip has no such marker and is not checked.
func checkBGZFEnd(f *os.File) error {
	head := make([]byte, 16)
	n, _ := f.ReadAt(head, 0)
	if n < 16 || head[0] != 0x1f || head[1] != 0x8b || head[3]&0x04 == 0 || head[12] != 'B' || head[13] != 'C' {
		return nil // not BGZF
	}
	st, err := f.Stat()
	if err != nil {
		return &Error{Msg: "stat: " + err.Error()}
	}
	tail := make([]byte, len(bgzfEOF))
	if st.Size() < int64(len(tail)) {
		return &Error{Msg: "truncated BGZF file"}
	}
	if _, err := f.ReadAt(tail, st.Size()-int64(len(tail))); err != nil {
		return &Error{Msg: "reading BGZF end: " + err.Error()}
	}
	if !bytes.Equal(tail, bgzfEOF) {
		return &Error{Msg: "truncated BGZF file: the end-of-file block is missing (was the copy cut short?)"}
	}
	return nil
}

// NewReader reads a VCF from r, plain or gzip-compressed.
func NewReader(r io.Reader) (*Reader, error) {
	return newReader(r, nil)
}

func newReader(r io.Reader, closer io.Closer) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(2)
	var src io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, &Error{Msg: "bad gzip stream: " + err.Error()}
		}
		gz.Multistream(true) // BGZF is a series of gzip members
		src = gz
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	rd := &Reader{sc: sc, closer: closer}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Header returns the parsed header.
func (r *Reader) Header() *Header { return &r.hdr }

// Close closes the underlying file when the Reader opened it.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

func (r *Reader) readHeader() error {
	h := &r.hdr
	h.Formats = map[string]FieldDef{}
	h.Infos = map[string]FieldDef{}
	for r.sc.Scan() {
		r.line++
		line := strings.TrimRight(r.sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "##"):
			meta := line[2:]
			h.Meta = append(h.Meta, meta)
			if r.line == 1 {
				if !strings.HasPrefix(meta, "fileformat=VCFv4") {
					return &Error{Line: 1, Msg: fmt.Sprintf("first line must be ##fileformat=VCFv4.x, found %q", truncate(line))}
				}
				h.FileFormat = strings.TrimPrefix(meta, "fileformat=")
				continue
			}
			if err := r.parseMeta(meta); err != nil {
				return err
			}
		case strings.HasPrefix(line, "#CHROM"):
			if h.FileFormat == "" {
				return &Error{Line: r.line, Msg: "missing ##fileformat=VCFv4.x line"}
			}
			return r.parseColumns(line)
		default:
			if r.line == 1 {
				return &Error{Line: 1, Msg: fmt.Sprintf("not a VCF: first line must be ##fileformat=VCFv4.x, found %q", truncate(line))}
			}
			return &Error{Line: r.line, Msg: "header has no #CHROM line before the data"}
		}
	}
	if err := r.sc.Err(); err != nil {
		return &Error{Line: r.line, Msg: "reading header: " + err.Error()}
	}
	if r.line == 0 {
		return &Error{Msg: "empty file"}
	}
	return &Error{Line: r.line, Msg: "header has no #CHROM line"}
}

var fixedColumns = []string{"#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"}

func (r *Reader) parseColumns(line string) error {
	cols := strings.Split(line, "\t")
	if len(cols) < 8 {
		return &Error{Line: r.line, Msg: fmt.Sprintf("#CHROM line has %d tab-separated columns, want at least 8", len(cols))}
	}
	for i, want := range fixedColumns {
		if cols[i] != want {
			return &Error{Line: r.line, Msg: fmt.Sprintf("#CHROM line column %d is %q, want %q", i+1, cols[i], want)}
		}
	}
	if len(cols) == 9 {
		return &Error{Line: r.line, Msg: "#CHROM line has FORMAT but no sample columns"}
	}
	if len(cols) > 9 {
		if cols[8] != "FORMAT" {
			return &Error{Line: r.line, Msg: fmt.Sprintf("#CHROM line column 9 is %q, want \"FORMAT\"", cols[8])}
		}
		seen := make(map[string]int, len(cols)-9)
		for i, s := range cols[9:] {
			if s == "" {
				return &Error{Line: r.line, Msg: fmt.Sprintf("sample column %d has an empty ID", i+1)}
			}
			if j, dup := seen[s]; dup {
				return &Error{Line: r.line, Msg: fmt.Sprintf("sample ID %q appears twice (columns %d and %d)", s, j+10, i+10)}
			}
			seen[s] = i
		}
		r.hdr.Samples = cols[9:]
	}
	return nil
}

func (r *Reader) parseMeta(meta string) error {
	key, val, ok := strings.Cut(meta, "=")
	if !ok {
		return nil // free-text meta lines are allowed
	}
	h := &r.hdr
	switch key {
	case "reference":
		if b := buildFromText(val); b != "" {
			h.Build = b
		}
	case "contig", "INFO", "FORMAT":
		fields, err := parseStructured(val)
		if err != nil {
			return &Error{Line: r.line, Msg: fmt.Sprintf("##%s: %v", key, err)}
		}
		switch key {
		case "contig":
			c := Contig{ID: fields["ID"], Assembly: fields["assembly"]}
			if c.ID == "" {
				return &Error{Line: r.line, Msg: "##contig without ID"}
			}
			if l := fields["length"]; l != "" {
				n, err := strconv.Atoi(l)
				if err != nil || n <= 0 {
					return &Error{Line: r.line, Msg: fmt.Sprintf("##contig %s has length %q, want a positive integer", c.ID, l)}
				}
				c.Length = n
			}
			h.Contigs = append(h.Contigs, c)
			if h.Build == "" {
				if b := buildFromText(c.Assembly); b != "" {
					h.Build = b
				} else if b := buildFromLength(c.ID, c.Length); b != "" {
					h.Build = b
				}
			}
		default:
			d := FieldDef{ID: fields["ID"], Number: fields["Number"], Type: fields["Type"], Description: fields["Description"]}
			if d.ID == "" {
				return &Error{Line: r.line, Msg: fmt.Sprintf("##%s without ID", key)}
			}
			if key == "INFO" {
				h.Infos[d.ID] = d
			} else {
				h.Formats[d.ID] = d
			}
		}
	}
	return nil
}

// parseStructured parses <ID=x,Number=1,Description="a, b">.
func parseStructured(s string) (map[string]string, error) {
	if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return nil, fmt.Errorf("want <key=value,...>, found %q", truncate(s))
	}
	s = s[1 : len(s)-1]
	out := map[string]string{}
	for len(s) > 0 {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("field %q has no value", truncate(s))
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return nil, fmt.Errorf("unterminated quoted value for %s", k)
			}
			v = rest[1:end]
			rest = rest[end+1:]
			rest = strings.TrimPrefix(rest, ",")
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		out[k] = v
		s = rest
	}
	return out, nil
}

// Read returns the next record, or io.EOF after the last one.
func (r *Reader) Read() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for r.sc.Scan() {
		r.line++
		line := r.sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue
		}
		rec, err := r.parseRecord(string(line))
		if err != nil {
			r.err = err
			return nil, err
		}
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		r.err = &Error{Line: r.line + 1, Msg: "reading: " + err.Error()}
		return nil, r.err
	}
	r.err = io.EOF
	return nil, io.EOF
}

func (r *Reader) parseRecord(line string) (*Record, error) {
	fail := func(format string, a ...any) (*Record, error) {
		return nil, &Error{Line: r.line, Msg: fmt.Sprintf(format, a...)}
	}
	if line[0] == '#' {
		return fail("header line after the data started")
	}
	cols := strings.Split(line, "\t")
	want := 8
	if len(r.hdr.Samples) > 0 {
		want = 9 + len(r.hdr.Samples)
	}
	if len(cols) != want {
		return fail("%d tab-separated columns, header says %d", len(cols), want)
	}
	rec := &Record{Line: r.line, Chrom: cols[0], ID: cols[2], Ref: cols[3], Qual: cols[5], Filter: cols[6], Info: cols[7], gtIndex: -1, dsIndex: -1}
	if rec.Chrom == "" {
		return fail("empty CHROM")
	}
	pos, err := strconv.Atoi(cols[1])
	if err != nil || pos < 0 {
		return fail("POS %q is not a non-negative integer", truncate(cols[1]))
	}
	rec.Pos = pos
	if !validBases(rec.Ref) {
		return fail("REF %q is not a sequence of A, C, G, T, N", truncate(rec.Ref))
	}
	if cols[4] != "." {
		rec.Alt = strings.Split(cols[4], ",")
		for _, a := range rec.Alt {
			if a == "" {
				return fail("empty ALT allele in %q", truncate(cols[4]))
			}
			if a == "*" || a == "." || a[0] == '<' || strings.ContainsAny(a, "[]") {
				continue // spanning deletion, symbolic or breakend: kept, callers decide
			}
			if !validBases(a) {
				return fail("ALT %q is not a sequence of A, C, G, T, N", truncate(a))
			}
		}
	}
	if len(r.hdr.Samples) == 0 {
		return rec, nil
	}
	rec.Format = strings.Split(cols[8], ":")
	for i, f := range rec.Format {
		switch f {
		case "GT":
			if i != 0 {
				return fail("GT must be the first FORMAT key, found at position %d", i+1)
			}
			rec.gtIndex = i
		case "DS":
			rec.dsIndex = i
		}
	}
	rec.samples = cols[9:]
	// Validate every genotype now: a file with a bad call in its last
	// sample must fail as surely as one with a bad first sample.
	for i := range rec.samples {
		if _, err := rec.Genotype(i); err != nil {
			var ve *Error
			if errors.As(err, &ve) {
				return nil, ve
			}
			return nil, err
		}
		if rec.dsIndex >= 0 {
			if _, _, err := rec.dosage(i); err != nil {
				return nil, err
			}
		}
	}
	return rec, nil
}

// RawSample returns sample i's column as written (e.g. "0|1:0.98"), so a
// caller can copy one person's data into a new file without re-encoding it.
func (rec *Record) RawSample(i int) string { return rec.samples[i] }

// NumSamples is the number of sample columns.
func (rec *Record) NumSamples() int { return len(rec.samples) }

// Alleles returns REF followed by the ALT alleles, indexed as GT indexes them.
func (rec *Record) Alleles() []string {
	return append([]string{rec.Ref}, rec.Alt...)
}

// SampleField returns the raw value of FORMAT key for sample i; ok is false
// when the key is absent, the value is missing ('.'), or the sample column is
// cut short (VCF allows trailing fields to be dropped).
func (rec *Record) SampleField(i int, key string) (string, bool) {
	idx := -1
	for j, f := range rec.Format {
		if f == key {
			idx = j
			break
		}
	}
	if idx < 0 || i < 0 || i >= len(rec.samples) {
		return "", false
	}
	v := field(rec.samples[i], idx)
	if v == "" || v == "." {
		return "", false
	}
	return v, true
}

// field returns the idx-th ':'-separated field of s without allocating.
func field(s string, idx int) string {
	for k := 0; k < idx; k++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, ':'); j >= 0 {
		return s[:j]
	}
	return s
}

// Genotype parses the GT of sample i. A record without GT gives a missing
// diploid genotype.
func (rec *Record) Genotype(i int) (Genotype, error) {
	if rec.gtIndex < 0 {
		return Genotype{Alleles: []int{-1, -1}}, nil
	}
	return parseGT(field(rec.samples[i], rec.gtIndex), len(rec.Alt), rec.Line, i)
}

// Dosage returns the DS (expected ALT allele count) of sample i; ok is false
// when the record has no DS or it is missing for this sample.
func (rec *Record) Dosage(i int) (float64, bool) {
	v, ok, _ := rec.dosage(i)
	return v, ok
}

func (rec *Record) dosage(i int) (float64, bool, error) {
	if rec.dsIndex < 0 {
		return 0, false, nil
	}
	s := field(rec.samples[i], rec.dsIndex)
	if s == "" || s == "." {
		return 0, false, nil
	}
	if len(rec.Alt) > 1 {
		s, _, _ = strings.Cut(s, ",") // first ALT; multi-ALT DS needs a split file
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 2 {
		return 0, false, &Error{Line: rec.Line, Msg: fmt.Sprintf("sample %d: DS %q is not a dosage between 0 and 2", i+1, truncate(s))}
	}
	return v, true, nil
}

func parseGT(s string, nAlt, line, sample int) (Genotype, error) {
	var g Genotype
	if s == "" || s == "." {
		return Genotype{Alleles: []int{-1, -1}}, nil
	}
	g.Alleles = make([]int, 0, 2)
	start := 0
	for k := 0; k <= len(s); k++ {
		if k < len(s) && s[k] != '/' && s[k] != '|' {
			continue
		}
		tok := s[start:k]
		a := -1
		if tok != "." {
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 {
				return g, &Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q has a bad allele %q", sample+1, truncate(s), truncate(tok))}
			}
			if n > nAlt {
				return g, &Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q refers to allele %d but the record has %d ALT allele(s)", sample+1, s, n, nAlt)}
			}
			a = n
		}
		g.Alleles = append(g.Alleles, a)
		if k < len(s) {
			if s[k] == '|' {
				g.Phased = true
			}
		}
		start = k + 1
	}
	if len(g.Alleles) > 2 {
		return g, &Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q has ploidy %d; only haploid and diploid calls are supported", sample+1, s, len(g.Alleles))}
	}
	if len(g.Alleles) == 1 {
		// Haploid calls (chrX in males, chrY, MT) are phased by nature.
		g.Phased = true
	}
	return g, nil
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

// NormalizeChrom maps the spellings of a chromosome name in common use to one
// form ("chr10", "10" → "10"; "chrM", "M", "MT" → "MT"; "chrX" → "X"), so a
// GRCh38 "chr" file and a bare-number file match the same definitions.
func NormalizeChrom(s string) string {
	t := s
	if len(t) > 3 && (t[:3] == "chr" || t[:3] == "Chr" || t[:3] == "CHR") {
		t = t[3:]
	}
	switch t {
	case "M", "MT", "m", "mt":
		return "MT"
	case "x":
		return "X"
	case "y":
		return "Y"
	}
	return t
}

func buildFromText(s string) string {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "grch38"), strings.Contains(l, "hg38"), strings.Contains(l, "b38"):
		return "GRCh38"
	case strings.Contains(l, "grch37"), strings.Contains(l, "hg19"), strings.Contains(l, "b37"), strings.Contains(l, "hs37"):
		return "GRCh37"
	}
	return ""
}

// Lengths of chromosome 1 and 22 tell the builds apart when a header names
// no assembly (plink2 and many imputation servers write only lengths).
var buildLengths = map[string]map[int]string{
	"1":  {248956422: "GRCh38", 249250621: "GRCh37"},
	"10": {133797422: "GRCh38", 135534747: "GRCh37"},
	"22": {50818468: "GRCh38", 51304566: "GRCh37"},
}

func buildFromLength(id string, n int) string {
	return buildLengths[NormalizeChrom(id)][n]
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
