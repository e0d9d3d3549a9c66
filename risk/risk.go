// Package risk turns a standardised polygenic score into what a person and
// a physician act on: a percentile, a relative risk, a category and a
// screening recommendation. Every number is a parameter of the model, which
// is versioned data in the algorithm bundle, never a constant in code.
package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Model is the bundle's model.json.
type Model struct {
	// ORPerSD is the odds ratio per standard deviation of the score
	// (e.g. 1.61 for PRS313 in Mavaddat et al. 2019).
	ORPerSD float64 `json:"odds_ratio_per_sd"`
	// Categories are ordered by UpToPercentile; the last must reach 100.
	Categories []Category `json:"categories"`
	Source     string     `json:"source"`
}

// Category is one risk band and what it means for screening.
type Category struct {
	Name           string  `json:"name"`
	UpToPercentile float64 `json:"up_to_percentile"`
	Advice         string  `json:"advice"`
}

// Assessment is the outcome for one person.
type Assessment struct {
	Z            float64 `json:"z"`
	Percentile   float64 `json:"percentile"`
	RelativeRisk float64 `json:"relative_risk"` // vs the population average (z = 0)
	Category     string  `json:"category"`
	Advice       string  `json:"advice"`
}

// ErrModel is wrapped by model validation failures.
var ErrModel = errors.New("invalid risk model")

// ParseModel reads and validates model.json.
func ParseModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	if m.ORPerSD <= 0 {
		return nil, fmt.Errorf("%w: odds_ratio_per_sd must be positive", ErrModel)
	}
	if len(m.Categories) == 0 {
		return nil, fmt.Errorf("%w: no categories", ErrModel)
	}
	prev := 0.0
	for _, c := range m.Categories {
		if c.UpToPercentile <= prev || c.Name == "" {
			return nil, fmt.Errorf("%w: categories must be named and ordered by increasing up_to_percentile", ErrModel)
		}
		prev = c.UpToPercentile
	}
	if prev < 100 {
		return nil, fmt.Errorf("%w: the last category must reach percentile 100", ErrModel)
	}
	return &m, nil
}

// Assess places z (the score standardised against the reference
// distribution) on the model.
func (m *Model) Assess(z float64) Assessment {
	p := 100 * 0.5 * math.Erfc(-z/math.Sqrt2)
	a := Assessment{Z: z, Percentile: p, RelativeRisk: math.Pow(m.ORPerSD, z)}
	for _, c := range m.Categories {
		if p <= c.UpToPercentile {
			a.Category, a.Advice = c.Name, c.Advice
			break
		}
	}
	return a
}

// HWEVariant is one scored variant's contribution to the reference
// distribution.
type HWEVariant struct {
	Weight float64
	Freq   float64 // effect-allele frequency
}

// HWEDistribution returns the mean and SD of an additive score over
// unlinked variants under Hardy–Weinberg equilibrium: mean Σ2pw, variance
// Σ2p(1−p)w². Computed over the variants actually scored, because leaving
// variants out shifts the mean.
func HWEDistribution(vs []HWEVariant) (mean, sd float64, err error) {
	var v float64
	for _, x := range vs {
		if math.IsNaN(x.Freq) || x.Freq < 0 || x.Freq > 1 {
			return 0, 0, fmt.Errorf("risk: effect-allele frequency %v is missing or outside [0,1]", x.Freq)
		}
		mean += 2 * x.Freq * x.Weight
		v += 2 * x.Freq * (1 - x.Freq) * x.Weight * x.Weight
	}
	if v <= 0 {
		return 0, 0, errors.New("risk: reference distribution has zero variance")
	}
	return mean, math.Sqrt(v), nil
}
