package pgx

import (
	"math/bits"
	"sync"
)

// Matching a strand against every candidate allele is the matcher's inner
// loop. Instead of comparing allele strings candidate by candidate, each
// gene has, per definition position and per allele a strand can show there
// (REF, each ALT, "" for a missing allele), the set of named alleles that
// accept it (a bitset over NamedAlleles); a strand's matching candidates are
// then the AND of one such set per observed site. A candidate list (one per
// set of observed positions) only adds which named alleles it holds.

// alleleMasks is one gene's acceptance sets for one candidate rule
// (assume-reference or not).
type alleleMasks struct {
	words int
	// defined and wobble hold, per named allele, the variants it defines
	// and those it defines with an IUPAC ambiguity code (bitsets over
	// variants).
	defined, wobble [][]uint64
	eff             [][]string   // per variant, per named allele: what a strand must show ("" = anything)
	vals            [][]string   // per variant: REF, ALTs, ""
	masks           [][][]uint64 // per variant, parallel to vals
}

// effAllele is what candidate na requires at variant v (candidate.eff).
func effAllele(def *GeneDefinition, na int, v int, assumeReference bool) string {
	a := def.NamedAlleles[na].Alleles[v]
	if a != "" || !assumeReference || def.NamedAlleles[na].Reference {
		return a
	}
	r := def.ReferenceAllele().Alleles[v]
	if isWobble(r) {
		r = def.Variants[v].Ref
	}
	return r
}

func newAlleleMasks(def *GeneDefinition, assumeReference bool) *alleleMasks {
	n := len(def.NamedAlleles)
	m := &alleleMasks{words: (n + 63) / 64}
	m.eff = make([][]string, len(def.Variants))
	m.vals = make([][]string, len(def.Variants))
	m.masks = make([][][]uint64, len(def.Variants))
	vw := (len(def.Variants) + 63) / 64
	m.defined = make([][]uint64, n)
	m.wobble = make([][]uint64, n)
	for na := range n {
		m.defined[na] = make([]uint64, vw)
		m.wobble[na] = make([]uint64, vw)
		for v, a := range def.NamedAlleles[na].Alleles {
			if a != "" {
				m.defined[na][v/64] |= 1 << (v % 64)
				if isWobble(a) {
					m.wobble[na][v/64] |= 1 << (v % 64)
				}
			}
		}
	}
	for v, vr := range def.Variants {
		eff := make([]string, n)
		for na := range n {
			eff[na] = effAllele(def, na, v, assumeReference)
		}
		m.eff[v] = eff
		vals := append([]string{vr.Ref}, vr.Alts...)
		vals = append(vals, "")
		m.vals[v] = vals
		m.masks[v] = make([][]uint64, len(vals))
		for k, x := range vals {
			m.masks[v][k] = m.maskFor(v, x)
		}
	}
	return m
}

// maskFor computes the named alleles that accept allele x at variant v.
func (m *alleleMasks) maskFor(v int, x string) []uint64 {
	b := make([]uint64, m.words)
	for na, d := range m.eff[v] {
		if d == "" || alleleMatches(d, x) {
			b[na/64] |= 1 << (na % 64)
		}
	}
	return b
}

// mask returns the named alleles that accept allele x at variant v.
func (m *alleleMasks) mask(v int, x string) []uint64 {
	for k, y := range m.vals[v] {
		if x == y {
			return m.masks[v][k]
		}
	}
	return m.maskFor(v, x) // not a defined allele: rare, computed
}

// geneMasks holds a gene's alleleMasks for both rules, built on first use,
// and other per-gene tables the matcher reads.
type geneMasks struct {
	once [2]sync.Once
	m    [2]*alleleMasks

	orderOnce sync.Once
	order     map[string]int

	exOnce sync.Once
	ex     *exemptionTables
}

// exemptions returns the gene's exemption tables (read only).
func (g *geneMasks) exemptions(def *GeneDefinition, ex *Exemption) *exemptionTables {
	g.exOnce.Do(func() { g.ex = newExemptionTables(def, ex) })
	return g.ex
}

// alleleOrder returns each named allele's index in the definition (read
// only).
func (g *geneMasks) alleleOrder(def *GeneDefinition) map[string]int {
	g.orderOnce.Do(func() {
		g.order = make(map[string]int, len(def.NamedAlleles))
		for i, n := range def.NamedAlleles {
			g.order[n.Name] = i
		}
	})
	return g.order
}

func (g *geneMasks) get(def *GeneDefinition, assumeReference bool) *alleleMasks {
	k := 0
	if assumeReference {
		k = 1
	}
	g.once[k].Do(func() { g.m[k] = newAlleleMasks(def, assumeReference) })
	return g.m[k]
}

// candList is a candidate list with what bitset matching needs.
type candList struct {
	list    []candidate
	masks   *alleleMasks
	present []uint64 // named alleles in list
	ci      []int    // named allele index -> index in list (-1 if absent)
}

func newCandList(def *GeneDefinition, list []candidate, masks *alleleMasks) *candList {
	cl := &candList{list: list, masks: masks, present: make([]uint64, masks.words), ci: make([]int, len(def.NamedAlleles))}
	for i := range cl.ci {
		cl.ci[i] = -1
	}
	for i := range list {
		na := list[i].na
		cl.present[na/64] |= 1 << (na % 64)
		cl.ci[na] = i
	}
	return cl
}

// match returns the candidates matching strand s (one allele per site of
// sites) as a bitset over named alleles, in buf when it is large enough.
// Bit na is set exactly when list[ci[na]].matches(s).
func (cl *candList) match(sites []site, s []string, buf []uint64) []uint64 {
	buf = append(buf[:0], cl.present...)
	for i, st := range sites {
		mk := cl.masks.mask(st.v, s[i])
		for w := range buf {
			buf[w] &= mk[w]
		}
	}
	return buf
}

// each calls f with the list index of every candidate in b, in list order.
func (cl *candList) each(b []uint64, f func(ci int)) {
	for w, x := range b {
		for x != 0 {
			t := bits.TrailingZeros64(x)
			x &= x - 1
			f(cl.ci[w*64+t])
		}
	}
}

// count returns the number of candidates in b.
func count(b []uint64) int {
	n := 0
	for _, x := range b {
		n += bits.OnesCount64(x)
	}
	return n
}
