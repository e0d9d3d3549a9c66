package runner

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/risk"
	"github.com/geneguard/geneguard/vcf"
)

// PRS bundle file names.
const (
	PRSScoreFile = "score.txt"  // PGS Catalog scoring file
	PRSModelFile = "model.json" // risk.Model
)

// PRSEngine runs prs bundles: a PGS Catalog scoring file scored with no
// imputation, standardised against the HWE distribution of the variants
// actually scored, and placed on the bundle's risk model.
type PRSEngine struct {
	mu    sync.Mutex
	cache map[string]*prsBundle
}

type prsBundle struct {
	score *prs.Score
	model *risk.Model
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
	b := &prsBundle{score: s, model: m}
	e.cache[v.Hash] = b
	return b, nil
}

// Loci implements Engine: every scoring-file position.
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
	return out, nil
}

// PRSOutput is the stored output of a prs run.
type PRSOutput struct {
	PGSID      string          `json:"pgs_id"`
	Sum        float64         `json:"sum"`
	Matched    int             `json:"variants_matched"`
	Total      int             `json:"variants_total"`
	Missing    int             `json:"genotypes_missing"`
	Policy     prs.Policy      `json:"policy"`
	RefMean    float64         `json:"reference_mean"`
	RefSD      float64         `json:"reference_sd"`
	Assessment risk.Assessment `json:"assessment"`
	Unmatched  []prs.Unmatched `json:"unmatched,omitempty"`
	Model      string          `json:"model_source"`
}

// Run implements Engine.
func (e *PRSEngine) Run(ctx context.Context, v *algorithm.Version, in Input) (Output, error) {
	b, err := e.bundle(v)
	if err != nil {
		return Output{}, err
	}
	r, err := vcf.NewReader(bytes.NewReader(in.VCF))
	if err != nil {
		return Output{}, err
	}
	res, err := prs.ScoreVCF(ctx, r, []*prs.Score{b.score}, prs.Options{})
	if err != nil {
		return Output{}, err
	}
	sr := res.Scores[0]
	if len(sr.Samples) != 1 {
		return Output{}, fmt.Errorf("prs: want one sample, got %d", len(sr.Samples))
	}
	ss := sr.Samples[0]
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
	mean, sd, err := risk.HWEDistribution(hwe)
	if err != nil {
		return Output{}, fmt.Errorf("prs: reference distribution for %s: %w", sr.ID, err)
	}
	out := PRSOutput{PGSID: sr.ID, Sum: ss.Sum, Matched: sr.Matched, Total: sr.Total, Missing: ss.Missing, Policy: sr.Policy,
		RefMean: mean, RefSD: sd, Unmatched: sr.Unmatched, Model: b.model.Source}
	if ss.Missing > 0 {
		// Under no imputation a missing genotype contributes nothing, so
		// the sum is not comparable with the reference: say so rather
		// than place the person on the distribution.
		return Output{
			Summary:  fmt.Sprintf("%s: not interpretable — %d of %d scored genotypes are missing", sr.ID, ss.Missing, sr.Matched),
			Category: "Indeterminate", Data: out,
		}, nil
	}
	a := b.model.Assess((ss.Sum - mean) / sd)
	out.Assessment = a
	summary := fmt.Sprintf("%s: %s (percentile %.0f, relative risk %.2f×)", sr.ID, a.Category, math.Round(a.Percentile), a.RelativeRisk)
	return Output{Summary: summary, Category: a.Category, Data: out}, nil
}
