package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Reference is the distribution a score is standardised against: stored
// with the algorithm version (reference.json), so a z-score can be
// recomputed years later from the version alone.
type Reference struct {
	// Method is "hwe" (mean and SD computed from the scoring file's
	// effect-allele frequencies over the variants actually scored) or
	// "empirical" (the mean and SD of a reference cohort scored with the
	// same file, options and variant set).
	Method string  `json:"method"`
	Mean   float64 `json:"mean,omitempty"`
	SD     float64 `json:"sd,omitempty"`
	// N is the cohort size; Cohort names it (e.g. "Estonian Biobank,
	// women 40–70, GSA v3, 2026-01").
	N      int    `json:"n,omitempty"`
	Cohort string `json:"cohort,omitempty"`
	// VariantsScored is the number of score variants the cohort was
	// scored on. A person scored on a different set is not comparable.
	VariantsScored int `json:"variants_scored,omitempty"`
	// Policy is the missing-genotype policy the cohort was scored under.
	Policy string `json:"missing_policy,omitempty"`
	Source string `json:"source,omitempty"`
}

// Reference methods.
const (
	RefHWE       = "hwe"
	RefEmpirical = "empirical"
)

// ErrReference is wrapped by reference validation failures.
var ErrReference = errors.New("invalid reference distribution")

// ParseReference reads and validates reference.json.
func ParseReference(b []byte) (*Reference, error) {
	var r Reference
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReference, err)
	}
	switch r.Method {
	case RefHWE:
	case RefEmpirical:
		switch {
		case math.IsNaN(r.Mean) || math.IsInf(r.Mean, 0) || !(r.SD > 0) || math.IsInf(r.SD, 0):
			return nil, fmt.Errorf("%w: an empirical reference needs a finite mean and a positive sd", ErrReference)
		case r.N < 2 || r.VariantsScored <= 0 || r.Cohort == "":
			return nil, fmt.Errorf("%w: an empirical reference needs n ≥ 2, variants_scored and the cohort's name", ErrReference)
		}
	default:
		return nil, fmt.Errorf("%w: method %q: want hwe or empirical", ErrReference, r.Method)
	}
	return &r, nil
}

// Empirical builds a reference from a cohort's sums (people with a missing
// scored genotype left out by the caller).
func Empirical(sums []float64, variantsScored int, cohort, policy, source string) (*Reference, error) {
	if len(sums) < 2 {
		return nil, fmt.Errorf("%w: %d complete scores; need at least 2", ErrReference, len(sums))
	}
	var mean float64
	for _, s := range sums {
		mean += s
	}
	mean /= float64(len(sums))
	var ss float64
	for _, s := range sums {
		ss += (s - mean) * (s - mean)
	}
	sd := math.Sqrt(ss / float64(len(sums)-1))
	if !finite(mean) || !finite(sd) {
		return nil, fmt.Errorf("%w: the cohort's mean %v and sd %v are not finite: %w", ErrReference, mean, sd, ErrNonFinite)
	}
	if !(sd > 0) {
		return nil, fmt.Errorf("%w: the cohort's scores do not vary", ErrReference)
	}
	return &Reference{Method: RefEmpirical, Mean: mean, SD: sd, N: len(sums), Cohort: cohort, VariantsScored: variantsScored, Policy: policy, Source: source}, nil
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
	if sd := math.Sqrt(v); !finite(mean) || !finite(sd) {
		// Weights so large that 2p(1−p)w² overflows: an infinite SD
		// would put every sum at z = 0, "average", without a sign.
		return 0, 0, fmt.Errorf("risk: reference distribution mean %v, sd %v: the weights overflow double precision: %w", mean, sd, ErrNonFinite)
	}
	return mean, math.Sqrt(v), nil
}
