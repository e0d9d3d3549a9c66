package runner_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/risk"
	"github.com/geneguard/geneguard/runner"
)

// A two-variant score small enough to check by hand: both weights 0.5 at
// effect-allele frequency 0.5, so under HWE the mean is Σ2pw = 1.0 and the
// SD √Σ2p(1−p)w² = 0.5.
const tinyScore = `#pgs_id=TINY
#genome_build=GRCh38
chr_name	chr_position	effect_allele	other_allele	effect_weight	allelefrequency_effect
1	1000	A	G	0.5	0.5
2	2000	C	T	0.5	0.5
`

func riskData(t *testing.T, name string) []byte {
	t.Helper()
	b, err := risk.DataFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func version(t *testing.T, kind algorithm.Kind, attrs []string, files map[string][]byte) *algorithm.Version {
	t.Helper()
	v, err := algorithm.New(algorithm.Manifest{ID: "t-" + string(kind), Version: "1", Kind: kind, Title: "t", Purpose: "t",
		Inputs: algorithm.InputSpec{Genotypes: true, Attributes: attrs}}, files, "test")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// oneSample writes a one-sample GRCh38 VCF; rows are "chrom pos ref alt gt".
func oneSample(rows ...string) []byte {
	var b strings.Builder
	b.WriteString("##fileformat=VCFv4.2\n##reference=GRCh38\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE\n")
	for _, r := range rows {
		f := strings.Fields(r)
		fmt.Fprintf(&b, "%s\t%s\t.\t%s\t%s\t.\tPASS\t.\tGT\t%s\n", f[0], f[1], f[2], f[3], f[4])
	}
	return []byte(b.String())
}

const brca = "17 43051104 A G" // BRCA1 c.5291T>C in the shipped list

func breastBundle(t *testing.T, extra map[string][]byte) *algorithm.Version {
	files := map[string][]byte{
		runner.PRSScoreFile:   []byte(tinyScore),
		runner.PRSModelFile:   riskData(t, risk.EstonianBreastModel),
		runner.PathogenicFile: riskData(t, risk.BRCAPathogenicList),
	}
	for k, v := range extra {
		files[k] = v
	}
	return version(t, algorithm.KindPRS, []string{"age", "sex"}, files)
}

func TestPRSEngineBreastCancer(t *testing.T) {
	empirical := []byte(`{"method":"empirical","mean":1.0,"sd":0.25,"n":1000,"cohort":"test cohort","variants_scored":2}`)
	empiricalOther := []byte(`{"method":"empirical","mean":1.0,"sd":0.25,"n":1000,"cohort":"test cohort","variants_scored":3}`)
	cases := []struct {
		name     string
		extra    map[string][]byte
		vcf      []byte
		attrs    map[string]string
		category string
		z        float64
		start    int
		interval int
		referral string
		summary  string
	}{
		// sum 2.0 → z = (2−1)/0.5 = 2 → 97.7th percentile: moderate; the
		// risk-equivalent age 37 is bounded by the earliest start, 40.
		{"hwe, z=2", nil, oneSample("1 1000 G A 1/1", "2 2000 T C 1/1", brca+" 0/0"), map[string]string{"age": "40", "sex": "female"},
			"moderately increased risk", 2, 40, 1, "", "10-year risk 2.4% (average 1.0%), lifetime to 80 13.7%"},
		// sum 0 → z = −2 but a BRCA1 carrier: referral whatever the percentile.
		{"carrier at z=-2", nil, oneSample("1 1000 G A 0/0", "2 2000 T C 0/0", brca+" 0/1"), map[string]string{"age": "40", "sex": "female"},
			"carrier of a pathogenic variant", -2, 0, 0, "clinical genetics", "Referral to clinical genetics: carrier of BRCA1 NM_007294.4:c.5291T>C (p.Leu1764Pro)."},
		// sum 1.5 against the empirical cohort: z = (1.5−1)/0.25 = 2.
		{"empirical, z=2", map[string][]byte{runner.PRSReferenceFile: empirical}, oneSample("1 1000 G A 1/1", "2 2000 T C 0/1", brca+" 0/0"),
			map[string]string{"age": "40", "sex": "female"}, "moderately increased risk", 2, 40, 1, "", "percentile 98"},
		{"empirical on another variant set", map[string][]byte{runner.PRSReferenceFile: empiricalOther}, oneSample("1 1000 G A 1/1", "2 2000 T C 0/1", brca+" 0/0"),
			map[string]string{"age": "40", "sex": "female"}, "Indeterminate", 0, 0, 0, "", "scored on 2 variants but the reference cohort on 3"},
		{"male", nil, oneSample("1 1000 G A 1/1", "2 2000 T C 1/1", brca+" 0/0"), map[string]string{"age": "40", "sex": "male"},
			"Not applicable", 0, 0, 0, "", "applies to sex \"female\""},
		{"male carrier is still referred", nil, oneSample("1 1000 G A 1/1", "2 2000 T C 1/1", brca+" 1/0"), map[string]string{"age": "40", "sex": "male"},
			"carrier of a pathogenic variant", 0, 0, 0, "clinical genetics", "Referral to clinical genetics"},
		{"missing genotype, carrier", nil, oneSample("1 1000 G A ./.", "2 2000 T C 1/1", brca+" 0/1"), map[string]string{"age": "40", "sex": "female"},
			"carrier of a pathogenic variant", 0, 0, 0, "clinical genetics", "Referral to clinical genetics"},
		{"average, 55, list incomplete", nil, oneSample("1 1000 G A 0/1", "2 2000 T C 0/1"), map[string]string{"age": "55", "sex": "female"},
			"near population risk", 0, 50, 2, "", "4 of 4 listed pathogenic variants not assessed"},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := runner.NewPRSEngine()
			out, err := e.Run(ctx, breastBundle(t, c.extra), runner.Input{VCF: c.vcf, Attrs: c.attrs})
			if err != nil {
				t.Fatal(err)
			}
			d := out.Data.(runner.PRSOutput)
			if out.Category != c.category || !strings.Contains(out.Summary, c.summary) {
				t.Errorf("category %q summary %q; want %q containing %q", out.Category, out.Summary, c.category, c.summary)
			}
			if c.z != 0 && math.Abs(d.Assessment.Z-c.z) > 1e-12 {
				t.Errorf("z = %v, want %v", d.Assessment.Z, c.z)
			}
			if c.start != 0 && (d.Recommendation == nil || d.Recommendation.StartAge != c.start || d.Recommendation.IntervalYears != c.interval) {
				t.Errorf("recommendation %+v, want start %d every %d", d.Recommendation, c.start, c.interval)
			}
			if c.referral != "" && (d.Recommendation == nil || d.Recommendation.Referral != c.referral || !strings.Contains(d.Referral, "Referral to")) {
				t.Errorf("referral %q / %+v, want %q", d.Referral, d.Recommendation, c.referral)
			}
		})
	}
}

func TestPRSEngineBundleNeedsAttributes(t *testing.T) {
	v := version(t, algorithm.KindPRS, []string{"sex"}, map[string][]byte{
		runner.PRSScoreFile: []byte(tinyScore), runner.PRSModelFile: riskData(t, risk.EstonianBreastModel)})
	_, err := runner.NewPRSEngine().Loci(v)
	if err == nil || !strings.Contains(err.Error(), `needs the "age" attribute`) {
		t.Errorf("err = %v", err)
	}
	v = version(t, algorithm.KindPRS, []string{"age", "sex"}, map[string][]byte{
		runner.PRSScoreFile: []byte(tinyScore), runner.PRSModelFile: []byte(`{"odds_ratio_per_sd":1.5,"categories":[{"name":"a","up_to":100}]}`),
		runner.PathogenicFile: riskData(t, risk.BRCAPathogenicList)})
	if _, err := runner.NewPRSEngine().Loci(v); err == nil || !strings.Contains(err.Error(), "no carrier rule") {
		t.Errorf("list without carrier rule: %v", err)
	}
	loci, err := runner.NewPRSEngine().Loci(breastBundle(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(loci) != 2+4 || !loci[runner.Locus{Chrom: "17", Pos: 43051104}] {
		t.Errorf("loci %v: want the 2 score positions and the 4 listed variants", loci)
	}
}

// The built-in demonstration versions run on the demo cohort: the
// breast-cancer screening version gives absolute risks and a schedule,
// the CAD score runs through the same engine, and the BRCA list finds the
// cohort's one carrier (sample 1) and no listed variant in the others.
func TestDemoAlgorithmsOnCohort(t *testing.T) {
	path := t.TempDir() + "/cohort.vcf.gz"
	if err := demo.WriteVCF(path, demo.Cohort(3)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		mk       func() (*algorithm.Version, error)
		sample   int
		eng      runner.Engine
		attrs    map[string]string
		category string
		summary  string
	}{
		{demo.BreastScreeningAlgorithm, 0, runner.NewPRSEngine(), map[string]string{"age": "45", "sex": "female"}, "", "10-year risk"},
		{demo.CADAlgorithm, 0, runner.NewPRSEngine(), nil, "", "GGDEMO02"},
		{demo.BRCAAlgorithm, 0, runner.NewMonogenicEngine(), nil, "No listed variant found", "None of the 4 listed pathogenic variants found"},
		{demo.BRCAAlgorithm, 1, runner.NewMonogenicEngine(), nil, "", "Referral to clinical genetics: carrier of BRCA1"},
		{demo.BreastScreeningAlgorithm, 1, runner.NewPRSEngine(), map[string]string{"age": "45", "sex": "female"}, "", "Referral to clinical genetics"},
	} {
		v, err := c.mk()
		if err != nil {
			t.Fatal(err)
		}
		loci, err := c.eng.Loci(v)
		if err != nil {
			t.Fatal(err)
		}
		in, err := runner.Extract(path, c.sample, loci)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.eng.Run(ctx, v, runner.Input{VCF: in, Attrs: c.attrs})
		if err != nil {
			t.Fatalf("%s: %v", v.Manifest.ID, err)
		}
		if (c.category != "" && out.Category != c.category) || !strings.Contains(out.Summary, c.summary) {
			t.Errorf("%s: %q %q, want %q containing %q", v.Manifest.ID, out.Category, out.Summary, c.category, c.summary)
		}
		t.Logf("%s: %s", v.Manifest.ID, out.Summary)
	}
}
