package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/risk"
	"github.com/geneguard/geneguard/vcf"
)

// PRS bundle file names. score.txt and model.json are required;
// reference.json (the calibration) and pathogenic.tsv (monogenic findings
// combined into the report) are optional.
const (
	PRSScoreFile     = "score.txt"      // PGS Catalog scoring file
	PRSModelFile     = "model.json"     // risk.Model
	PRSReferenceFile = "reference.json" // risk.Reference; absent = HWE
)

// PRSEngine runs prs bundles: a PGS Catalog scoring file scored with no
// imputation, standardised against the version's reference distribution
// (HWE over the variants actually scored, or an empirical cohort), placed
// on the bundle's risk model with the person's age and sex, and combined
// with carrier status when the bundle lists pathogenic variants.
type PRSEngine struct {
	mu    sync.Mutex
	cache map[string]*prsBundle
}

type prsBundle struct {
	score *prs.Score
	model *risk.Model
	ref   *risk.Reference
	list  *risk.VariantList // nil without pathogenic.tsv
}

// NewPRSEngine returns an engine with an empty bundle cache.
func NewPRSEngine() *PRSEngine { return &PRSEngine{cache: map[string]*prsBundle{}} }

func (e *PRSEngine) bundle(v *algorithm.Version) (*prsBundle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.cache[v.Hash]; ok {
		return b, nil
	}
	sf, ok := v.Files[PRSScoreFile]
	if !ok {
		return nil, fmt.Errorf("prs bundle has no %s", PRSScoreFile)
	}
	s, err := prs.ParseScoringFile(bytes.NewReader(sf), PRSScoreFile)
	if err != nil {
		return nil, err
	}
	mf, ok := v.Files[PRSModelFile]
	if !ok {
		return nil, fmt.Errorf("prs bundle has no %s", PRSModelFile)
	}
	m, err := risk.ParseModel(mf)
	if err != nil {
		return nil, err
	}
	b := &prsBundle{score: s, model: m, ref: &risk.Reference{Method: risk.RefHWE}}
	if rf, ok := v.Files[PRSReferenceFile]; ok {
		if b.ref, err = risk.ParseReference(rf); err != nil {
			return nil, fmt.Errorf("%s: %w", PRSReferenceFile, err)
		}
	}
	if b.list, err = variantList(v); err != nil {
		return nil, err
	}
	if b.list != nil && m.Carrier == nil {
		return nil, fmt.Errorf("prs bundle lists pathogenic variants (%s) but %s has no carrier rule", PathogenicFile, PRSModelFile)
	}
	for _, a := range []struct {
		name string
		need bool
	}{{"age", m.Baseline != nil}, {"sex", m.Sex != ""}} {
		if a.need && !declared(v.Manifest.Inputs.Attributes, a.name) {
			return nil, fmt.Errorf("prs: the risk model needs the %q attribute; declare it in the manifest's inputs", a.name)
		}
	}
	e.cache[v.Hash] = b
	return b, nil
}

func declared(attrs []string, name string) bool {
	for _, a := range attrs {
		if a == name {
			return true
		}
	}
	return false
}

// Loci implements Engine: every scoring-file position, and every listed
// pathogenic variant.
func (e *PRSEngine) Loci(v *algorithm.Version) (map[Locus]bool, error) {
	b, err := e.bundle(v)
	if err != nil {
		return nil, err
	}
	out := map[Locus]bool{}
	for _, vr := range b.score.Variants {
		if vr.Pos > 0 {
			out[Locus{vcf.NormalizeChrom(vr.Chrom), vr.Pos}] = true
		}
	}
	if b.list != nil {
		listLoci(b.list, out)
	}
	return out, nil
}

// PRSOutput is the stored output of a prs run.
type PRSOutput struct {
	PGSID   string     `json:"pgs_id"`
	Sum     float64    `json:"sum"`
	Matched int        `json:"variants_matched"`
	Total   int        `json:"variants_total"`
	Missing int        `json:"genotypes_missing"`
	Policy  prs.Policy `json:"policy"`
	// The reference distribution the sum was standardised against.
	RefMethod  string          `json:"reference_method"`
	RefMean    float64         `json:"reference_mean"`
	RefSD      float64         `json:"reference_sd"`
	RefCohort  string          `json:"reference_cohort,omitempty"`
	Assessment risk.Assessment `json:"assessment"`
	// Recommendation repeats Assessment.Recommendation at the top level,
	// where the portal looks for it; Referral is set for carriers.
	Recommendation *risk.Recommendation `json:"recommendation,omitempty"`
	Referral       string               `json:"referral,omitempty"`
	Monogenic      *risk.CarrierResult  `json:"monogenic,omitempty"`
	Unmatched      []prs.Unmatched      `json:"unmatched,omitempty"`
	Model          string               `json:"model_source"`
	// NotInterpretable says why there is no assessment, when there is none.
	NotInterpretable string `json:"not_interpretable,omitempty"`
}

// Run implements Engine.
func (e *PRSEngine) Run(ctx context.Context, v *algorithm.Version, in Input) (Output, error) {
	b, err := e.bundle(v)
	if err != nil {
		return Output{}, err
	}
	person, err := personOf(in.Attrs)
	if err != nil {
		return Output{}, err
	}
	r, err := vcf.NewReader(bytes.NewReader(in.VCF))
	if err != nil {
		return Output{}, err
	}
	res, err := prs.ScoreVCF(ctx, r, []*prs.Score{b.score}, prs.Options{})
	if err != nil {
		return Output{}, nonFinite(err)
	}
	sr := res.Scores[0]
	if len(sr.Samples) != 1 {
		return Output{}, fmt.Errorf("prs: want one sample, got %d", len(sr.Samples))
	}
	ss := sr.Samples[0]
	out := PRSOutput{PGSID: sr.ID, Sum: ss.Sum, Matched: sr.Matched, Total: sr.Total, Missing: ss.Missing, Policy: sr.Policy,
		Unmatched: sr.Unmatched, Model: b.model.Source, RefMethod: b.ref.Method, RefCohort: b.ref.Cohort}
	var carrier *risk.CarrierResult
	if b.list != nil {
		c, err := carrierStatus(b.list, in.VCF)
		if err != nil {
			return Output{}, err
		}
		carrier, out.Monogenic = &c, &c
	}
	out.RefMean, out.RefSD, err = e.reference(b, sr)
	if err != nil {
		return Output{}, nonFinite(fmt.Errorf("prs: reference distribution for %s: %w", sr.ID, err))
	}
	switch {
	case ss.Missing > 0:
		// Under no imputation a missing genotype contributes nothing, so
		// the sum is not comparable with the reference: say so rather
		// than place the person on the distribution.
		out.NotInterpretable = fmt.Sprintf("%d of %d scored genotypes are missing", ss.Missing, sr.Matched)
	case b.ref.Method == risk.RefEmpirical && sr.Matched != b.ref.VariantsScored:
		out.NotInterpretable = fmt.Sprintf("scored on %d variants but the reference cohort on %d", sr.Matched, b.ref.VariantsScored)
	}
	var notApplicable error
	if out.NotInterpretable == "" {
		a, err := b.model.AssessPerson((ss.Sum-out.RefMean)/out.RefSD, person)
		var na *risk.NotApplicableError
		switch {
		case errors.As(err, &na):
			notApplicable = err
		case err != nil:
			return Output{}, nonFinite(fmt.Errorf("prs: %s, sample %s, sum %v: %w", sr.ID, ss.Sample, ss.Sum, err))
		}
		out.Assessment = a
	}
	if carrier != nil && carrier.Status == risk.StatusCarrier {
		// A carrier is referred whatever the percentile, and whether or
		// not the polygenic score could be interpreted.
		if err := b.model.ApplyCarrier(&out.Assessment, carrier.Labels()); err != nil {
			return Output{}, err
		}
		out.Recommendation, out.Referral = out.Assessment.Recommendation, out.Assessment.Recommendation.Text
		return Output{Summary: out.Referral, Category: out.Assessment.Category, Data: out}, nil
	}
	if notApplicable != nil {
		return Output{Summary: fmt.Sprintf("%s: not applicable (%v)", sr.ID, notApplicable), Category: "Not applicable", Data: out}, nil
	}
	if out.NotInterpretable != "" {
		return Output{Summary: fmt.Sprintf("%s: not interpretable — %s", sr.ID, out.NotInterpretable), Category: "Indeterminate", Data: out}, nil
	}
	a := out.Assessment
	out.Recommendation = a.Recommendation
	summary := fmt.Sprintf("%s: %s (percentile %.0f, relative risk %.2f×)", sr.ID, a.Category, math.Round(a.Percentile), a.RelativeRisk)
	if abs := a.Absolute; abs != nil {
		summary += fmt.Sprintf("; 10-year risk %.1f%% (average %.1f%%), lifetime to %d %.1f%%", abs.TenYear, abs.PopulationTenYear, abs.LifetimeToAge, abs.Lifetime)
	}
	if a.Recommendation != nil {
		summary += "; " + strings.TrimSuffix(a.Recommendation.Text, ".")
	}
	if carrier != nil && carrier.Status == risk.StatusIncomplete {
		summary += fmt.Sprintf("; %d of %d listed pathogenic variants not assessed", len(carrier.NotAssessed), carrier.Listed)
	}
	return Output{Summary: summary, Category: a.Category, Data: out}, nil
}

// nonFinite marks permanent an error that says a score, z, percentile or
// risk is ±Inf or NaN: the same bundle and input overflow the same way on
// every attempt, so the job must fail once rather than be retried (and the
// number must never reach a result, whose JSON cannot hold it).
func nonFinite(err error) error {
	if errors.Is(err, prs.ErrNonFinite) || errors.Is(err, risk.ErrNonFinite) {
		return &PermanentError{Err: err}
	}
	return err
}

// reference returns the mean and SD the sum is standardised against.
func (e *PRSEngine) reference(b *prsBundle, sr prs.ScoreResult) (mean, sd float64, err error) {
	if b.ref.Method == risk.RefEmpirical {
		return b.ref.Mean, b.ref.SD, nil
	}
	unmatched := map[int]bool{}
	for _, u := range sr.Unmatched {
		unmatched[u.Line] = true
	}
	var hwe []risk.HWEVariant
	for _, vr := range b.score.Variants {
		if !unmatched[vr.Line] {
			hwe = append(hwe, risk.HWEVariant{Weight: vr.Weight, Freq: vr.Freq})
		}
	}
	return risk.HWEDistribution(hwe)
}

// personOf reads the declared attributes the risk model may use.
func personOf(attrs map[string]string) (risk.Person, error) {
	p := risk.Person{Sex: attrs["sex"]}
	if s, ok := attrs["age"]; ok {
		age, err := strconv.Atoi(s)
		if err != nil || age < 0 {
			return p, fmt.Errorf("prs: age attribute %q is not a whole number of years", s)
		}
		p.Age = age
	}
	return p, nil
}
