package pgx

import (
	"math/rand/v2"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
)

// TestBitsetMatchesCandidates checks candList.match against
// candidate.matches, the definition of a match, on random observed position
// sets and random strands (REF, ALTs, missing, and alleles the definition
// does not know), for every gene of the corpus (else the built-in one).
func TestBitsetMatchesCandidates(t *testing.T) {
	var defs *Definitions
	if d := testcorpus.Dir(); d != "" {
		var err error
		if defs, err = LoadDefinitions(d + "/pgx/definitions"); err != nil {
			t.Fatal(err)
		}
	} else {
		b, err := Builtin()
		if err != nil {
			t.Fatal(err)
		}
		defs = b.Definitions
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range defs.GeneNames() {
		def := defs.Genes[g]
		ex := defs.Exemptions[g]
		gm := &geneMasks{}
		for _, assumeRef := range []bool{true, false} {
			for trial := range 60 {
				gd := &geneData{def: def, masks: gm}
				for v := range def.Variants {
					if trial == 0 || rng.IntN(5) > 0 {
						gd.sites = append(gd.sites, site{v: v})
					}
				}
				cl := gd.candList(ex, assumeRef)
				for range 20 {
					s := make([]string, len(gd.sites))
					for i, st := range gd.sites {
						vr := def.Variants[st.v]
						switch k := rng.IntN(len(vr.Alts) + 4); {
						case k < len(vr.Alts):
							s[i] = vr.Alts[k]
						case k == len(vr.Alts):
							s[i] = ""
						case k == len(vr.Alts)+1:
							s[i] = []string{"A", "C", "G", "T", "AT"}[rng.IntN(5)]
						default:
							s[i] = vr.Ref
						}
					}
					got := map[int]bool{}
					cl.each(cl.match(gd.sites, s, nil), func(ci int) { got[ci] = true })
					for ci := range cl.list {
						if want := cl.list[ci].matches(s); want != got[ci] {
							t.Fatalf("%s assumeRef=%v: candidate %s: bitset says %v, matches says %v for %q", g, assumeRef, cl.list[ci].name, got[ci], want, s)
						}
					}
				}
			}
		}
	}
}
