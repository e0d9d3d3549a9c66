package pgx

import (
	"strings"
)

// iupacBases lists the bases each IUPAC nucleotide code stands for. Allele
// definitions use these codes where CPIC merged sub-alleles that differ at a
// position (CYP2C19 *4 is Y at rs12248560 because *4A has C and *4B has T).
var iupacBases = map[string]string{
	"A": "A", "C": "C", "G": "G", "T": "T",
	"R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
	"B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}

func isIUPAC(s string) bool {
	_, ok := iupacBases[s]
	return ok
}

// isWobble reports whether a defined allele is an ambiguity code rather than
// one base or an indel string.
func isWobble(s string) bool {
	if len(s) != 1 {
		return false
	}
	switch s[0] {
	case 'R', 'Y', 'S', 'W', 'K', 'M', 'B', 'D', 'H', 'V', 'N':
		return true
	}
	return false
}

// alleleMatches reports whether an observed VCF allele satisfies a defined
// allele. Multi-base alleles (indels, repeats) must match exactly.
func alleleMatches(defined, observed string) bool {
	if defined == observed {
		return true
	}
	if observed == "" || len(observed) != 1 || !isWobble(defined) {
		return false
	}
	return strings.Contains(iupacBases[defined], observed)
}

const combinationJoiner = " + "

func isCombinationName(n string) bool {
	return strings.HasPrefix(n, "[") && strings.HasSuffix(n, "]") && strings.Contains(n, combinationJoiner)
}

// compareNames orders allele names the way PharmCAT prints them: plain names
// before combinations ("[*2 + *3]"), combinations by component count, and
// numbers inside names compared as numbers ("*2" < "*10" < "*80+*28"), so that
// tied calls come out in the order a reader of PharmCAT output expects.
func compareNames(a, b string) int {
	if a == b {
		return 0
	}
	ca, cb := isCombinationName(a), isCombinationName(b)
	if ca != cb {
		if ca {
			return 1
		}
		return -1
	}
	if ca {
		pa := strings.Split(a[1:len(a)-1], combinationJoiner)
		pb := strings.Split(b[1:len(b)-1], combinationJoiner)
		if len(pa) != len(pb) {
			return cmpInt(len(pa), len(pb))
		}
		for i := range pa {
			if c := naturalCompare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
		return strings.Compare(a, b)
	}
	return naturalCompare(a, b)
}

// naturalCompare compares strings chunk by chunk, digit runs numerically.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, restA := chunk(a)
		rb, restB := chunk(b)
		da, db := isDigit(ra[0]), isDigit(rb[0])
		var c int
		switch {
		case da && db:
			ta, tb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if c = cmpInt(len(ta), len(tb)); c == 0 {
				if c = strings.Compare(ta, tb); c == 0 {
					c = cmpInt(len(ra), len(rb))
				}
			}
		default:
			c = strings.Compare(ra, rb)
		}
		if c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return cmpInt(len(a), len(b))
}

func chunk(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
