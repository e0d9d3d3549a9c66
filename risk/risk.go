// Package risk turns a standardised polygenic score into what a person and
// a physician act on: a percentile, a relative risk, absolute 10-year and
// lifetime risks, a category and a screening recommendation. Every number is
// a parameter of the model, which is versioned data in the algorithm
// bundle (model.json), never a constant in code.
//
// A model has up to three layers, each optional beyond the first:
//
//   - odds ratio per SD and categories (the minimal model): z → percentile,
//     relative risk, category;
//   - a baseline: age-specific incidence and competing mortality of the
//     population the reference distribution describes, giving 10-year and
//     lifetime absolute risks for a person of known age;
//   - a screening programme: its start age and interval, and per category
//     whether screening starts with the programme or at the age when the
//     person's 10-year risk reaches the average risk at the programme's
//     benchmark age.
package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Model is the bundle's model.json.
type Model struct {
	// Version labels the parameter set; it is shown with every result.
	Version string `json:"version,omitempty"`
	// ORPerSD is the odds ratio per standard deviation of the score
	// (e.g. 1.61 for PRS313 in Mavaddat et al. 2019).
	ORPerSD  float64 `json:"odds_ratio_per_sd"`
	ORSource string  `json:"odds_ratio_source,omitempty"`
	// Sex is the sex the model applies to ("female"); empty for any.
	Sex string `json:"sex,omitempty"`
	// CategoryBasis is what category thresholds are compared with:
	// "percentile" (the default), "relative_risk" (×, against the
	// population average), "ten_year_risk" or "lifetime_risk" (percent;
	// these need a baseline and the person's age).
	CategoryBasis string `json:"category_basis,omitempty"`
	// Categories are ordered by threshold; a value below a category's
	// threshold falls in it, and the last category takes the rest.
	Categories []Category `json:"categories"`
	// Baseline, when set, gives absolute risks.
	Baseline *Baseline `json:"baseline,omitempty"`
	// HorizonYears is the short-term horizon (10 for "10-year risk").
	HorizonYears int `json:"horizon_years,omitempty"`
	// LifetimeToAge ends the "lifetime" (remaining) risk: from the
	// person's age up to, not including, this age.
	LifetimeToAge int `json:"lifetime_to_age,omitempty"`
	// Programme, when set, anchors screening recommendations.
	Programme *Programme `json:"programme,omitempty"`
	// Carrier says what a carrier of a listed pathogenic variant is told,
	// whatever the polygenic score.
	Carrier *CarrierRule `json:"carrier,omitempty"`
	Source  string       `json:"source"`
}

// Category is one risk band and what it means.
type Category struct {
	Name string `json:"name"`
	// UpTo is the exclusive upper threshold on the model's basis.
	UpTo float64 `json:"up_to,omitempty"`
	// UpToPercentile is the older spelling of UpTo for percentile models.
	UpToPercentile float64 `json:"up_to_percentile,omitempty"`
	Advice         string  `json:"advice"`
	// Screening is the category's schedule; nil follows the programme.
	Screening *CategoryScreening `json:"screening,omitempty"`
}

func (c Category) threshold() float64 {
	if c.UpTo != 0 {
		return c.UpTo
	}
	return c.UpToPercentile
}

// Category bases.
const (
	BasisPercentile   = "percentile"
	BasisRelativeRisk = "relative_risk"
	BasisTenYear      = "ten_year_risk"
	BasisLifetime     = "lifetime_risk"
)

// Assessment is the outcome for one person.
type Assessment struct {
	Z          float64 `json:"z"`
	Percentile float64 `json:"percentile"`
	// RelativeRisk is OR^z: against a person at the mean score (z = 0).
	RelativeRisk float64 `json:"relative_risk"`
	Category     string  `json:"category"`
	Advice       string  `json:"advice"`
	ModelVersion string  `json:"model_version,omitempty"`
	// Absolute is set when the model has a baseline and the age is known.
	Absolute *Absolute `json:"absolute,omitempty"`
	// Recommendation is set when the model has a programme.
	Recommendation *Recommendation `json:"recommendation,omitempty"`
}

// ErrModel is wrapped by model validation failures.
var ErrModel = errors.New("invalid risk model")

func modelErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrModel}, a...)...)
}

// ParseModel reads and validates model.json.
func ParseModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Model) validate() error {
	if !(m.ORPerSD > 0) || math.IsInf(m.ORPerSD, 0) {
		return modelErr("odds_ratio_per_sd must be positive")
	}
	if m.CategoryBasis == "" {
		m.CategoryBasis = BasisPercentile
	}
	switch m.CategoryBasis {
	case BasisPercentile, BasisRelativeRisk:
	case BasisTenYear, BasisLifetime:
		if m.Baseline == nil {
			return modelErr("category_basis %q needs a baseline", m.CategoryBasis)
		}
	default:
		return modelErr("category_basis %q: want percentile, relative_risk, ten_year_risk or lifetime_risk", m.CategoryBasis)
	}
	if len(m.Categories) == 0 {
		return modelErr("no categories")
	}
	prev := math.Inf(-1)
	for i, c := range m.Categories {
		t := c.threshold()
		last := i == len(m.Categories)-1
		if c.Name == "" || (!last && !(t > prev)) || (last && t != 0 && !(t > prev)) {
			return modelErr("categories must be named and ordered by increasing threshold")
		}
		prev = t
		if c.Screening != nil {
			if err := c.Screening.validate(c.Name, m.Programme); err != nil {
				return err
			}
		}
	}
	if m.CategoryBasis == BasisPercentile && prev < 100 {
		return modelErr("the last category must reach percentile 100")
	}
	if m.Baseline != nil {
		if err := m.Baseline.validate(); err != nil {
			return err
		}
		if m.HorizonYears <= 0 || m.LifetimeToAge <= 0 {
			return modelErr("a model with a baseline needs horizon_years and lifetime_to_age")
		}
	}
	if m.Programme != nil {
		if m.Baseline == nil {
			return modelErr("a programme needs a baseline: recommendations compare absolute risks")
		}
		if err := m.Programme.validate(); err != nil {
			return err
		}
	}
	if m.Carrier != nil && (m.Carrier.Category == "" || m.Carrier.Advice == "" || m.Carrier.Referral == "") {
		return modelErr("carrier needs category, advice and referral")
	}
	return nil
}

// Person is what the model may know about the person besides the score.
type Person struct {
	Age int    // whole years; 0 when not known
	Sex string // "female", "male" or "" when not known
}

// Percentile is Φ(z) in percent: the share of the reference distribution
// below z, assuming it is normal.
func Percentile(z float64) float64 { return 100 * 0.5 * math.Erfc(-z/math.Sqrt2) }

// ErrNonFinite is wrapped by the error AssessPerson returns when z, the
// percentile, a relative risk or an absolute risk is ±Inf or NaN (a score
// or reference distribution that overflowed). Such a number has no
// category: NaN compares below no threshold and would otherwise fall in
// the last (highest) category. It is an engine failure, never a result.
var ErrNonFinite = errors.New("not a finite number")

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Assess places z (the score standardised against the reference
// distribution) on the model, without absolute risks. A non-finite z (or
// one whose relative risk overflows) gives the zero Assessment, with no
// category; AssessPerson says why.
func (m *Model) Assess(z float64) Assessment {
	a, _ := m.assess(z, Person{}, false)
	return a
}

// AssessPerson is Assess with absolute risks and a recommendation for a
// person of known age. It fails when the model needs the age (it has a
// baseline) and the age is unknown, or applies to another sex.
func (m *Model) AssessPerson(z float64, p Person) (Assessment, error) {
	if m.Sex != "" && p.Sex != m.Sex {
		if p.Sex == "" {
			return Assessment{}, fmt.Errorf("risk: model %s applies to sex %q and the person's sex is not known", m.Version, m.Sex)
		}
		return Assessment{}, &NotApplicableError{Model: m.Version, Want: m.Sex, Got: p.Sex}
	}
	if m.Baseline != nil && p.Age <= 0 {
		return Assessment{}, fmt.Errorf("risk: model %s gives absolute risks and needs the person's age", m.Version)
	}
	return m.assess(z, p, m.Baseline != nil)
}

// NotApplicableError says the model is not for this person.
type NotApplicableError struct{ Model, Want, Got string }

func (e *NotApplicableError) Error() string {
	return fmt.Sprintf("risk model %s applies to sex %q, not %q", e.Model, e.Want, e.Got)
}

func (m *Model) assess(z float64, p Person, absolute bool) (Assessment, error) {
	a := Assessment{Z: z, Percentile: Percentile(z), RelativeRisk: math.Pow(m.ORPerSD, z), ModelVersion: m.Version}
	if !finite(a.Z) || !finite(a.Percentile) || !finite(a.RelativeRisk) {
		return Assessment{}, fmt.Errorf("risk: model %s: z %v, percentile %v, relative risk %v: %w", m.Version, a.Z, a.Percentile, a.RelativeRisk, ErrNonFinite)
	}
	value := a.Percentile
	if absolute {
		abs := m.absolute(z, p.Age)
		for _, x := range []float64{abs.RelativeRisk, abs.TenYear, abs.Lifetime, abs.PopulationTenYear, abs.PopulationLifetime} {
			if !finite(x) {
				return Assessment{}, fmt.Errorf("risk: model %s: z %v: relative risk against the population %v, 10-year risk %v%%, lifetime risk %v%%: %w", m.Version, z, abs.RelativeRisk, abs.TenYear, abs.Lifetime, ErrNonFinite)
			}
		}
		a.Absolute = &abs
		switch m.CategoryBasis {
		case BasisTenYear:
			value = abs.TenYear
		case BasisLifetime:
			value = abs.Lifetime
		}
	}
	if m.CategoryBasis == BasisRelativeRisk {
		value = m.RelativeRiskVsPopulation(z)
	}
	if !finite(value) {
		return Assessment{}, fmt.Errorf("risk: model %s: z %v: the value categories are compared with (%s) is %v: %w", m.Version, z, m.CategoryBasis, value, ErrNonFinite)
	}
	if !absolute && (m.CategoryBasis == BasisTenYear || m.CategoryBasis == BasisLifetime) {
		return a, nil // no category without an age
	}
	c := m.category(value)
	a.Category, a.Advice = c.Name, c.Advice
	if absolute && m.Programme != nil {
		rec := m.recommend(z, p.Age, c.Screening)
		a.Recommendation = &rec
	}
	return a, nil
}

func (m *Model) category(v float64) Category {
	for _, c := range m.Categories[:len(m.Categories)-1] {
		if v < c.threshold() {
			return c
		}
	}
	return m.Categories[len(m.Categories)-1]
}

// RelativeRiskVsPopulation is the hazard ratio against the population
// average, exp(βz − β²/2) with β = ln OR: under a standard normal z its
// mean is 1, so applying it to population incidence keeps the population's
// average risk equal to the registry's.
func (m *Model) RelativeRiskVsPopulation(z float64) float64 {
	b := math.Log(m.ORPerSD)
	return math.Exp(b*z - b*b/2)
}
