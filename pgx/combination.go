package pgx

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// strandMatch is what one strand was explained as in combination mode.
type strandMatch struct {
	name  string
	score int
}

// callCombinations is PharmCAT's research "combinations" mode, tried only
// when no diplotype of defined alleles fits. Each strand is explained by the
// non-overlapping alleles whose core positions it carries ("[*2 + *3]"), and
// variant positions no allele accounts for are named as partials
// ("[*17 + g.94781859G>A]"). Undefined positions match anything here: the
// point is to describe a strand that no single allele fits.
func (gd *geneData) callCombinations(ex *Exemption, mode MatchMode) ([]Diplotype, error) {
	pairs, err := gd.strandPairs()
	if err != nil {
		return nil, err
	}
	cl := gd.candList(ex, false)
	cands := cl.list
	var ref *candidate
	for i := range cands {
		if cands[i].ref {
			ref = &cands[i]
		}
	}
	if ref == nil {
		return nil, nil
	}
	memo := map[string][]strandMatch{}
	explain := func(s []string) []strandMatch {
		k := strandKey(s)
		if m, ok := memo[k]; ok {
			return m
		}
		m := gd.explainStrand(cl, ref, s)
		memo[k] = m
		return m
	}
	best := map[[2]string]*scored{}
	for _, p := range pairs {
		ma := explain(p.a)
		if p.b == nil {
			for _, x := range ma {
				best[[2]string{x.name, ""}] = &scored{h1: x.name, score: x.score}
			}
			continue
		}
		mb := explain(p.b)
		for _, x := range ma {
			for _, y := range mb {
				h1, h2 := x.name, y.name
				if compareNames(h1, h2) > 0 {
					h1, h2 = h2, h1
				}
				sc := x.score + y.score
				key := [2]string{h1, h2}
				if d, ok := best[key]; !ok || sc > d.score {
					best[key] = &scored{h1: h1, h2: h2, score: sc}
				}
			}
		}
	}
	return finish(gd.def, best, mode), nil
}

func (gd *geneData) explainStrand(cl *candList, ref *candidate, s []string) []strandMatch {
	var variant []int // sites where the strand is not reference
	for i, a := range s {
		if a != "" && a != gd.def.Variants[gd.sites[i].v].Ref {
			variant = append(variant, i)
		}
	}
	var covered []*candidate
	cl.each(cl.match(gd.sites, s, nil), func(i int) {
		if c := &cl.list[i]; !c.ref {
			covered = append(covered, c)
		}
	})
	partials := gd.partialNames(s, variant, covered)
	if len(covered) <= 1 {
		comp := ref
		if len(covered) == 1 {
			comp = covered[0]
		}
		if len(partials) == 0 {
			return []strandMatch{{name: comp.name, score: comp.score}}
		}
		return []strandMatch{gd.combination([]*candidate{comp}, partials)}
	}
	var out []strandMatch
	for _, combo := range viableCombinations(covered) {
		out = append(out, gd.combination(combo, partials))
	}
	return out
}

// viableCombinations groups alleles that can sit on one strand together:
// alleles are taken largest first, and each joins every group it shares no
// core position with. An allele that overlaps a larger one is explained by
// it and starts no group; overlap between equal-sized alleles usually means
// missing data made them look alike, so it starts a group of its own.
func viableCombinations(covered []*candidate) [][]*candidate {
	sorted := slices.Clone(covered)
	sort.SliceStable(sorted, func(i, j int) bool {
		ci, cj := len(sorted[i].corePositions()), len(sorted[j].corePositions())
		if ci != cj {
			return ci > cj
		}
		return sorted[i].name < sorted[j].name
	})
	var combos [][]*candidate
	for _, c := range sorted {
		added, overlapCount := false, 0
		for gi, g := range combos {
			overlaps := false
			for _, e := range g {
				if overlap(e.corePositions(), c.corePositions()) {
					overlaps = true
					if len(e.corePositions()) != len(c.corePositions()) {
						overlapCount++
						break
					}
				}
			}
			if !overlaps {
				combos[gi] = append(combos[gi], c)
				added = true
			}
		}
		if !added && overlapCount == 0 {
			combos = append(combos, []*candidate{c})
		}
	}
	return combos
}

func (c *candidate) corePositions() []int {
	var out []int
	for i := range c.cols.vs {
		if c.defined(i) != "" {
			out = append(out, i)
		}
	}
	return out
}

func overlap(a, b []int) bool {
	for _, x := range b {
		if slices.Contains(a, x) {
			return true
		}
	}
	return false
}

// partialNames names the strand's variant sites that no covered allele
// defines, in position order.
func (gd *geneData) partialNames(s []string, variant []int, covered []*candidate) []string {
	var out []string
	for _, i := range variant {
		explained := false
		for _, c := range covered {
			if c.defined(i) != "" {
				explained = true
				break
			}
		}
		if !explained {
			out = append(out, gd.def.Variants[gd.sites[i].v].hgvsFor(s[i]))
		}
	}
	return out
}

// combination builds the name and score of a strand explained by several
// components and partials. The score counts the positions the components
// define, less one per partial, so an explanation needing fewer unexplained
// variants ranks higher.
func (gd *geneData) combination(comps []*candidate, partials []string) strandMatch {
	comps = slices.Clone(comps)
	sort.SliceStable(comps, func(i, j int) bool {
		if comps[i].ref != comps[j].ref {
			return comps[i].ref
		}
		return compareNames(comps[i].name, comps[j].name) < 0
	})
	var parts []string
	defined := 0
	for i := range gd.sites {
		for _, c := range comps {
			if c.defined(i) != "" {
				defined++
				break
			}
		}
	}
	for _, c := range comps {
		if !c.ref {
			parts = append(parts, c.name)
		}
	}
	parts = append(parts, partials...)
	name := strings.Join(parts, combinationJoiner)
	if len(parts) > 1 {
		name = "[" + name + "]"
	}
	return strandMatch{name: name, score: defined - len(partials)}
}

// hgvsFor names an observed VCF allele at this position in HGVS form: the
// definition's own HGVS text for that ALT when it has one, else a
// substitution built from the VCF coordinates.
func (v Variant) hgvsFor(allele string) string {
	names := strings.Split(v.HGVS, ";")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	if len(v.Alts) == 1 && len(names) == 1 && names[0] != "" && allele == v.Alts[0] {
		return names[0]
	}
	for _, n := range names {
		if strings.HasSuffix(n, ">"+allele) {
			return n
		}
	}
	return fmt.Sprintf("g.%d%s>%s", v.Position, v.Ref, allele)
}
