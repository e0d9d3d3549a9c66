package pgx_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

// TestSLCO1B1Fallback: PipelineTest#testSlco1b1UncalledOverride. The
// matcher cannot call the sample (expected.tsv: NO_CALL); PharmCAT's
// reporter then falls back to the rs4149056 genotype, printed
// "rs4149056 C/rs4149056 T" and looked up as *1/*5.
func TestSLCO1B1Fallback(t *testing.T) {
	b := corpusBundle(t)
	r, err := vcf.Open(filepath.Join(testcorpus.Require(t, "pgx"), "vcf/generated/slco1b1_uncalled_rs4149056_fallback.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := pgx.NewCaller(b.Definitions, b.Phenotypes, pgx.Options{}).CallVCF(context.Background(), r, []string{"SLCO1B1"})
	if err != nil {
		t.Fatal(err)
	}
	gc := res.Samples[0].Calls[0]
	if gc.Called() || gc.NoCallReason == "" {
		t.Errorf("matcher result %q (reason %q), want NO_CALL with a reason", gc.Diplotypes, gc.NoCallReason)
	}
	if !slices.Equal(gc.Recommended, []string{"*1/*5"}) || !strings.Contains(gc.Inferred, "rs4149056 C/rs4149056 T") {
		t.Errorf("fallback %q (%q), want *1/*5 from rs4149056 C/rs4149056 T", gc.Recommended, gc.Inferred)
	}
	want := b.Phenotypes.Genes["SLCO1B1"].Lookup("*1", "*5")
	if gc.Phenotype != want.Phenotype || want.Phenotype == "" {
		t.Errorf("phenotype %q, want %q", gc.Phenotype, want.Phenotype)
	}
	if !gc.HasResult() {
		t.Error("HasResult false for an inferred call")
	}
}

// TestSLCO1B1FallbackOnlyWhenUncalled: a called sample keeps its diplotype
// and gets no inferred one; a sample without rs4149056 gets no fallback.
func TestSLCO1B1FallbackOnlyWhenUncalled(t *testing.T) {
	b := corpusBundle(t)
	c := pgx.NewCaller(b.Definitions, b.Phenotypes, pgx.Options{})
	def, _ := b.Definitions.Gene("SLCO1B1")
	for _, tc := range []struct {
		name string
		gt   map[string]string // rsid -> GT; others 0/0
		drop string
		want []string
	}{
		{"called", map[string]string{"rs4149056": "0/1"}, "", nil},
		{"rs4149056 missing", map[string]string{"rs2306283": "1/1"}, "rs4149056", nil},
	} {
		s := pgx.NewSample("S")
		for _, v := range def.Variants {
			if v.RSID == tc.drop {
				continue
			}
			al := []string{v.Ref, v.Ref}
			if g, ok := tc.gt[v.RSID]; ok && len(v.Alts) > 0 {
				for k, x := range strings.Split(g, "/") {
					if x == "1" {
						al[k] = v.Alts[0]
					}
				}
			}
			s.Set(def.Chromosome, v.Position, pgx.Call{Ref: v.Ref, Alleles: al})
		}
		calls, err := c.CallSample(s, []string{"SLCO1B1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := calls[0].Recommended; !slices.Equal(got, tc.want) {
			t.Errorf("%s: recommended %q, want %q (diplotypes %q)", tc.name, got, tc.want, calls[0].Diplotypes)
		}
	}
}
