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
	"github.com/geneguard/geneguard/risk"
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

// Algorithm IDs of the built-in algorithms added for the breast-cancer
// service and the second polygenic score.
const (
	BreastScreeningAlgorithmID = "prs-breast-cancer-screening-demo"
	BRCAAlgorithmID            = "monogenic-brca"
	CADAlgorithmID             = "prs-cad-demo"
)

// BreastScreeningAlgorithm is the breast-cancer service's full path on the
// demo's SYNTHETIC score: the Estonian risk model (PRS313's OR per SD,
// Estonian incidence and mortality, the national programme, a source for
// every number; risk.EstonianBreastModel) gives 10-year and lifetime risks
// and a screening start and interval, and carriers of a listed pathogenic
// BRCA1/BRCA2 variant are referred to clinical genetics whatever their
// percentile. The weights are made up, so the numbers are not a medical
// result; a real version bundles PGS000004 with the same model.
func BreastScreeningAlgorithm() (*algorithm.Version, error) {
	model, err := risk.DataFile(risk.EstonianBreastModel)
	if err != nil {
		return nil, err
	}
	list, err := risk.DataFile(risk.BRCAPathogenicList)
	if err != nil {
		return nil, err
	}
	m := algorithm.Manifest{
		ID:      BreastScreeningAlgorithmID,
		Version: "demo-2",
		Kind:    algorithm.KindPRS,
		Title:   "Breast-cancer risk and screening advice (demonstration score)",
		Purpose: "Many small genetic differences together, and rare variants in the BRCA genes, change the chance of breast cancer. " +
			"If you agree, we use your genotype, age and sex to estimate your risk over the next 10 years and over your lifetime, " +
			"and say when mammography screening should start for you. This demonstration uses made-up weights and is not a medical result.",
		IntendedUse: "Polygenic percentile, 10-year and lifetime absolute risk on Estonian rates, screening start age and interval relative to the national programme, and BRCA1/BRCA2 carrier referral (demonstration; synthetic weights).",
		Inputs:      algorithm.InputSpec{Genotypes: true, Attributes: []string{"age", "sex"}},
	}
	return algorithm.New(m, map[string][]byte{
		runner.PRSScoreFile:   DemoScore(),
		runner.PRSModelFile:   model,
		runner.PathogenicFile: list,
	}, "geneguard")
}

// BRCAAlgorithm reports carriers of the listed pathogenic BRCA1/BRCA2
// variants (risk.BRCAPathogenicList, ClinVar, a source per row) and refers
// them to clinical genetics.
func BRCAAlgorithm() (*algorithm.Version, error) {
	list, err := risk.DataFile(risk.BRCAPathogenicList)
	if err != nil {
		return nil, err
	}
	m := algorithm.Manifest{
		ID:      BRCAAlgorithmID,
		Version: "2026.1",
		Kind:    algorithm.KindMonogenic,
		Title:   "BRCA1 and BRCA2 pathogenic variants",
		Purpose: "Some rare changes in the BRCA1 and BRCA2 genes greatly raise the chance of breast and ovarian cancer. If you agree, " +
			"we look for the changes on our list in your biobank genotype; if you carry one, you are referred to clinical genetics.",
		IntendedUse: "Carrier status for a listed set of ClinVar pathogenic BRCA1/BRCA2 variants, with referral to clinical genetics. Not a full gene test: variants not on the list are not looked for.",
		Inputs:      algorithm.InputSpec{Genotypes: true},
	}
	return algorithm.New(m, map[string][]byte{
		runner.PathogenicFile: list,
		runner.CarrierFile:    []byte(brcaCarrierRule),
	}, "geneguard")
}

const brcaCarrierRule = `{
  "category": "carrier of a pathogenic variant",
  "advice": "A pathogenic variant in a high-risk breast-cancer gene was found. Clinical genetics will confirm it and advise on screening and prevention; relatives may want testing too.",
  "referral": "clinical genetics",
  "source": "NICE CG164: BRCA1/BRCA2 carriers are managed by specialist services"
}`

// CADAlgorithm is a demonstration coronary-artery-disease polygenic score
// through the same machinery as the breast-cancer score. Its weights are
// SYNTHETIC: drawn with their own seed at the demo score's positions (the
// only sites the demo cohort has genotypes at), so it is clearly not a
// real score. The model follows the Estonian CAD pilot (top 20% of the
// PRS counselled by their GP with a total 10-year CVD risk assessment).
func CADAlgorithm() (*algorithm.Version, error) {
	m := algorithm.Manifest{
		ID:      CADAlgorithmID,
		Version: "demo-1",
		Kind:    algorithm.KindPRS,
		Title:   "Coronary heart disease genetic risk (demonstration score)",
		Purpose: "Many small genetic differences together change the chance of coronary heart disease. If you agree, we combine " +
			"them into a score and tell you whether a check of your heart risk with your family doctor could help. " +
			"This demonstration uses made-up weights and is not a medical result.",
		IntendedUse: "Polygenic percentile for coronary artery disease with GP counselling advice for the top 20% (demonstration; synthetic weights, not for clinical use).",
		Inputs:      algorithm.InputSpec{Genotypes: true},
	}
	return algorithm.New(m, map[string][]byte{
		runner.PRSScoreFile: CADScore(),
		runner.PRSModelFile: []byte(cadModel),
	}, "geneguard")
}

const cadModel = `{
  "version": "cad-demo-1",
  "odds_ratio_per_sd": 1.71,
  "odds_ratio_source": "PGS000018 metaGRS_CAD, Inouye et al., JACC 2018;72:1883: HR 1.71 per SD in UK Biobank (used here only to illustrate; the demo weights are synthetic)",
  "source": "geneguard CAD demo model: top-20% threshold from the Estonian CAD PRS pilot (NCT04291157; Eur Heart J Open 2022;2:oeac079)",
  "categories": [
    {"name": "average or lower genetic risk", "up_to": 80,
     "advice": "No extra action because of your genes; keep the usual heart-health checks."},
    {"name": "elevated genetic risk", "up_to": 100,
     "advice": "Book a visit with your family doctor for a total 10-year cardiovascular risk assessment (cholesterol, blood pressure); statins may be discussed."}
  ]
}`

// CADScore returns the synthetic CAD scoring file in PGS Catalog format v2.
func CADScore() []byte {
	r := rand.New(rand.NewPCG(20260518, 7))
	var b bytes.Buffer
	b.WriteString("###PGS CATALOG SCORING FILE FORMAT (synthetic demonstration file made by geneguard)\n")
	b.WriteString("#format_version=2.0\n##POS\n#pgs_id=GGDEMO02\n")
	b.WriteString("#pgs_name=geneguard_demo_CAD_SYNTHETIC\n#trait_reported=Coronary artery disease (synthetic demonstration, not clinical)\n")
	fmt.Fprintf(&b, "#variants_number=%d\n#genome_build=GRCh38\n", len(demoVariants))
	b.WriteString("chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\tallelefrequency_effect\n")
	for _, v := range demoVariants {
		e, o, f := v.effect, v.other, v.freq
		if r.IntN(2) == 0 {
			e, o, f = o, e, 1-f
		}
		fmt.Fprintf(&b, "%d\t%d\t%s\t%s\t%s\t%s\n", v.chrom, v.pos, e, o,
			strconv.FormatFloat(r.NormFloat64()*0.06, 'f', 6, 64), strconv.FormatFloat(f, 'f', 4, 64))
	}
	return b.Bytes()
}
