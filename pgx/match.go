package pgx

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/geneguard/geneguard/vcf"
)

// MatchMode chooses how many diplotypes a call reports.
type MatchMode string

const (
	// MatchTop reports every diplotype tied at the highest score
	// (PharmCAT's default, topCandidateOnly).
	MatchTop MatchMode = "top"
	// MatchAll reports every diplotype that explains the genotypes
	// (PharmCAT -ma).
	MatchAll MatchMode = "all"
)

// ParseMatchMode parses "top" or "all".
func ParseMatchMode(s string) (MatchMode, error) {
	switch MatchMode(s) {
	case MatchTop, MatchAll:
		return MatchMode(s), nil
	}
	return "", fmt.Errorf("pgx: match mode %q: want top or all", s)
}

// Options tune the matcher.
type Options struct {
	Mode MatchMode
	// Combinations enables PharmCAT's research mode: when no diplotype of
	// defined alleles fits, try combinations of alleles on one strand
	// ("[*2 + *3]") and partial alleles ("[*17 + g.94781859G>A]").
	Combinations bool
}

// NoCall is the diplotype text for a gene that could not be called.
const NoCall = "NO_CALL"

// treatUndocumentedAsReference lists genes where PharmCAT reads an ALT that
// the definition does not know as reference: for these toxicity genes a
// call on the known variants is more useful than none (PharmCAT
// NamedAlleleMatcher-201).
var treatUndocumentedAsReference = map[string]bool{
	"CACNA1S": true, "DPYD": true, "G6PD": true, "NUDT15": true, "RYR1": true, "TPMT": true,
}

// maxFreeUnits bounds the strand assignments tried (2^n): beyond it a
// sample is reported as not callable rather than burning CPU.
const maxFreeUnits = 18

// Diplotype is one candidate pair of haplotypes with its score.
type Diplotype struct {
	Name       string   `json:"name"`
	Haplotypes []string `json:"haplotypes"` // one for haploid data
	Score      int      `json:"score"`
}

// site is the sample's data at one observed definition position.
type site struct {
	v       int      // index into GeneDefinition.Variants
	alleles []string // one per strand
	hom     bool
	phased  bool
	ps      string
}

// candidate is a named allele restricted to the observed sites.
type candidate struct {
	na      int // index in GeneDefinition.NamedAlleles
	name    string
	ref     bool
	cols    *candCols // shared by the list
	score   int
	wobbles []int // site indexes whose defined allele is an IUPAC ambiguity code
}

// candCols is what the candidates of one list share: views of the
// definition and of the gene's requirement table through the observed
// variants.
type candCols struct {
	def  *GeneDefinition
	vs   []int      // the variant of each observed site
	effv [][]string // per variant and named allele, what a strand must show ("" = anything)
}

// geneData is everything about one sample and one gene the matcher needs.
type geneData struct {
	def      *GeneDefinition
	sites    []site
	missing  []string
	haploid  bool
	phased   bool // every observed position phased
	warnings []string
	noCall   string
	// candCache, when set, shares candidate lists between samples that
	// observed the same positions of this gene.
	candCache *sync.Map
	// masks, when set, shares the gene's acceptance sets between samples.
	masks *geneMasks
}

// prepare turns a sample's calls into per-site alleles, applying the
// PharmCAT reader rules: missing or REF-mismatched positions are dropped
// (never taken as reference), "0/." is missing, an undocumented ALT makes
// the gene uncallable unless the gene reads it as reference.
func prepare(def *GeneDefinition, ex *Exemption, s *Sample) *geneData {
	return prepareFrom(def, ex, mapSource{s}, nil, nil)
}

// sampleSource gives prepareFrom one sample's data at the gene's variant
// vi, at loc: the reader's notes, and what the call there makes of the
// position (ok is false when the VCF has no call there).
type sampleSource interface {
	site(def *GeneDefinition, vi int, loc Locus) (o *siteOutcome, phaseSet, note string, ok bool)
	notes(vi int, loc Locus) []string
}

// mapSource reads a Sample.
type mapSource struct{ s *Sample }

func (m mapSource) site(def *GeneDefinition, vi int, loc Locus) (*siteOutcome, string, string, bool) {
	c, ok := m.s.Calls[loc]
	if !ok {
		return nil, "", c.Note, false
	}
	o := prepareSite(def, vi, c)
	return &o, c.PhaseSet, c.Note, true
}

func (m mapSource) notes(_ int, loc Locus) []string { return m.s.notes[loc] }

// siteOutcome is what one call makes of one definition position: missing,
// or the site's alleles; and the warnings it gives. It depends on the call
// and the definition only (not on the phase set, which the site takes
// from the sample), so samples with the same genotype code at a VCF column
// share one.
type siteOutcome struct {
	missing  bool
	warnings []string
	// The site, when not missing. alleles is shared by every site made
	// from this outcome: read only.
	alleles      []string
	hom, phased  bool
	undocumented []string // "label ALT" of alleles the definition does not know
}

// prepareSite applies the reader rules of prepare to call c at variant vi.
func prepareSite(def *GeneDefinition, vi int, c Call) siteOutcome {
	v := &def.Variants[vi]
	var o siteOutcome
	if allMissing(c.Alleles) {
		o.missing = true
		return o
	}
	if !strings.EqualFold(c.Ref, v.Ref) {
		o.missing = true
		o.warnings = append(o.warnings, fmt.Sprintf("%s: VCF REF %s does not match the definition's %s; position ignored", v.Label(), c.Ref, v.Ref))
		return o
	}
	al := make([]string, len(c.Alleles))
	symbolic := false
	for k, a := range c.Alleles {
		al[k] = strings.ToUpper(a)
		symbolic = symbolic || strings.HasPrefix(a, "<") || a == "*"
	}
	if symbolic {
		o.missing = true
		o.warnings = append(o.warnings, fmt.Sprintf("%s: genotype uses a symbolic or spanning-deletion ALT; position ignored", v.Label()))
		return o
	}
	if len(al) == 2 && (al[0] == "" || al[1] == "") {
		other := al[0] + al[1]
		if other == v.Ref {
			o.missing = true
			return o
		}
		o.warnings = append(o.warnings, fmt.Sprintf("%s: partial genotype with one missing allele; kept the called %s", v.Label(), other))
	}
	for k, a := range al {
		if a == "" || a == v.Ref || slices.Contains(v.Alts, a) {
			continue
		}
		if treatUndocumentedAsReference[def.Gene] {
			o.warnings = append(o.warnings, fmt.Sprintf("%s: undocumented allele %s read as reference", v.Label(), a))
			al[k] = v.Ref
			continue
		}
		o.undocumented = append(o.undocumented, fmt.Sprintf("%s %s", v.Label(), a))
	}
	o.alleles = al
	o.hom = len(al) == 1 || al[0] == al[1]
	o.phased = c.Phased
	return o
}

// prepareFrom is prepare for the sample s reads. The sites are appended to
// sites[:0] (nil is fine). gm, when not nil, supplies the gene's exemption
// tables.
func prepareFrom(def *GeneDefinition, ex *Exemption, s sampleSource, sites []site, gm *geneMasks) *geneData {
	if sites == nil {
		sites = make([]site, 0, len(def.Variants))
	}
	gd := &geneData{def: def, phased: true, sites: sites[:0]}
	chrom := vcf.NormalizeChrom(def.Chromosome)
	var xt *exemptionTables
	if gm != nil {
		xt = gm.exemptions(def, ex)
	} else {
		xt = newExemptionTables(def, ex)
	}
	ignored := xt.ignored
	// The observed variants, as a bitset.
	var obsArr [4]uint64
	obs := obsArr[:]
	if w := (len(def.Variants) + 63) / 64; w > len(obs) {
		obs = make([]uint64, w)
	}
	observed := func(vi int) bool { return obs[vi/64]&(1<<(vi%64)) != 0 }
	var undocumented []string
	ploidy1, ploidy2 := 0, 0
	for vi := range def.Variants {
		v := &def.Variants[vi]
		if ignored[v.Position] {
			continue
		}
		loc := Locus{chrom, v.Position}
		o, ps, note, ok := s.site(def, vi, loc)
		if note != "" {
			gd.warnings = append(gd.warnings, note)
		}
		gd.warnings = append(gd.warnings, s.notes(vi, loc)...)
		if !ok {
			gd.missing = append(gd.missing, v.Label())
			continue
		}
		if o.missing {
			gd.missing = append(gd.missing, v.Label())
			gd.warnings = append(gd.warnings, o.warnings...)
			continue
		}
		gd.warnings = append(gd.warnings, o.warnings...)
		undocumented = append(undocumented, o.undocumented...)
		gd.sites = append(gd.sites, site{v: vi, alleles: o.alleles, hom: o.hom, phased: o.phased, ps: ps})
		obs[vi/64] |= 1 << (vi % 64)
		if len(o.alleles) == 1 {
			ploidy1++
		} else {
			ploidy2++
		}
		if !o.phased {
			gd.phased = false
		}
	}
	switch {
	case len(undocumented) > 0:
		gd.noCall = "undocumented variation (ALT not in the allele definition): " + strings.Join(undocumented, ", ")
	case len(gd.sites) == 0:
		gd.noCall = "no allele-defining position of " + def.Gene + " is in the VCF"
	}
	if ploidy1 > 0 && ploidy2 > 0 {
		// A haploid call among diploid ones (e.g. a mis-called site): read
		// it as homozygous so the strands stay aligned.
		for i := range gd.sites {
			if len(gd.sites[i].alleles) == 1 {
				gd.sites[i].alleles = []string{gd.sites[i].alleles[0], gd.sites[i].alleles[0]}
			}
		}
		gd.warnings = append(gd.warnings, "mixed haploid and diploid genotypes; haploid calls read as homozygous")
	}
	gd.haploid = ploidy1 > 0 && ploidy2 == 0
	if gd.noCall == "" && ex != nil {
		for _, idx := range xt.required {
			if idx >= 0 && !observed(idx) {
				gd.noCall = fmt.Sprintf("required position %s is missing", def.Variants[idx].Label())
				break
			}
		}
		var amp []string
		for k, idx := range xt.amp1 {
			if idx >= 0 && !observed(idx) && !ignored[ex.Amp1Positions[k]] {
				amp = append(amp, def.Variants[idx].Label())
			}
		}
		if len(amp) > 0 {
			gd.warnings = append(gd.warnings, "missing AMP tier-1 position(s): "+strings.Join(amp, ", "))
		}
	}
	return gd
}

// exemptionTables are a gene's exemptions as prepare reads them.
type exemptionTables struct {
	ignored  map[int64]bool // ignored positions (nil when none)
	required []int          // variant index of each required position (-1: not defined)
	amp1     []int          // variant index of each AMP tier-1 position (-1: not defined)
}

func newExemptionTables(def *GeneDefinition, ex *Exemption) *exemptionTables {
	xt := &exemptionTables{}
	if ex == nil {
		return xt
	}
	if len(ex.IgnoredPositions) > 0 {
		xt.ignored = map[int64]bool{}
		for _, v := range ex.IgnoredPositions {
			xt.ignored[v.Position] = true
		}
	}
	for _, p := range ex.RequiredPositions {
		xt.required = append(xt.required, def.variantIndex(p))
	}
	for _, p := range ex.Amp1Positions {
		xt.amp1 = append(xt.amp1, def.variantIndex(p))
	}
	return xt
}

func allMissing(al []string) bool {
	for _, a := range al {
		if a != "" {
			return false
		}
	}
	return true
}

func (g *GeneDefinition) variantIndex(pos int64) int {
	for i, v := range g.Variants {
		if v.Position == pos {
			return i
		}
	}
	return -1
}

// candidates restricts every named allele to the observed sites. An allele
// that defines none of them drops out. With assumeReference, positions an
// allele leaves undefined must show the reference allele's base (PharmCAT's
// default); without it they match anything (combination mode). The score
// counts only positions the allele itself defines, so alleles made
// indistinguishable by missing data tie instead of one being preferred.
func (gd *geneData) candidates(ex *Exemption, assumeReference bool) []candidate {
	return gd.candList(ex, assumeReference).list
}

// candList returns the candidates with their bitset matcher.
func (gd *geneData) candList(ex *Exemption, assumeReference bool) *candList {
	if gd.masks == nil {
		gd.masks = &geneMasks{}
	}
	if gd.candCache == nil {
		return newCandList(gd.def, gd.buildCandidates(ex, assumeReference), gd.masks.get(gd.def, assumeReference))
	}
	// The candidates depend only on which positions were observed, which
	// is the same for most samples of a cohort: share them (read-only).
	var kb [128]byte
	key := kb[:0]
	if assumeReference {
		key = append(key, 1)
	} else {
		key = append(key, 0)
	}
	for _, st := range gd.sites {
		key = append(key, byte(st.v), byte(st.v>>8))
	}
	if c, ok := gd.candCache.Load(string(key)); ok {
		return c.(*candList)
	}
	c := newCandList(gd.def, gd.buildCandidates(ex, assumeReference), gd.masks.get(gd.def, assumeReference))
	gd.candCache.Store(string(key), c)
	return c
}

func (gd *geneData) buildCandidates(ex *Exemption, assumeReference bool) []candidate {
	def := gd.def
	if gd.masks == nil {
		gd.masks = &geneMasks{}
	}
	m := gd.masks.get(def, assumeReference)
	out := make([]candidate, 0, len(def.NamedAlleles))
	// The columns are views of the definition and of the gene's
	// requirement table through the observed variants, shared by every
	// candidate: a cohort with scattered missing data builds many lists.
	vs := make([]int, len(gd.sites))
	cols := &candCols{def: def, vs: vs, effv: m.eff}
	obs := make([]uint64, (len(def.Variants)+63)/64)
	for i, s := range gd.sites {
		vs[i] = s.v
		obs[s.v/64] |= 1 << (s.v % 64)
	}
	for nai := range def.NamedAlleles {
		na := &def.NamedAlleles[nai]
		if ex != nil && slices.Contains(ex.IgnoredAlleles, na.Name) {
			continue
		}
		// The score counts the observed sites the allele defines; wobbles
		// lists those it defines with an ambiguity code.
		score, wob := 0, false
		for w, o := range obs {
			score += bits.OnesCount64(m.defined[nai][w] & o)
			wob = wob || m.wobble[nai][w]&o != 0
		}
		if score == 0 {
			continue
		}
		c := candidate{na: nai, name: na.Name, ref: na.Reference, cols: cols, score: score}
		if wob {
			for i, v := range vs {
				if a := na.Alleles[v]; a != "" && isWobble(a) {
					c.wobbles = append(c.wobbles, i)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// defined is the definition's own allele at site i ("" = undefined).
func (c *candidate) defined(i int) string {
	return c.cols.def.NamedAlleles[c.na].Alleles[c.cols.vs[i]]
}

// eff is what a strand must show at site i ("" = anything).
func (c *candidate) eff(i int) string { return c.cols.effv[c.cols.vs[i]][c.na] }

func (c *candidate) matches(strand []string) bool {
	for i := range c.cols.vs {
		if d := c.eff(i); d != "" && !alleleMatches(d, strand[i]) {
			return false
		}
	}
	return true
}

// strandPair is one way of splitting the genotypes into two haplotypes.
type strandPair struct{ a, b []string }

// strandPairs enumerates the ways to assign each heterozygous site's alleles
// to the two strands. Homozygous sites are fixed; phased sites without a
// phase set keep their written orientation; phased sites sharing a PS flip
// together; unphased heterozygous sites flip one by one. Pairs are returned
// once each, unordered.
func (gd *geneData) strandPairs() ([]strandPair, error) {
	if gd.haploid {
		a := make([]string, len(gd.sites))
		for i, s := range gd.sites {
			a[i] = s.alleles[0]
		}
		return []strandPair{{a: a}}, nil
	}
	unit := make([]int, len(gd.sites)) // -1 fixed, else free-unit index
	psUnit := map[string]int{}
	n := 0
	for i, s := range gd.sites {
		switch {
		case s.hom:
			unit[i] = -1
		case s.phased && s.ps == "":
			unit[i] = -1
		case s.phased:
			u, ok := psUnit[s.ps]
			if !ok {
				u = n
				psUnit[s.ps] = u
				n++
			}
			unit[i] = u
		default:
			unit[i] = n
			n++
		}
	}
	if n > maxFreeUnits {
		return nil, fmt.Errorf("%d unphased heterozygous positions; at most %d are resolved", n, maxFreeUnits)
	}
	var out []strandPair
	if n <= 3 {
		// Few pairs: compare them directly, strands carved from one array.
		// Strands are carved from one array per pair kept.
		m := len(gd.sites)
		var buf []string
	next:
		for mask := 0; mask < 1<<n; mask++ {
			if buf == nil {
				buf = make([]string, 2*m)
			}
			a, b := buf[:m:m], buf[m:2*m:2*m]
			for i, s := range gd.sites {
				x, y := s.alleles[0], s.alleles[1]
				if u := unit[i]; u >= 0 && mask&(1<<u) != 0 {
					x, y = y, x
				}
				a[i], b[i] = x, y
			}
			for _, o := range out {
				if (slices.Equal(a, o.a) && slices.Equal(b, o.b)) || (slices.Equal(a, o.b) && slices.Equal(b, o.a)) {
					continue next
				}
			}
			buf = nil
			out = append(out, strandPair{a, b})
		}
		return out, nil
	}
	seen := map[string]bool{}
	for mask := 0; mask < 1<<n; mask++ {
		a := make([]string, len(gd.sites))
		b := make([]string, len(gd.sites))
		for i, s := range gd.sites {
			x, y := s.alleles[0], s.alleles[1]
			if u := unit[i]; u >= 0 && mask&(1<<u) != 0 {
				x, y = y, x
			}
			a[i], b[i] = x, y
		}
		ka, kb := strandKey(a), strandKey(b)
		if ka > kb {
			ka, kb = kb, ka
		}
		if seen[ka+"|"+kb] {
			continue
		}
		seen[ka+"|"+kb] = true
		out = append(out, strandPair{a, b})
	}
	return out, nil
}

func strandKey(s []string) string { return strings.Join(s, ";") }

// scored is a diplotype under construction.
type scored struct {
	h1, h2 string // h2 == "" for haploid
	score  int
}

// callDiplotypes runs the default (assume-reference) matcher.
func (gd *geneData) callDiplotypes(ex *Exemption, mode MatchMode) ([]Diplotype, error) {
	pairs, err := gd.strandPairs()
	if err != nil {
		return nil, err
	}
	cl := gd.candList(ex, true)
	cands := cl.list
	// Which strands each candidate matches, over all pairs: PharmCAT scores a
	// wobble position against every strand an allele explains. Distinct
	// strands get ids in order of first appearance.
	var strands [][]string              // id -> strand
	var matched [][]uint64              // id -> candidates matching it (bitset over named alleles)
	var matchedBy [][]int               // id -> candidate indexes, in list order
	nStrands := make([]int, len(cands)) // candidate -> distinct strands matched
	first := make([]int, len(cands))    // candidate -> first strand matched
	var buf []uint64
	var index map[string]int // strand key -> id, when there are many
	if len(pairs) > 8 {
		index = map[string]int{}
	}
	visit := func(s []string) int {
		if index != nil {
			k := strandKey(s)
			if id, ok := index[k]; ok {
				return id
			}
			index[k] = len(strands)
		} else {
			for id, t := range strands {
				if slices.Equal(t, s) {
					return id
				}
			}
		}
		id := len(strands)
		strands = append(strands, s)
		buf = cl.match(gd.sites, s, buf[:0])
		matched = append(matched, slices.Clone(buf))
		var by []int
		cl.each(buf, func(ci int) {
			by = append(by, ci)
			if nStrands[ci] == 0 {
				first[ci] = id
			}
			nStrands[ci]++
		})
		matchedBy = append(matchedBy, by)
		return id
	}
	type idPair struct{ a, b int }
	ids := make([]idPair, len(pairs))
	for i, p := range pairs {
		ids[i].a, ids[i].b = visit(p.a), -1
		if p.b != nil {
			ids[i].b = visit(p.b)
		}
	}
	has := func(id, ci int) bool {
		na := cands[ci].na
		return matched[id][na/64]&(1<<(na%64)) != 0
	}
	wobbleScore := func(ci int, keys ...int) int {
		c := cands[ci]
		sc := c.score
		for _, w := range c.wobbles {
			allRef := true
			for _, k := range keys {
				if strands[k][w] != gd.def.Variants[gd.sites[w].v].Ref {
					allRef = false
					break
				}
			}
			if allRef {
				sc--
			}
		}
		return sc
	}
	// seqsScore scores ci against the strands of the pair it explains: the
	// one strand it matches anywhere, else those of ka and kb it matches.
	seqsScore := func(ci int, ka, kb int) int {
		if nStrands[ci] == 1 {
			return wobbleScore(ci, first[ci])
		}
		switch inA, inB := has(ka, ci), kb != ka && has(kb, ci); {
		case inA && inB:
			return wobbleScore(ci, ka, kb)
		case inA:
			return wobbleScore(ci, ka)
		case inB:
			return wobbleScore(ci, kb)
		}
		return wobbleScore(ci)
	}
	best := map[[2]string]*scored{}
	for _, p := range ids {
		ka := p.a
		if p.b < 0 {
			for _, ci := range matchedBy[ka] {
				key := [2]string{cands[ci].name, ""}
				sc := wobbleScore(ci, ka)
				if d, ok := best[key]; !ok || sc > d.score {
					best[key] = &scored{h1: cands[ci].name, score: sc}
				}
			}
			continue
		}
		kb := p.b
		for _, ci := range matchedBy[ka] {
			for _, cj := range matchedBy[kb] {
				var sc int
				if ci == cj {
					sc = wobbleScore(ci, ka) + wobbleScore(cj, kb)
				} else {
					sc = seqsScore(ci, ka, kb) + seqsScore(cj, ka, kb)
				}
				h1, h2 := cands[ci].name, cands[cj].name
				if compareNames(h1, h2) > 0 {
					h1, h2 = h2, h1
				}
				key := [2]string{h1, h2}
				if d, ok := best[key]; !ok || sc > d.score {
					best[key] = &scored{h1: h1, h2: h2, score: sc}
				}
			}
		}
	}
	return finish(gd.def, best, mode), nil
}

// finish orders diplotypes (score descending, then by allele names, as
// PharmCAT prints them), applies the match mode, and reports sub-alleles at
// named-allele level.
func finish(def *GeneDefinition, best map[[2]string]*scored, mode MatchMode) []Diplotype {
	list := make([]*scored, 0, len(best))
	for _, d := range best {
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].score != list[j].score {
			return list[i].score > list[j].score
		}
		if c := compareNames(list[i].h1, list[j].h1); c != 0 {
			return c < 0
		}
		return compareNames(list[i].h2, list[j].h2) < 0
	})
	if mode != MatchAll && len(list) > 1 {
		top := list[0].score
		k := 0
		for k < len(list) && list[k].score == top {
			k++
		}
		list = list[:k]
	}
	var out []Diplotype
	seen := map[string]bool{}
	for _, d := range list {
		h1, h2 := def.reportName(d.h1), def.reportName(d.h2)
		haps := []string{h1}
		name := h1
		if d.h2 != "" {
			if compareNames(h1, h2) > 0 {
				h1, h2 = h2, h1
			}
			haps = []string{h1, h2}
			name = h1 + "/" + h2
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Diplotype{Name: name, Haplotypes: haps, Score: d.score})
	}
	return out
}

func (g *GeneDefinition) reportName(n string) string {
	if p, ok := g.SubAllelesMap[n]; ok {
		return p
	}
	return n
}
