package pgx

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DPYD is called with PharmCAT's DPYD rules (NamedAlleleMatcher-201,
// Gene-Definition-Exceptions):
//
//   - HapB3 is defined by an intronic (rs75017182, c.1129-5923C>G) and an
//     exonic (rs56038477, c.1236G>A) position. It is called apart from the
//     other alleles: the intronic position decides, the exonic one is the
//     fallback when the intronic one is missing, and a disagreement is
//     reported. An intronic variant without the exonic one is the allele
//     "c.1129-5923C>G".
//   - Every other allele is matched on the remaining positions. When the
//     data is effectively phased (phased in one block, or at most one
//     heterozygous position) the two strands are explained one by one, as
//     a defined allele or as a combination "[A + B]", and HapB3 is added
//     to the strand that carries it.
//   - Otherwise PharmCAT does not pick a diplotype: it reports the list of
//     alleles found. Reference is left out of the list when more than two
//     alleles are found. For phenotype and guidance the lowest-function
//     pair is used: the two lowest-activity alleles of the list, or the
//     lowest-activity allele of each phased strand.
const (
	dpydGene            = "DPYD"
	hapB3Allele         = "c.1129-5923C>G, c.1236G>A (HapB3)"
	hapB3IntronicAllele = "c.1129-5923C>G"
	hapB3ExonicRSID     = "rs56038477"
	hapB3IntronicRSID   = "rs75017182"

	// Warning identifiers PharmCAT's reports use for the HapB3 fallbacks.
	msgHapB3ExonicOnly       = "pcat-dpyd-hapB3-exonic-only"
	msgHapB3IntronicMismatch = "pcat-dpyd-hapB3-intronic-mismatch-exonic"
)

// hapB3Result is the separate HapB3 call.
type hapB3Result struct {
	missing bool // neither HapB3 position has data
	// strand holds, for effectively phased data, the HapB3 allele on each
	// strand ("" = none).
	strand [2]string
	// found lists the HapB3 alleles called, strand unknown (unphased).
	found    []string
	warnings []string
}

func (h *hapB3Result) count() int {
	n := len(h.found)
	for _, s := range h.strand {
		if s != "" {
			n++
		}
	}
	return n
}

func (h *hapB3Result) warn(id, text string) {
	msg := text + " (" + id + ")"
	if !slices.Contains(h.warnings, msg) {
		h.warnings = append(h.warnings, msg)
	}
}

// siteByRSID returns the index in gd.sites of the observed position with
// rsid, or -1.
func (gd *geneData) siteByRSID(rsid string) int {
	for i, s := range gd.sites {
		if gd.def.Variants[s.v].RSID == rsid {
			return i
		}
	}
	return -1
}

// hapB3Flags says, per strand, whether site i carries hap's allele.
func (gd *geneData) hapB3Flags(i int, hap *NamedAllele) []bool {
	s := gd.sites[i]
	want := hap.Alleles[s.v]
	out := make([]bool, len(s.alleles))
	for k, a := range s.alleles {
		out[k] = want != "" && a == want
	}
	return out
}

func countTrue(b []bool) int {
	n := 0
	for _, x := range b {
		if x {
			n++
		}
	}
	return n
}

// callHapB3 applies PharmCAT's HapB3 rules to the sample.
func (gd *geneData) callHapB3(hap *NamedAllele, phased bool) hapB3Result {
	var r hapB3Result
	ei, ii := gd.siteByRSID(hapB3ExonicRSID), gd.siteByRSID(hapB3IntronicRSID)
	switch {
	case ei < 0 && ii < 0:
		r.missing = true
	case ei < 0:
		// Intronic only: it is the call.
		in := gd.hapB3Flags(ii, hap)
		gd.setHapB3(&r, in, hapB3IntronicAllele, phased)
	case ii < 0:
		ex := gd.hapB3Flags(ei, hap)
		gd.setHapB3(&r, ex, hapB3Allele, phased)
		if countTrue(ex) > 0 {
			r.warn(msgHapB3ExonicOnly, "DPYD HapB3 called from the exonic rs56038477 alone: the intronic rs75017182 is missing")
		}
	default:
		in, ex := gd.hapB3Flags(ii, hap), gd.hapB3Flags(ei, hap)
		if len(in) != 2 || len(ex) != 2 {
			break // not diploid: PharmCAT leaves HapB3 uncalled
		}
		mismatch := func() {
			r.warn(msgHapB3IntronicMismatch, "DPYD HapB3: the exonic rs56038477 and the intronic rs75017182 disagree; the intronic position decides")
		}
		if phased {
			for k := range 2 {
				switch {
				case !in[k]:
					if ex[k] {
						mismatch()
					}
				case ex[k]:
					r.strand[k] = hapB3Allele
				default:
					r.strand[k] = hapB3IntronicAllele
				}
			}
			break
		}
		nI, nE := countTrue(in), countTrue(ex)
		switch {
		case nI == nE:
			for range nI {
				r.found = append(r.found, hapB3Allele)
			}
		case nI > nE:
			r.found = append(r.found, hapB3IntronicAllele)
			if nE == 1 {
				r.found = append(r.found, hapB3Allele)
			} else if nI == 2 {
				r.found = append(r.found, hapB3IntronicAllele)
			}
		default:
			if nI == 1 {
				r.found = append(r.found, hapB3Allele)
			}
			mismatch()
		}
	}
	return r
}

func (gd *geneData) setHapB3(r *hapB3Result, flags []bool, name string, phased bool) {
	for k, f := range flags {
		if !f {
			continue
		}
		if phased && k < 2 {
			r.strand[k] = name
		} else {
			r.found = append(r.found, name)
		}
	}
}

// effectivelyPhased reports whether the sample's genotypes at the gene
// leave one way to assign alleles to strands: at most one heterozygous
// position, or every position phased in a single phase set.
func (gd *geneData) effectivelyPhased() bool {
	hets := 0
	sets := map[string]bool{}
	for _, s := range gd.sites {
		if s.hom {
			continue
		}
		hets++
		sets[s.ps] = true
	}
	return hets <= 1 || (gd.phased && len(sets) <= 1)
}

// without returns gd restricted to the sites whose rsID is not in rsids.
func (gd *geneData) without(rsids ...string) *geneData {
	w := *gd
	w.sites = make([]site, 0, len(gd.sites))
	for _, s := range gd.sites {
		if !slices.Contains(rsids, gd.def.Variants[s.v].RSID) {
			w.sites = append(w.sites, s)
		}
	}
	return &w
}

// dpydResult is the outcome of the DPYD rules.
type dpydResult struct {
	diplotype   *Diplotype // effectively phased
	list        []string   // alleles found (unphased), with repeats
	recommended *Diplotype // lowest-function pair
	haploid     string
	warnings    []string
	note        string
}

// strandExplanation is one strand as components (defined alleles other than
// the reference, in definition order) and partials.
type strandExplanation struct {
	comps    []string
	partials []string
}

func (e strandExplanation) name() string {
	parts := append(slices.Clone(e.comps), e.partials...)
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return "[" + strings.Join(parts, combinationJoiner) + "]"
}

// callDPYD applies the DPYD rules; nil means the generic matcher should be
// used (haploid data, or a definition without HapB3).
func (gd *geneData) callDPYD(ex *Exemption, pheno *PhenotypeData) *dpydResult {
	def := gd.def
	hapIdx := slices.IndexFunc(def.NamedAlleles, func(n NamedAllele) bool { return n.Name == hapB3Allele })
	if hapIdx < 0 || gd.haploid {
		return nil
	}
	if gd.masks == nil {
		gd.masks = &geneMasks{}
	}
	order := gd.masks.alleleOrder(def)
	refName := def.ReferenceAllele().Name
	var activity map[string]string
	if pheno != nil {
		if g, ok := pheno.Genes[def.Gene]; ok {
			activity = g.ActivityValues
		}
	}
	phased := gd.effectivelyPhased()
	hb := gd.callHapB3(&def.NamedAlleles[hapIdx], phased)
	w := gd.without(hapB3ExonicRSID, hapB3IntronicRSID)
	res := &dpydResult{warnings: hb.warnings}

	if phased {
		a := make([]string, len(w.sites))
		b := make([]string, len(w.sites))
		for i, s := range w.sites {
			a[i], b[i] = s.alleles[0], s.alleles[1]
		}
		ea, eb, ok := w.exactStrands(ex, a, b)
		if !ok {
			ea, ok = w.combinationStrand(ex, a, order)
			if ok {
				eb, ok = w.combinationStrand(ex, b, order)
			}
		}
		if ok {
			for k, e := range []*strandExplanation{&ea, &eb} {
				if h := hb.strand[k]; h != "" {
					e.comps = append(e.comps, h)
					sortByDefinition(e.comps, order)
				}
			}
			h1, h2 := orName(ea.name(), refName), orName(eb.name(), refName)
			if compareNames(h1, h2) > 0 {
				h1, h2 = h2, h1
				ea, eb = eb, ea
			}
			d := Diplotype{Name: h1 + "/" + h2, Haplotypes: []string{h1, h2}}
			res.diplotype = &d
			// Lowest function: the lowest-activity component of each
			// strand.
			l1 := lowestFunction(orRef(ea.comps, refName), activity)
			l2 := lowestFunction(orRef(eb.comps, refName), activity)
			if len(ea.partials)+len(eb.partials) > 0 {
				res.warnings = append(res.warnings, "DPYD strand with variation no defined allele explains; the lowest-function pair uses the defined alleles only")
			}
			res.recommended = pairOf(l1[0], l2[0])
			return res
		}
	}

	// Not effectively phased (or no strand explanation): the list of
	// alleles found, without assuming reference at undefined positions.
	pairs, err := w.strandPairs()
	if err != nil {
		res.note = err.Error()
		return res
	}
	cl := w.candList(ex, false)
	cands := cl.list
	found := map[string]bool{}
	homo := map[string]bool{}
	partials := false
	var ba, bb []uint64
	for _, p := range pairs {
		ba = cl.match(w.sites, p.a, ba)
		bb = cl.match(w.sites, p.b, bb)
		for k, s := range [2][]string{p.a, p.b} {
			b := ba
			if k == 1 {
				b = bb
			}
			var covered []*candidate
			cl.each(b, func(i int) {
				found[cands[i].name] = true
				if !cands[i].ref {
					covered = append(covered, &cands[i])
				}
			})
			var variant []int
			for i, al := range s {
				if al != "" && al != w.def.Variants[w.sites[i].v].Ref {
					variant = append(variant, i)
				}
			}
			if len(w.partialNames(s, variant, covered)) > 0 {
				partials = true
			}
		}
		for k := range ba {
			ba[k] &= bb[k]
		}
		cl.each(ba, func(i int) { homo[cands[i].name] = true })
	}
	if len(w.sites) == 0 {
		found[refName] = true
	}
	nHapB3 := hb.count()
	if nHapB3 > 0 {
		delete(homo, refName)
	}
	if len(found)+nHapB3 > 2 || partials {
		delete(found, refName)
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return compareNames(names[i], names[j]) < 0 })
	for _, n := range names {
		res.list = append(res.list, n)
		if homo[n] {
			res.list = append(res.list, n)
		}
	}
	res.list = append(res.list, hb.found...)
	for _, h := range hb.strand {
		if h != "" {
			res.list = append(res.list, h)
		}
	}
	if len(res.list) == 0 {
		res.note = "no DPYD allele matches the observed genotypes"
		return res
	}
	low := lowestFunction(res.list, activity)
	if len(low) == 1 {
		res.haploid = low[0]
		res.warnings = append(res.warnings, "DPYD: only one allele found on data that is not phased; no diplotype can be inferred")
		return res
	}
	res.recommended = pairOf(low[0], low[1])
	return res
}

// exactStrands explains each strand as exactly one defined allele (the
// reference allele filling undefined positions); ok is false unless both
// strands have exactly one.
func (gd *geneData) exactStrands(ex *Exemption, a, b []string) (strandExplanation, strandExplanation, bool) {
	if len(gd.sites) == 0 {
		return strandExplanation{}, strandExplanation{}, true
	}
	cl := gd.candList(ex, true)
	var buf []uint64
	one := func(s []string) (strandExplanation, bool) {
		buf = cl.match(gd.sites, s, buf)
		if count(buf) != 1 {
			return strandExplanation{}, false
		}
		var hit *candidate
		cl.each(buf, func(i int) { hit = &cl.list[i] })
		if hit.ref {
			return strandExplanation{}, true
		}
		return strandExplanation{comps: []string{hit.name}}, true
	}
	ea, ok1 := one(a)
	eb, ok2 := one(b)
	return ea, eb, ok1 && ok2
}

// combinationStrand explains a strand by the alleles whose defined
// positions it carries, plus partials; ok is false when several
// explanations remain.
func (gd *geneData) combinationStrand(ex *Exemption, s []string, order map[string]int) (strandExplanation, bool) {
	cl := gd.candList(ex, false)
	var covered []*candidate
	cl.each(cl.match(gd.sites, s, nil), func(i int) {
		if !cl.list[i].ref {
			covered = append(covered, &cl.list[i])
		}
	})
	var variant []int
	for i, a := range s {
		if a != "" && a != gd.def.Variants[gd.sites[i].v].Ref {
			variant = append(variant, i)
		}
	}
	e := strandExplanation{partials: gd.partialNames(s, variant, covered)}
	combos := [][]*candidate{covered}
	if len(covered) > 1 {
		combos = viableCombinations(covered)
	}
	if len(combos) != 1 {
		return e, false
	}
	for _, c := range combos[0] {
		e.comps = append(e.comps, c.name)
	}
	sortByDefinition(e.comps, order)
	return e, true
}

func sortByDefinition(names []string, order map[string]int) {
	sort.SliceStable(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
}

func orName(n, ref string) string {
	if n == "" {
		return ref
	}
	return n
}

func orRef(comps []string, ref string) []string {
	if len(comps) == 0 {
		return []string{ref}
	}
	return comps
}

// lowestFunction orders alleles by activity value, lowest first (an allele
// without a value first, as PharmCAT's comparator does), ties by name.
func lowestFunction(names []string, activity map[string]string) []string {
	out := slices.Clone(names)
	val := func(n string) (float64, bool) {
		v, ok := activity[n]
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	sort.SliceStable(out, func(i, j int) bool {
		vi, oki := val(out[i])
		vj, okj := val(out[j])
		if oki != okj {
			return !oki
		}
		if vi != vj {
			return vi < vj
		}
		return compareNames(out[i], out[j]) < 0
	})
	return out
}

func pairOf(a, b string) *Diplotype {
	if compareNames(a, b) > 0 {
		a, b = b, a
	}
	return &Diplotype{Name: a + "/" + b, Haplotypes: []string{a, b}}
}

// apply writes the DPYD result into call.
func (r *dpydResult) apply(call *GeneCall) {
	call.Warnings = append(call.Warnings, r.warnings...)
	switch {
	case r.diplotype != nil:
		call.Diplotypes = []string{r.diplotype.Name}
		call.Matches = []Diplotype{*r.diplotype}
		if r.recommended != nil && r.recommended.Name != r.diplotype.Name {
			call.Inferred = "lowest-function diplotype " + r.recommended.Name + " (the lowest-activity allele of each strand of " + r.diplotype.Name + ")"
		}
	case len(r.list) > 0:
		call.HaplotypeList = true
		call.Diplotypes = collapseHomozygous(r.list)
		if r.recommended != nil {
			call.Inferred = "data not effectively phased: alleles found " + strings.Join(call.Diplotypes, "; ") + "; lowest-function diplotype " + r.recommended.Name
		}
	default:
		call.NoCallReason = r.note
		return
	}
	if r.recommended != nil {
		call.Recommended = []string{r.recommended.Name}
		call.recommended = []Diplotype{*r.recommended}
	}
	if r.haploid != "" {
		call.Recommended = []string{r.haploid}
		call.recommended = []Diplotype{{Name: r.haploid, Haplotypes: []string{r.haploid}}}
	}
}

// collapseHomozygous lists each allele once, sorted as PharmCAT prints them,
// marking one found twice "(homozygous)".
func collapseHomozygous(list []string) []string {
	count := map[string]int{}
	var names []string
	for _, n := range list {
		if count[n] == 0 {
			names = append(names, n)
		}
		count[n]++
	}
	sort.Slice(names, func(i, j int) bool { return compareNames(names[i], names[j]) < 0 })
	for i, n := range names {
		if count[n] > 1 {
			names[i] = fmt.Sprintf("%s (homozygous)", n)
		}
	}
	return names
}
