// Package demo makes the bundled demonstration: the built-in algorithm
// versions, a synthetic cohort with genotypes, and the identities people
// sign in with. Everything is generated from fixed seeds, so two demo runs
// show the same people with the same results, and nothing is downloaded.
package demo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/runner"
)

// Algorithm IDs of the built-in algorithms.
const (
	PGxAlgorithmID = "pgx-cyp2c19-antidepressants"
	PRSAlgorithmID = "prs-breast-cancer-demo"
)

// PGxAlgorithm is the built-in CYP2C19 algorithm: the project's own
// definition and phenotype tables (written from CPIC/PharmVar, a source per
// row) with CPIC guidance for the SSRIs.
func PGxAlgorithm() (*algorithm.Version, error) {
	files, err := pgx.BuiltinFiles()
	if err != nil {
		return nil, err
	}
	m := algorithm.Manifest{
		ID:      PGxAlgorithmID,
		Version: pgx.BundleVersion,
		Kind:    algorithm.KindPGx,
		Title:   "CYP2C19 and antidepressants",
		Purpose: "Your CYP2C19 gene affects how fast your body breaks down some antidepressants " +
			"(citalopram, escitalopram, sertraline). If you agree, we read this gene from your biobank " +
			"genotype so your doctor can choose a medicine and dose that suit you.",
		IntendedUse: "CYP2C19 diplotype and metabolizer phenotype with CPIC prescribing guidance for citalopram, escitalopram and sertraline.",
		Inputs:      algorithm.InputSpec{Genotypes: true},
		Drugs:       []string{"citalopram", "escitalopram", "sertraline"},
	}
	return algorithm.New(m, files, "geneguard")
}

// PRSAlgorithm is a demonstration breast-cancer polygenic score. Its
// variants and weights are SYNTHETIC (made by DemoScore), so the demo can
// show the whole path without shipping third-party data; the real PGS000004
// is imported with `geneguard algorithm submit`.
func PRSAlgorithm() (*algorithm.Version, error) {
	m := algorithm.Manifest{
		ID:      PRSAlgorithmID,
		Version: "demo-1",
		Kind:    algorithm.KindPRS,
		Title:   "Breast-cancer genetic risk (demonstration score)",
		Purpose: "Many small genetic differences together change the chance of breast cancer. If you agree, " +
			"we combine them into a score and tell you whether earlier or more frequent screening could help you. " +
			"This demonstration uses made-up weights and is not a medical result.",
		IntendedUse: "Polygenic risk percentile and screening category (demonstration; synthetic weights, not for clinical use).",
		Inputs:      algorithm.InputSpec{Genotypes: true, Attributes: []string{"age", "sex"}},
	}
	files := map[string][]byte{
		runner.PRSScoreFile: DemoScore(),
		runner.PRSModelFile: []byte(demoModel),
	}
	return algorithm.New(m, files, "geneguard")
}

// The odds ratio per SD is PRS313's (Mavaddat et al. 2019, AJHG); the
// thresholds and advice are illustrative, relative to Estonia's programme
// of mammography every 2 years from age 50.
const demoModel = `{
  "odds_ratio_per_sd": 1.61,
  "source": "geneguard demo model: OR/SD from Mavaddat et al. 2019 (PRS313); thresholds illustrative",
  "categories": [
    {"name": "near population risk", "up_to_percentile": 80,
     "advice": "Follow the national screening programme: mammography every 2 years from age 50."},
    {"name": "moderately increased risk", "up_to_percentile": 97.5,
     "advice": "Consider starting mammography at 45, every 2 years; discuss with your family doctor."},
    {"name": "high risk", "up_to_percentile": 100,
     "advice": "Referral to a breast clinic: yearly mammography from age 40 may be offered."}
  ]
}`

// scoreVariant is one synthetic scoring-file row.
type scoreVariant struct {
	chrom         int
	pos           int
	effect, other string
	weight, freq  float64
}

var demoVariants = func() []scoreVariant {
	r := rand.New(rand.NewPCG(20261203, 4))
	bases := []string{"A", "C", "G", "T"}
	var vs []scoreVariant
	used := map[[2]int]bool{}
	for len(vs) < 40 {
		v := scoreVariant{chrom: 1 + r.IntN(22), pos: 1_000_000 + r.IntN(40_000_000)}
		if v.chrom == 10 || used[[2]int{v.chrom, v.pos}] {
			continue // keep clear of CYP2C19
		}
		e, o := bases[r.IntN(4)], bases[r.IntN(4)]
		if e == o || (e == "A" && o == "T") || (e == "T" && o == "A") || (e == "C" && o == "G") || (e == "G" && o == "C") {
			continue // no strand-ambiguous pairs in a demo
		}
		used[[2]int{v.chrom, v.pos}] = true
		v.effect, v.other = e, o
		v.weight = r.NormFloat64() * 0.08
		v.freq = 0.05 + r.Float64()*0.55
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].chrom != vs[j].chrom {
			return vs[i].chrom < vs[j].chrom
		}
		return vs[i].pos < vs[j].pos
	})
	return vs
}()

// DemoScore returns the synthetic scoring file in PGS Catalog format v2.
func DemoScore() []byte {
	var b bytes.Buffer
	b.WriteString("###PGS CATALOG SCORING FILE FORMAT (synthetic demonstration file made by geneguard)\n")
	b.WriteString("#format_version=2.0\n##POS\n#pgs_id=GGDEMO01\n")
	b.WriteString("#pgs_name=geneguard_demo_breast_cancer_SYNTHETIC\n#trait_reported=Breast cancer (synthetic demonstration, not clinical)\n")
	fmt.Fprintf(&b, "#variants_number=%d\n#genome_build=GRCh38\n", len(demoVariants))
	b.WriteString("chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tallelefrequency_effect\n")
	for _, v := range demoVariants {
		fmt.Fprintf(&b, "%d\t%d\t%s\t%s\t%s\t%s\n", v.chrom, v.pos, v.effect, v.other,
			strconv.FormatFloat(v.weight, 'f', 6, 64), strconv.FormatFloat(v.freq, 'f', 4, 64))
	}
	return b.Bytes()
}
