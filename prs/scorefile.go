// Package prs computes polygenic risk scores: it reads PGS Catalog scoring
// files, matches their variants to a genotype file and sums dosage × weight
// per person.
//
// The package is built for per-patient clinical use, which changes two
// defaults against research pipelines: a person's score never depends on who
// else is in the batch (no in-sample mean imputation), and every variant that
// was not scored is listed with a reason, so a report can say exactly which
// part of the score it stands on.
package prs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// EffectType says how a dosage turns into a contribution. The PGS Catalog
// marks rows is_dominant or is_recessive; everything else is additive.
type EffectType string

const (
	Additive  EffectType = "additive"
	Dominant  EffectType = "dominant"  // weight once if dosage ≥ 1
	Recessive EffectType = "recessive" // weight once if dosage = 2
)

// Score is one parsed scoring file.
type Score struct {
	ID     string `json:"pgs_id"`   // pgs_id, or omicspred_id/score_id/pgs_name, or the file name
	Name   string `json:"pgs_name"` // author's name for the score
	Source string `json:"source"`   // the name the file was read under
	// FormatVersion is "2.0" for PGS Catalog files and "" for custom files,
	// which pgsc_calc accepts without the header.
	FormatVersion string `json:"format_version,omitempty"`
	// GenomeBuild is the build of the author-submitted positions,
	// normalised ("GRCh37", "GRCh38", "NCBI36"), "" when not reported.
	GenomeBuild string `json:"genome_build,omitempty"`
	// HarmonisedBuild is HmPOS_build; when set, the hm_chr/hm_pos columns
	// are the positions used, because they are the ones checked against
	// that build by the PGS Catalog.
	HarmonisedBuild string `json:"hmpos_build,omitempty"`
	// Build is the build of Variant positions: HarmonisedBuild when the
	// file is harmonised, else GenomeBuild.
	Build string `json:"build,omitempty"`
	// Header holds every #key=value line, as written (values trimmed).
	Header   map[string]string `json:"header,omitempty"`
	Variants []Variant         `json:"-"`
}

// Variant is one scoring-file row that can be scored by dosage.
type Variant struct {
	Line  int    // line in the scoring file, for error messages and the unmatched list
	RSID  string // informational only: matching is by position and alleles
	Chrom string // normalised as vcf.NormalizeChrom does
	// Pos is 1-based; 0 means the row has no usable position (a failed
	// harmonisation), and it is reported as unmatched rather than dropped.
	Pos          int
	EffectAllele string
	// OtherAllele is "" when not given, or when several were given ('/'):
	// the matcher then accepts the effect allele at REF or ALT.
	OtherAllele string
	Weight      float64
	Effect      EffectType
	// Freq is allelefrequency_effect, NaN when absent. It is a fixed number
	// from the score's authors and is what the "freq" missing policy uses.
	Freq float64
	// NoPosReason says why Pos is 0.
	NoPosReason string
}

// ParseError is a fault in a scoring file: where it is, what is wrong, and
// what the user can do about it.
type ParseError struct {
	File string
	Line int // 0 when the fault is about the file as a whole
	Msg  string
	Fix  string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("scoring file ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// maxLine bounds one line so that a binary file fed by mistake fails fast
// instead of growing a buffer without end.
const maxLine = 1 << 20

// ParseScoringFile reads a PGS Catalog scoring file (format 2.0, plain or
// gzip) or a minimal custom file. name is used in error messages and as the
// fallback score ID.
//
// Rows that cannot be scored by a dosage (haplotypes, diplotypes,
// interactions, non-nucleotide alleles, genotype-specific weights) reject the
// whole file: silently dropping them would change the score's meaning.
func ParseScoringFile(r io.Reader, name string) (*Score, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, &ParseError{File: name, Msg: "bad gzip stream: " + err.Error()}
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	p := &parser{file: name, s: &Score{Source: name, Header: map[string]string{}}}
	if err := p.parse(br); err != nil {
		return nil, err
	}
	return p.s, nil
}

type parser struct {
	file string
	s    *Score
	line int
	col  map[string]int
	// indices of the columns in use, -1 when absent
	chr, pos, ea, oa, w, freq, dom, rec, inferOA, hap, dip, inter, or, hr, rsid, hmSource int
	ncols                                                                                 int
}

func (p *parser) fail(line int, fix, format string, a ...any) error {
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, a...), Fix: fix}
}

func (p *parser) readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", p.fail(p.line+1, "", "line longer than %d bytes; is this a scoring file?", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !(errors.Is(err, io.EOF) && len(buf) > 0) {
			if errors.Is(err, io.EOF) {
				return "", io.EOF
			}
			return "", &ParseError{File: p.file, Line: p.line + 1, Msg: "reading: " + err.Error()}
		}
		p.line++
		buf = bytes.TrimRight(buf, "\r\n")
		return string(buf), nil
	}
}

func (p *parser) parse(br *bufio.Reader) error {
	var header string
	for {
		line, err := p.readLine(br)
		if errors.Is(err, io.EOF) {
			return p.fail(0, "", "no column header line and no variants")
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != '#' {
			header = line
			break
		}
		if err := p.meta(line); err != nil {
			return err
		}
	}
	if err := p.columns(header); err != nil {
		return err
	}
	for {
		line, err := p.readLine(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := p.row(line); err != nil {
			return err
		}
	}
	if len(p.s.Variants) == 0 {
		return p.fail(0, "", "no variant rows after the column header")
	}
	anyPos := false
	for _, v := range p.s.Variants {
		if v.Pos > 0 {
			anyPos = true
			break
		}
	}
	if !anyPos {
		return p.fail(0, "download the file harmonised to your genotypes' build, or supply chr_name/chr_position",
			"none of the %d rows has a usable position (%s)", len(p.s.Variants), p.s.Variants[0].NoPosReason)
	}
	return nil
}

// legacyV1 matches the v1 metadata style ("# PGS ID = PGS000004").
var legacyV1 = regexp.MustCompile(`^#\s+[A-Za-z][A-Za-z ]*\s=\s`)

func (p *parser) meta(line string) error {
	if strings.HasPrefix(line, "##") {
		return nil // section titles
	}
	if legacyV1.MatchString(line) {
		return p.fail(p.line, "download the current (format 2.0) file from the PGS Catalog, e.g. PGSxxxxxx_hmPOS_GRCh38.txt.gz",
			"legacy PGS Catalog format v1 header %q (v1 was retired in December 2021)", strings.TrimSpace(line))
	}
	key, val, ok := strings.Cut(line[1:], "=")
	if !ok {
		return nil // free-text comment
	}
	// Real files carry trailing tabs on header lines and doubled quotes
	// in JSON values; the values are only read as plain words here.
	key = strings.TrimSpace(key)
	val = strings.TrimSpace(val)
	p.s.Header[key] = val
	switch key {
	case "format_version":
		if val != "2.0" {
			return p.fail(p.line, "download the current (format 2.0) file from the PGS Catalog",
				"format_version %q is not supported, want 2.0", val)
		}
		p.s.FormatVersion = val
	case "pgs_id", "omicspred_id", "score_id":
		if p.s.ID == "" || key == "pgs_id" {
			p.s.ID = val
		}
	case "pgs_name":
		p.s.Name = val
	case "genome_build":
		b, err := normBuild(val)
		if err != nil {
			return p.fail(p.line, "use GRCh37, GRCh38 or NR", "genome_build: %v", err)
		}
		p.s.GenomeBuild = b
	case "HmPOS_build":
		b, err := normBuild(val)
		if err != nil {
			return p.fail(p.line, "use GRCh37 or GRCh38", "HmPOS_build: %v", err)
		}
		p.s.HarmonisedBuild = b
	}
	return nil
}

// normBuild maps build spellings to one name; "" means not reported.
func normBuild(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "nr", "na":
		return "", nil
	case "grch37", "hg19", "b37", "hs37d5", "grch37.p13":
		return "GRCh37", nil
	case "grch38", "hg38", "b38":
		return "GRCh38", nil
	case "ncbi36", "hg18", "b36":
		return "NCBI36", nil
	}
	return "", fmt.Errorf("unknown build %q", s)
}

func (p *parser) columns(line string) error {
	cols := strings.Split(line, "\t")
	for len(cols) > 0 && strings.TrimSpace(cols[len(cols)-1]) == "" {
		cols = cols[:len(cols)-1] // trailing tabs
	}
	p.col = make(map[string]int, len(cols))
	for i, c := range cols {
		c = strings.TrimSpace(c)
		if c == "" {
			return p.fail(p.line, "", "column %d has an empty name", i+1)
		}
		if j, dup := p.col[c]; dup {
			return p.fail(p.line, "", "column %q appears twice (columns %d and %d)", c, j+1, i+1)
		}
		p.col[c] = i
	}
	p.ncols = len(cols)
	idx := func(name string) int {
		if i, ok := p.col[name]; ok {
			return i
		}
		return -1
	}
	has := func(name string) bool { return idx(name) >= 0 }

	switch {
	case has("reference_allele"):
		return p.fail(p.line, "download the current (format 2.0) file from the PGS Catalog, e.g. PGSxxxxxx_hmPOS_GRCh38.txt.gz",
			"column reference_allele is from the legacy format v1 (retired December 2021)")
	case has("accession") || has("effect_type") || has("row_nr"):
		return p.fail(p.line, "pass the original PGS Catalog scoring file instead",
			"columns accession/effect_type/row_nr mark a pgscatalog intermediate (normalised) file, not a scoring file")
	case has("ID") && !has("chr_name") && !has("hm_chr"):
		return p.fail(p.line, "pass the PGS Catalog scoring file the plink file was made from",
			"this looks like a plink2 --score file (ID, effect_allele, weights), not a PGS Catalog scoring file")
	case has("dosage_0_weight") || has("dosage_1_weight") || has("dosage_2_weight"):
		return p.fail(p.line, "use a score with per-allele effect_weight",
			"genotype-specific weights (dosage_0/1/2_weight) are not supported: the score is non-additive")
	}

	harmonised := p.s.HarmonisedBuild != "" && has("hm_chr") && has("hm_pos")
	if harmonised {
		p.chr, p.pos = idx("hm_chr"), idx("hm_pos")
		p.s.Build = p.s.HarmonisedBuild
	} else {
		p.chr, p.pos = idx("chr_name"), idx("chr_position")
		p.s.Build = p.s.GenomeBuild
		p.s.HarmonisedBuild = "" // a build without hm columns positions nothing
	}
	var missing []string
	if p.chr < 0 {
		missing = append(missing, "chr_name")
	}
	if p.pos < 0 {
		missing = append(missing, "chr_position")
	}
	p.ea = idx("effect_allele")
	if p.ea < 0 {
		missing = append(missing, "effect_allele")
	}
	p.w, p.or, p.hr = idx("effect_weight"), idx("OR"), idx("HR")
	if p.w < 0 && p.or < 0 && p.hr < 0 {
		missing = append(missing, "effect_weight")
	}
	if len(missing) > 0 {
		fix := "add the columns (tab-separated): chr_name chr_position effect_allele other_allele effect_weight"
		if (has("rsID") || has("hm_rsID")) && (p.chr < 0 || p.pos < 0) && p.ea >= 0 {
			id := p.s.ID
			if !strings.HasPrefix(id, "PGS") {
				id = "PGSxxxxxx"
			}
			fix = fmt.Sprintf("rsID-only rows cannot be matched by position: use the PGS Catalog harmonised file (%s_hmPOS_GRCh38.txt.gz or _GRCh37)", id)
		}
		return p.fail(p.line, fix, "missing required column(s) %s", strings.Join(missing, ", "))
	}
	p.oa = idx("other_allele")
	p.freq = idx("allelefrequency_effect")
	p.dom, p.rec = idx("is_dominant"), idx("is_recessive")
	p.hap, p.dip, p.inter = idx("is_haplotype"), idx("is_diplotype"), idx("is_interaction")
	p.rsid = idx("rsID")
	p.hmSource = idx("hm_source")
	p.inferOA = -1
	if harmonised {
		p.inferOA = idx("hm_inferOtherAllele")
	}
	if p.s.ID == "" {
		p.s.ID = p.s.Name
	}
	if p.s.ID == "" {
		base := filepath.Base(p.file)
		for _, ext := range []string{".gz", ".txt", ".tsv"} {
			base = strings.TrimSuffix(base, ext)
		}
		p.s.ID = base
	}
	return nil
}

func (p *parser) row(line string) error {
	f := strings.Split(line, "\t")
	if len(f) < p.ncols {
		// Trailing empty fields are sometimes cut; pad them back.
		if len(f) < p.ea+1 {
			return p.fail(p.line, "", "%d tab-separated fields, the column header has %d", len(f), p.ncols)
		}
		f = append(f, make([]string, p.ncols-len(f))...)
	}
	get := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(f[i])
	}
	for _, c := range []struct {
		i    int
		what string
	}{{p.hap, "is_haplotype"}, {p.dip, "is_diplotype"}, {p.inter, "is_interaction"}} {
		b, err := parseBool(get(c.i))
		if err != nil {
			return p.fail(p.line, "", "%s: %v", c.what, err)
		}
		if b {
			return p.fail(p.line, "remove the row or use a score without complex variants",
				"%s row (effect allele %q) cannot be scored from single-variant dosages", strings.TrimPrefix(c.what, "is_"), get(p.ea))
		}
	}
	v := Variant{Line: p.line, RSID: get(p.rsid), Freq: math.NaN(), Effect: Additive}

	v.EffectAllele = strings.ToUpper(get(p.ea))
	if !isBases(v.EffectAllele) {
		return p.fail(p.line, "remove the row or use a score without complex variants",
			"effect_allele %q is not a nucleotide sequence (HLA, APOE and other named alleles cannot be scored from VCF dosages)", get(p.ea))
	}
	v.OtherAllele = strings.ToUpper(get(p.oa))
	if v.OtherAllele == "" && p.inferOA >= 0 {
		// pgsc_calc uses the inferred allele only when it is a single one.
		v.OtherAllele = strings.ToUpper(get(p.inferOA))
	}
	if strings.Contains(v.OtherAllele, "/") {
		v.OtherAllele = "" // several candidates: treated as not given, as pgscatalog does
	}
	if v.OtherAllele != "" && !isBases(v.OtherAllele) {
		return p.fail(p.line, "", "other_allele %q is not a nucleotide sequence", v.OtherAllele)
	}

	w, err := p.weight(get)
	if err != nil {
		return err
	}
	v.Weight = w

	if s := get(p.freq); s != "" && !strings.EqualFold(s, "NR") {
		fr, err := strconv.ParseFloat(s, 64)
		if err != nil || !(fr >= 0 && fr <= 1) {
			return p.fail(p.line, "leave it empty when unknown", "allelefrequency_effect %q is not a frequency between 0 and 1", s)
		}
		v.Freq = fr
	}
	dom, err := parseBool(get(p.dom))
	if err != nil {
		return p.fail(p.line, "", "is_dominant: %v", err)
	}
	rec, err := parseBool(get(p.rec))
	if err != nil {
		return p.fail(p.line, "", "is_recessive: %v", err)
	}
	switch {
	case dom && rec:
		return p.fail(p.line, "set at most one of them", "row is both is_dominant and is_recessive")
	case dom:
		v.Effect = Dominant
	case rec:
		v.Effect = Recessive
	}

	chr, pos := get(p.chr), get(p.pos)
	switch {
	case chr == "" || pos == "":
		v.NoPosReason = "no position"
		if src := get(p.hmSource); src != "" && p.s.HarmonisedBuild != "" {
			v.NoPosReason = "no harmonised position (hm_source=" + src + ")"
		}
	default:
		n, err := strconv.Atoi(pos)
		if err != nil || n < 1 || n > 999_999_999 {
			return p.fail(p.line, "", "position %q is not an integer between 1 and 999,999,999", pos)
		}
		v.Chrom = vcf.NormalizeChrom(chr)
		v.Pos = n
	}
	p.s.Variants = append(p.s.Variants, v)
	return nil
}

// weight reads effect_weight, or log(OR)/log(HR) when the file gives only
// the ratio, as the PGS Catalog format defines.
func (p *parser) weight(get func(int) string) (float64, error) {
	parse := func(col, s string) (float64, error) {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
			return 0, p.fail(p.line, "weights must be decimal numbers such as -0.0586 or 1.2e-03", "%s %q is not a finite number", col, s)
		}
		return w, nil
	}
	if s := get(p.w); s != "" {
		return parse("effect_weight", s)
	}
	for _, c := range []struct {
		i    int
		name string
	}{{p.or, "OR"}, {p.hr, "HR"}} {
		if s := get(c.i); s != "" {
			r, err := parse(c.name, s)
			if err != nil {
				return 0, err
			}
			if r <= 0 {
				return 0, p.fail(p.line, "", "%s %q must be positive to take its logarithm", c.name, s)
			}
			return math.Log(r), nil
		}
	}
	return 0, p.fail(p.line, "every row needs a weight", "effect_weight is empty")
}

func parseBool(s string) (bool, error) {
	switch s {
	case "", "False", "FALSE", "false", "F", "0":
		return false, nil
	case "True", "TRUE", "true", "T", "1":
		return true, nil
	}
	return false, fmt.Errorf("%q is not True or False", s)
}

func isBases(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A', 'C', 'G', 'T', 'N', '-':
		default:
			return false
		}
	}
	return true
}
