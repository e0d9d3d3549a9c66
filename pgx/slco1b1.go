package pgx

import (
	"sort"
	"strings"
)

// SLCO1B1's fallback (PharmCAT's Slco1b1CustomCaller): when no diplotype
// fits, the gene is looked up by the rs4149056 genotype alone, T reading as
// *1 and C (c.521T>C) as *5. The matcher's answer stays NO_CALL; the
// inferred diplotype is what phenotype and guidance use, and the report
// shows the genotype it came from ("rs4149056 C/rs4149056 T").
const (
	slco1b1Gene     = "SLCO1B1"
	slco1b1CallRSID = "rs4149056"
)

var slco1b1Haplotype = map[string]string{"T": "*1", "C": "*5"}

// slco1b1Fallback sets call.Recommended from rs4149056 when the position was
// read with two alleles that both map to a haplotype.
func (gd *geneData) slco1b1Fallback(call *GeneCall) {
	i := gd.siteByRSID(slco1b1CallRSID)
	if i < 0 || len(gd.sites[i].alleles) != 2 {
		return
	}
	al := gd.sites[i].alleles
	h1, ok1 := slco1b1Haplotype[al[0]]
	h2, ok2 := slco1b1Haplotype[al[1]]
	if !ok1 || !ok2 {
		return
	}
	d := pairOf(h1, h2)
	src := []string{slco1b1CallRSID + " " + al[0], slco1b1CallRSID + " " + al[1]}
	sort.Strings(src)
	call.Recommended = []string{d.Name}
	call.recommended = []Diplotype{*d}
	call.Inferred = "no diplotype fits; inferred " + d.Name + " from the " + strings.Join(src, "/") + " genotype alone"
	call.Warnings = append(call.Warnings, "SLCO1B1 could not be called; phenotype and recommendations use "+d.Name+", inferred from "+strings.Join(src, "/"))
}
