package pgx

import (
	"fmt"
	"slices"
	"strings"
)

// MissingNote says, for a clinician, which of a gene's allele-defining
// positions had no usable data (absent from the file, no-called, or not
// interpretable — never assumed reference) and what the call may therefore
// hide, e.g. "1 of 12 CYP2C19 positions missing: rs12248560 (*17) — call
// may be *1/*1 only because *17 could not be tested". It returns "" when
// no position is missing. It changes nothing about the call itself.
func (d *Definitions) MissingNote(c GeneCall) string {
	if len(c.MissingPositions) == 0 {
		return ""
	}
	def, ok := d.Gene(c.Gene)
	if !ok {
		return fmt.Sprintf("%d %s position(s) missing: %s", len(c.MissingPositions), c.Gene, strings.Join(c.MissingPositions, ", "))
	}
	// Alleles the call names were found through their other positions.
	called := map[string]bool{}
	for _, dip := range append(slices.Clone(c.Diplotypes), c.Recommended...) {
		for _, h := range strings.Split(dip, "/") {
			called[strings.TrimSpace(strings.TrimSuffix(h, " (homozygous)"))] = true
		}
	}
	missing := map[int]bool{}
	for _, label := range c.MissingPositions {
		if vi := slices.IndexFunc(def.Variants, func(v Variant) bool { return v.Label() == label }); vi >= 0 {
			missing[vi] = true
		}
	}
	// variant reports whether allele na differs from the reference at vi.
	variant := func(na NamedAllele, vi int) bool {
		return !na.Reference && vi < len(na.Alleles) && na.Alleles[vi] != "" && na.Alleles[vi] != def.Variants[vi].Ref
	}
	// An allele is untested when a missing position defines it and, on
	// the positions with data, its definition is another allele's (or the
	// reference's): the data cannot tell the two apart.
	key := func(na NamedAllele) string {
		var k strings.Builder
		for vi := range def.Variants {
			if !missing[vi] && variant(na, vi) {
				fmt.Fprintf(&k, "%d=%s;", vi, na.Alleles[vi])
			}
		}
		return k.String()
	}
	byKey := map[string][]string{}
	for _, na := range def.NamedAlleles {
		k, name := key(na), def.reportName(na.Name)
		if !slices.Contains(byKey[k], name) {
			byKey[k] = append(byKey[k], name)
		}
	}
	untestable := map[string]bool{}
	tested := map[string]bool{}
	for _, na := range def.NamedAlleles {
		atMissing := false
		for vi := range def.Variants {
			atMissing = atMissing || (missing[vi] && variant(na, vi))
		}
		k, name := key(na), def.reportName(na.Name)
		if atMissing && (k == "" || len(byKey[k]) > 1) {
			untestable[name] = true
		} else {
			tested[name] = true
		}
	}
	var positions, untested []string
	seen := map[string]bool{}
	for i, label := range c.MissingPositions {
		if i == 6 {
			positions = append(positions, fmt.Sprintf("and %d more", len(c.MissingPositions)-i))
			break
		}
		vi := slices.IndexFunc(def.Variants, func(v Variant) bool { return v.Label() == label })
		var here, all []string
		if vi >= 0 {
			for _, na := range def.NamedAlleles {
				if !variant(na, vi) {
					continue
				}
				name := def.reportName(na.Name)
				if !slices.Contains(all, name) {
					all = append(all, name)
				}
				// A sub-allele may be untestable while its named allele
				// is found through another sub-allele's positions.
				if untestable[name] && !tested[name] && !called[name] && !slices.Contains(here, name) {
					here = append(here, name)
					if !seen[name] {
						seen[name] = true
						untested = append(untested, name)
					}
				}
			}
		}
		if len(here) == 0 {
			here = all
		}
		switch {
		case len(here) == 0:
			positions = append(positions, label)
		case len(here) > 3:
			positions = append(positions, fmt.Sprintf("%s (%s, …)", label, strings.Join(here[:3], ", ")))
		default:
			positions = append(positions, fmt.Sprintf("%s (%s)", label, strings.Join(here, ", ")))
		}
	}
	note := fmt.Sprintf("%d of %d %s positions missing: %s", len(c.MissingPositions), len(def.Variants), c.Gene, strings.Join(positions, ", "))
	if len(untested) > 4 {
		untested = append(untested[:4], "others")
	}
	if dips := c.LookupDiplotypes(); c.HasResult() && len(dips) > 0 && len(untested) > 0 {
		note += fmt.Sprintf(" — call may be %s only because %s could not be tested", strings.Join(dips, " or "), strings.Join(untested, ", "))
	}
	return note
}
