package pgx

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// The VCF reader keeps, for every position of interest, one compact genotype
// per sample (three bytes), so a biobank file of many thousand samples fits
// in memory as samples × positions of interest and samples can then be called
// in parallel. It applies PharmCAT's reader rules (VcfReader.java):
//
//   - a record whose REF differs from the definition's is discarded, and does
//     not count as the position's record;
//   - FILTER PCATxREF/PCATxALT/PCATxINDEL from PharmCAT's preprocessor are
//     re-checked against the definition and noted when they no longer hold;
//   - symbolic ALTs (<*>, <NON_REF>) are noted; a genotype that selects one
//     (or the spanning deletion '*') is discarded;
//   - an ALT the definition does not know is noted for the samples that carry
//     it (the matcher then decides: no call, or reference for some genes);
//   - a diploid genotype with one allele missing is kept when the called
//     allele is not reference ("./1"), and is missing when it is ("0/.");
//   - a heterozygous GT whose AD shows reads for one allele only is discarded
//     (AD is used when the header declares it Number=R, or does not declare
//     it at all, with a file-level warning; any other Number is ignored);
//   - a later record at a position already read is ignored when it carries no
//     base ALT (gVCF <*> lines), and otherwise makes the position missing: a
//     split multi-allelic site cannot be read line by line without reading a
//     0 on one line as reference for the other line's ALT.

// Genotype flags.
const (
	gtPhased    = 1 << iota // written with '|'
	gtHaploid               // one allele
	gtDiscarded             // the reader threw the genotype away (see notes)
)

// noAllele marks a missing allele index.
const noAllele = -1

// gcode is one sample's genotype at one position: allele indexes into the
// column's alleles (noAllele for '.') and flags.
type gcode struct {
	a, b  int8
	flags uint8
}

// column is one position of interest as read from the VCF.
type column struct {
	loc     Locus
	ref     string
	alleles []string // REF then ALTs, upper case
	gts     []gcode
	ps      map[int]string // sample -> PS, only for phased genotypes that have one
}

// table is a VCF restricted to the positions of interest.
type table struct {
	build   string
	samples []string
	cols    map[Locus]*column
	// posNotes are notes that hold for every sample at a position (REF
	// mismatch, duplicate records, preprocessor filters, symbolic ALTs).
	posNotes map[Locus][]string
	// sampleNotes are notes for one sample at one position.
	sampleNotes map[Locus]map[int][]string
	// Warnings are file-level.
	warnings []string
	// published marks the positions whose sampleNotes map other goroutines
	// may be reading (a plan refers to it): noteSample copies such a map
	// before writing to it. (Under today's rules no record writes notes
	// into an existing map once its position has a column, so the copy is
	// a guard for rules to come.)
	published map[Locus]bool
}

func (t *table) notePos(l Locus, msg string) {
	if slices.Contains(t.posNotes[l], msg) {
		return
	}
	t.posNotes[l] = append(t.posNotes[l], msg)
}

func (t *table) noteSample(l Locus, i int, msg string) {
	m := t.sampleNotes[l]
	if m != nil && t.published[l] {
		m = maps.Clone(m)
		t.sampleNotes[l] = m
		delete(t.published, l)
	}
	if m == nil {
		m = map[int][]string{}
		t.sampleNotes[l] = m
	}
	m[i] = append(m[i], msg)
}

// adMode says how the reader uses FORMAT AD.
type adMode int

const (
	adUse adMode = iota
	adIgnore
)

// readTable reads r, keeping the positions in want (every position when want
// is nil; then no definition checks are made). It fails on the first
// malformed record.
func readTable(ctx context.Context, r *vcf.Reader, want map[Locus]*Variant) (*table, error) {
	return readTableSeen(ctx, r, want, nil)
}

// readTableSeen is readTable calling seen as readRecords does.
func readTableSeen(ctx context.Context, r *vcf.Reader, want map[Locus]*Variant, seen func(*table, Locus)) (*table, error) {
	h := r.Header()
	var samples []string
	next := func() (*recView[string], error) {
		for {
			rec, err := r.Read()
			if err != nil {
				return nil, err
			}
			loc := Locus{vcf.NormalizeChrom(rec.Chrom), int64(rec.Pos)}
			if want != nil {
				if _, ok := want[loc]; !ok {
					continue
				}
			}
			samples = samples[:0]
			for i := range rec.NumSamples() {
				samples = append(samples, rec.RawSample(i))
			}
			return &recView[string]{line: rec.Line, loc: loc, ref: rec.Ref, alt: rec.Alt, filter: rec.Filter, format: rec.Format, samples: samples, validated: true}, nil
		}
	}
	return readRecords(ctx, h, want, next, seen)
}

// recView is one VCF record as the table reader needs it; S is string or
// []byte, so the fast byte reader and vcf.Reader share one decoder.
type recView[S byteSeq] struct {
	line    int
	loc     Locus
	ref     string
	alt     []string
	filter  string
	format  []string
	samples []S // raw sample columns
	// Or, when samples is nil, the nRaw sample columns as written
	// (tab-separated; the reader has checked their count).
	raw  S
	nRaw int
	// validated is true when every genotype was already checked (vcf.Reader
	// does); otherwise the decoder checks the GTs it reads.
	validated bool
}

type byteSeq interface{ ~string | ~[]byte }

// readRecords builds the table from the records next returns (io.EOF ends
// them); next skips records outside want itself. seen, when not nil, is
// called with the table and each record's position once the record has
// been applied (the position's column and notes are then as the file so far
// makes them).
func readRecords[S byteSeq](ctx context.Context, h *vcf.Header, want map[Locus]*Variant, next func() (*recView[S], error), seen func(*table, Locus)) (*table, error) {
	t := &table{
		build:       h.Build,
		samples:     h.Samples,
		cols:        map[Locus]*column{},
		posNotes:    map[Locus][]string{},
		sampleNotes: map[Locus]map[int][]string{},
	}
	ad := adUse
	if fd, ok := h.Formats["AD"]; ok {
		switch fd.Number {
		case "R":
		case ".":
			ad = adIgnore
		default:
			ad = adIgnore
			t.warnings = append(t.warnings, fmt.Sprintf("FORMAT AD is declared Number=%s, not R (one depth per allele); AD is not used to check genotypes", fd.Number))
		}
	}
	adWarned := false
	split := map[Locus]bool{}
	// add applies one record at a wanted position.
	add := func(rec *recView[S]) error {
		loc := rec.loc
		var def *Variant
		if want != nil {
			def = want[loc]
		}
		if split[loc] {
			return nil
		}
		if !t.checkRecord(rec.filter, rec.ref, rec.alt, loc, def) {
			return nil
		}
		if _, dup := t.cols[loc]; dup {
			if len(baseAlts(rec.alt)) == 0 {
				t.notePos(loc, fmt.Sprintf("%s: another record at this position (line %d) has no base ALT; ignored, the first record is used", loc, rec.line))
				return nil
			}
			delete(t.cols, loc)
			split[loc] = true
			t.notePos(loc, fmt.Sprintf("%s appears on several VCF lines (split multi-allelic site?); position ignored — join with bcftools norm -m+", loc))
			return nil
		}
		if ad == adUse && !adWarned && len(h.Formats) > 0 && slices.Contains(rec.format, "AD") {
			if _, declared := h.Formats["AD"]; !declared {
				adWarned = true
				t.warnings = append(t.warnings, "FORMAT AD is used but not declared in the header; it is read as one depth per allele")
			}
		}
		col, err := decodeRecord(t, rec, def, ad)
		if err != nil {
			return err
		}
		t.cols[loc] = col
		return nil
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("pgx: read VCF: %w", err)
			}
		}
		rec, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pgx: read VCF: %w", err)
		}
		if err := add(rec); err != nil {
			return nil, err
		}
		if seen != nil {
			seen(t, rec.loc)
		}
	}
	return t, nil
}

// baseAlts drops symbolic, spanning-deletion and missing ALTs.
func baseAlts(alts []string) []string {
	var out []string
	for _, a := range alts {
		if !isSymbolic(a) {
			out = append(out, strings.ToUpper(a))
		}
	}
	return out
}

func isSymbolic(a string) bool {
	return a == "" || a == "." || a == "*" || a[0] == '<' || strings.ContainsAny(a, "[]")
}

func hasFilter(filter string, f string) bool {
	for _, x := range strings.Split(filter, ";") {
		if x == f {
			return true
		}
	}
	return false
}

// checkRecord applies the record-level rules; false discards the record.
func (t *table) checkRecord(filter, ref string, alt []string, loc Locus, def *Variant) bool {
	if def == nil {
		if hasFilter(filter, "PCATxREF") {
			t.notePos(loc, fmt.Sprintf("%s: genotype discarded: the preprocessor flagged a REF mismatch (PCATxREF)", loc))
			return false
		}
		if hasFilter(filter, "PCATxALT") {
			t.notePos(loc, fmt.Sprintf("%s: the preprocessor flagged unexpected ALT bases (PCATxALT)", loc))
		}
		if hasFilter(filter, "PCATxINDEL") {
			t.notePos(loc, fmt.Sprintf("%s: the preprocessor flagged an unexpected indel representation (PCATxINDEL)", loc))
		}
	} else {
		if !strings.EqualFold(ref, def.Ref) {
			t.notePos(loc, fmt.Sprintf("%s: VCF REF %s does not match the definition's %s; genotype discarded (normalise the VCF against GRCh38)", def.Label(), ref, def.Ref))
			return false
		}
		if hasFilter(filter, "PCATxREF") {
			t.notePos(loc, fmt.Sprintf("%s: FILTER PCATxREF (REF mismatch) but REF matches the definition; was the VCF preprocessed with another PharmCAT version?", def.Label()))
		}
		alts := baseAlts(alt)
		multiExpected := slices.ContainsFunc(def.Alts, func(a string) bool { return len(a) != len(def.Ref) })
		multiFound := slices.ContainsFunc(alts, func(a string) bool { return len(a) != len(ref) })
		switch {
		case multiExpected && !multiFound && len(alts) > 0:
			t.notePos(loc, fmt.Sprintf("%s: VCF has SNV ALT(s) %s where the definition expects an indel or repeat (%s)", def.Label(), strings.Join(alts, ","), strings.Join(def.Alts, ",")))
		case hasFilter(filter, "PCATxALT") && !slices.ContainsFunc(alts, func(a string) bool { return !slices.Contains(def.Alts, a) }):
			t.notePos(loc, fmt.Sprintf("%s: FILTER PCATxALT (ALT mismatch) but the ALTs match the definition; was the VCF preprocessed with another PharmCAT version?", def.Label()))
		}
	}
	for _, a := range alt {
		if a != "." && isSymbolic(a) {
			t.notePos(loc, fmt.Sprintf("%s: ALT uses symbolic allele %s; genotypes that select it are discarded", loc, a))
		}
	}
	return true
}

// decodeRecord turns every sample's genotype at rec into a gcode.
func decodeRecord[S byteSeq](t *table, rec *recView[S], def *Variant, ad adMode) (*column, error) {
	loc := rec.loc
	n := len(rec.samples)
	if rec.samples == nil {
		n = rec.nRaw
	}
	col := &column{loc: loc, ref: strings.ToUpper(rec.ref), gts: make([]gcode, n)}
	col.alleles = make([]string, 0, 1+len(rec.alt))
	col.alleles = append(col.alleles, col.ref)
	for _, a := range rec.alt {
		col.alleles = append(col.alleles, strings.ToUpper(a))
	}
	if len(col.alleles) > 127 {
		return nil, fmt.Errorf("pgx: read VCF: line %d: %d alleles; at most 126 ALTs are supported", rec.line, len(rec.alt))
	}
	// Haploid calls are only expected on X, Y and MT; elsewhere a single
	// called allele is a partial genotype.
	sexOrMT := loc.Chrom == "X" || loc.Chrom == "Y" || loc.Chrom == "MT"
	label := loc.String()
	if def != nil {
		label = def.Label()
	}
	gtIdx := slices.Index(rec.format, "GT")
	psIdx := slices.Index(rec.format, "PS")
	adIdx := -1
	if ad == adUse {
		adIdx = slices.Index(rec.format, "AD")
	}
	nAlt := len(rec.alt)
	rest := rec.raw
	for i := range n {
		var raw S
		switch {
		case rec.samples != nil:
			raw = rec.samples[i]
		case len(rest) > 3 && rest[3] == '\t' && rest[0] != '\t' && rest[1] != '\t' && rest[2] != '\t':
			// Three-byte columns, the commonest, without searching.
			raw, rest = rest[:3], rest[4:]
		default:
			if k := indexByte(rest, '\t'); k >= 0 {
				raw, rest = rest[:k], rest[k+1:]
			} else {
				raw, rest = rest, rest[:0]
			}
		}
		// Homozygous reference with nothing after GT, by far the most
		// common column: none of the rules below can apply to it.
		if gtIdx == 0 && len(raw) == 3 && raw[0] == '0' && raw[2] == '0' {
			switch raw[1] {
			case '/':
				col.gts[i] = gcode{}
				continue
			case '|':
				col.gts[i] = gcode{flags: gtPhased}
				continue
			}
		}
		var g gcode
		var gt S
		if gtIdx < 0 {
			g = gcode{a: noAllele, b: noAllele}
		} else {
			gt = subfield(raw, gtIdx)
			var ok bool
			if g, ok = fastGT(gt); !ok || (!rec.validated && (int(g.a) > nAlt || int(g.b) > nAlt)) {
				var err error
				if g, err = parseGTSeq(gt, nAlt, rec.line, i); err != nil {
					return nil, fmt.Errorf("pgx: read VCF: %w", err)
				}
			}
		}
		if g.a == noAllele && (g.b == noAllele || g.flags&gtHaploid != 0) {
			col.gts[i] = g // no call: missing, never reference
			continue
		}
		discard := func(msg string) {
			g.flags |= gtDiscarded
			t.noteSample(loc, i, msg)
		}
		// Symbolic or spanning-deletion allele selected.
		for _, x := range []int8{g.a, g.b} {
			if x > 0 && isSymbolic(col.alleles[x]) && g.flags&gtDiscarded == 0 {
				discard(fmt.Sprintf("%s: genotype %s selects the symbolic allele %s; discarded", label, gt, col.alleles[x]))
			}
		}
		if g.flags&gtDiscarded != 0 {
			col.gts[i] = g
			continue
		}
		// Partial diploid genotype.
		if g.flags&gtHaploid == 0 && (g.a == noAllele) != (g.b == noAllele) {
			called := max(g.a, g.b)
			switch {
			case sexOrMT:
				// chrX etc.: a single called allele is accepted as is.
			case called == 0:
				discard(fmt.Sprintf("%s: partial genotype %s calls only the reference allele; treated as missing", label, gt))
				col.gts[i] = g
				continue
			default:
				t.noteSample(loc, i, fmt.Sprintf("%s: partial genotype %s: one allele called (%s), the other missing", label, gt, col.alleles[called]))
			}
		}
		// ALT the definition does not know, carried by this sample.
		if def != nil {
			for _, x := range []int8{g.a, g.b} {
				if x > 0 && !slices.Contains(def.Alts, col.alleles[x]) {
					t.noteSample(loc, i, fmt.Sprintf("%s: allele %s does not match the definition (expected %s, found %s in VCF)", label, col.alleles[x], strings.Join(def.Alts, "/"), col.alleles[x]))
					break
				}
			}
		}
		// AD contradicting a heterozygous GT.
		if adIdx >= 0 && g.flags&gtHaploid == 0 && g.a != noAllele && g.b != noAllele && g.a != g.b {
			if v := string(subfield(raw, adIdx)); v != "" && v != "." {
				positive, bad := 0, false
				for _, d := range strings.Split(v, ",") {
					if d == "." {
						continue
					}
					n, err := strconv.Atoi(d)
					if err != nil {
						bad = true
						break
					}
					if n > 0 {
						positive++
					}
				}
				switch {
				case bad:
					t.noteSample(loc, i, fmt.Sprintf("%s: AD %q is not a list of depths; ignored", label, v))
				case positive == 1:
					discard(fmt.Sprintf("%s: heterozygous GT %s but AD %s supports one allele; genotype discarded", label, gt, v))
				}
			}
		}
		if g.flags&gtPhased != 0 && psIdx >= 0 {
			if ps := string(subfield(raw, psIdx)); ps != "" && ps != "." {
				if col.ps == nil {
					col.ps = map[int]string{}
				}
				col.ps[i] = ps
			}
		}
		col.gts[i] = g
	}
	return col, nil
}

// subfield returns the idx-th ':'-separated field of s ("" when the column
// is cut short).
func subfield[S byteSeq](s S, idx int) S {
	for k := 0; k < idx; k++ {
		j := indexByte(s, ':')
		if j < 0 {
			return s[:0]
		}
		s = s[j+1:]
	}
	if j := indexByte(s, ':'); j >= 0 {
		return s[:j]
	}
	return s
}

func indexByte[S byteSeq](s S, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// parseGTSeq parses any GT the VCF rules allow (multi-digit allele
// indexes, haploid, missing), checking each index against the ALT count,
// with the vcf package's messages.
func parseGTSeq[S byteSeq](s S, nAlt, line, sample int) (gcode, error) {
	g := gcode{a: noAllele, b: noAllele}
	if len(s) == 0 || (len(s) == 1 && s[0] == '.') {
		return g, nil
	}
	var al []int
	phased := false
	start := 0
	for k := 0; k <= len(s); k++ {
		if k < len(s) && s[k] != '/' && s[k] != '|' {
			continue
		}
		tok := string(s[start:k])
		a := -1
		if tok != "." {
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 {
				return g, &vcf.Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q has a bad allele %q", sample+1, string(s), tok)}
			}
			if n > nAlt {
				return g, &vcf.Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q refers to allele %d but the record has %d ALT allele(s)", sample+1, string(s), n, nAlt)}
			}
			a = n
		}
		al = append(al, a)
		if k < len(s) && s[k] == '|' {
			phased = true
		}
		start = k + 1
	}
	if len(al) > 2 {
		return g, &vcf.Error{Line: line, Msg: fmt.Sprintf("sample %d: GT %q has ploidy %d; only haploid and diploid calls are supported", sample+1, string(s), len(al))}
	}
	g.a = int8(al[0])
	if len(al) == 1 {
		g.flags |= gtHaploid
		return g, nil
	}
	g.b = int8(al[1])
	if phased {
		g.flags |= gtPhased
	}
	return g, nil
}

// call converts sample i's gcode at col into a Call (discarded genotypes
// become missing alleles).
func (col *column) call(i int) Call { return col.callInto(i, nil) }

// callInto is call with the alleles appended to buf.
func (col *column) callInto(i int, buf []string) Call {
	g := col.gts[i]
	c := Call{Ref: col.ref}
	if g.flags&gtHaploid != 0 {
		c.Alleles = append(buf, col.allele(g.a))
		c.Phased = true
	} else {
		c.Alleles = append(buf, col.allele(g.a), col.allele(g.b))
		c.Phased = g.flags&gtPhased != 0
	}
	if g.flags&gtDiscarded != 0 {
		for k := range c.Alleles {
			c.Alleles[k] = ""
		}
	}
	if c.Phased && col.ps != nil {
		c.PhaseSet = col.ps[i]
	}
	return c
}

func (col *column) allele(x int8) string {
	if x == noAllele {
		return ""
	}
	return col.alleles[x]
}

// sample materialises sample i restricted to loci (every read position when
// loci is nil).
func (t *table) sample(i int, loci []Locus) *Sample {
	s := NewSample(t.samples[i])
	s.notes = map[Locus][]string{}
	add := func(l Locus) {
		if col, ok := t.cols[l]; ok {
			s.Calls[l] = col.call(i)
		}
		n := t.posNotes[l]
		if sn := t.sampleNotes[l][i]; len(sn) > 0 {
			n = append(slices.Clone(n), sn...)
		}
		if len(n) > 0 {
			s.notes[l] = n
		}
	}
	if loci == nil {
		seen := map[Locus]bool{}
		for l := range t.cols {
			seen[l] = true
		}
		for l := range t.posNotes {
			seen[l] = true
		}
		for l := range t.sampleNotes {
			seen[l] = true
		}
		for l := range seen {
			add(l)
		}
		return s
	}
	for _, l := range loci {
		add(l)
	}
	return s
}

// VCFData is a VCF as the matcher sees it: each sample's calls at the
// positions of interest, with the reader's notes.
type VCFData struct {
	Build   string
	Samples []*Sample
	// Warnings are about the file as a whole (e.g. how AD is declared).
	Warnings []string
}

// ReadVCF reads the positions the definitions define for genes (all genes
// when empty; every position in the file when defs is nil, which is only
// useful to inspect a file) and applies the reader rules above. It fails on
// the first malformed record, such as a GT that refers to an ALT the record
// does not have.
func ReadVCF(ctx context.Context, r *vcf.Reader, defs *Definitions, genes []string) (*VCFData, error) {
	var want map[Locus]*Variant
	if defs != nil {
		gs := genes
		if len(gs) == 0 {
			gs = defs.GeneNames()
		}
		want = map[Locus]*Variant{}
		for _, g := range gs {
			def, ok := defs.Genes[g]
			if !ok {
				return nil, fmt.Errorf("%w %s", ErrUnknownGene, g)
			}
			addPositions(want, def)
		}
	}
	t, err := readTable(ctx, r, want)
	if err != nil {
		return nil, err
	}
	out := &VCFData{Build: t.build, Warnings: t.warnings}
	for i := range t.samples {
		out.Samples = append(out.Samples, t.sample(i, nil))
	}
	return out, nil
}

func addPositions(want map[Locus]*Variant, def *GeneDefinition) {
	ch := vcf.NormalizeChrom(def.Chromosome)
	for i := range def.Variants {
		want[Locus{ch, def.Variants[i].Position}] = &def.Variants[i]
	}
}

// fastGT decodes the common one-digit diploid and haploid genotypes
// ("0/1", "1|0", "./.", "1") without allocating; ok is false for anything
// else, which parseGTSeq then parses.
func fastGT[S byteSeq](s S) (gcode, bool) {
	idx := func(c byte) (int8, bool) {
		switch {
		case c == '.':
			return noAllele, true
		case c >= '0' && c <= '9':
			return int8(c - '0'), true
		}
		return 0, false
	}
	switch len(s) {
	case 1:
		a, ok := idx(s[0])
		return gcode{a: a, b: noAllele, flags: gtHaploid}, ok
	case 3:
		a, ok1 := idx(s[0])
		b, ok2 := idx(s[2])
		if !ok1 || !ok2 || (s[1] != '/' && s[1] != '|') {
			return gcode{}, false
		}
		g := gcode{a: a, b: b}
		if s[1] == '|' {
			g.flags |= gtPhased
		}
		return g, true
	}
	return gcode{}, false
}
