package risk

import (
	"fmt"
	"math"
	"strings"
)

// Baseline is a population's age-specific breast-cancer incidence and
// competing (other-cause) mortality, per Per person-years.
type Baseline struct {
	Population string    `json:"population"`
	Source     string    `json:"source"`
	Per        float64   `json:"per"`
	Bands      []AgeBand `json:"bands"`
}

// AgeBand is one age band; To is inclusive, and 0 on the last band means
// open-ended (e.g. 85+).
type AgeBand struct {
	From      int     `json:"from"`
	To        int     `json:"to"`
	Incidence float64 `json:"incidence"`
	// CompetingMortality is the death rate from other causes.
	CompetingMortality float64 `json:"competing_mortality"`
}

func (b *Baseline) validate() error {
	if !(b.Per > 0) || len(b.Bands) == 0 || b.Source == "" {
		return modelErr("baseline needs per > 0, a source and at least one age band")
	}
	for i, x := range b.Bands {
		last := i == len(b.Bands)-1
		switch {
		case x.From < 0 || (!last && x.To < x.From) || (last && x.To != 0 && x.To < x.From):
			return modelErr("baseline band %d: ages %d–%d", i+1, x.From, x.To)
		case i > 0 && x.From != b.Bands[i-1].To+1:
			return modelErr("baseline bands must be contiguous: band %d starts at %d after one ending at %d", i+1, x.From, b.Bands[i-1].To)
		case !(x.Incidence >= 0) || !(x.CompetingMortality >= 0) || math.IsInf(x.Incidence+x.CompetingMortality, 0):
			return modelErr("baseline band %d–%d: rates must be finite and not negative", x.From, x.To)
		}
	}
	return nil
}

// rates returns the annual incidence and competing mortality at an age.
// Ages below the first band have no recorded incidence and count as zero
// (the table must start where incidence becomes material); ages past the
// last band take the last band's rates.
func (b *Baseline) rates(age int) (inc, mort float64) {
	if age < b.Bands[0].From {
		return 0, 0
	}
	for _, x := range b.Bands {
		if x.To == 0 || age <= x.To {
			return x.Incidence / b.Per, x.CompetingMortality / b.Per
		}
	}
	x := b.Bands[len(b.Bands)-1]
	return x.Incidence / b.Per, x.CompetingMortality / b.Per
}

// Risk is the probability of a diagnosis between ages from and to
// (exclusive) for a person alive and free of the disease at from, whose
// incidence is rr × the baseline's, with other-cause death as a competing
// risk. Each year of age has constant hazards λ = rr·incidence and μ =
// mortality: the diagnosis probability in that year is
// S·λ/(λ+μ)·(1−e^−(λ+μ)), and survival S falls by e^−(λ+μ).
func (b *Baseline) Risk(rr float64, from, to int) float64 {
	s, r := 1.0, 0.0
	for a := from; a < to; a++ {
		inc, mort := b.rates(a)
		l := rr * inc
		h := l + mort
		if h == 0 {
			continue
		}
		e := math.Exp(-h)
		r += s * l / h * (1 - e)
		s *= e
	}
	return r
}

// Absolute is a person's absolute risk, in percent.
type Absolute struct {
	Age int `json:"age"`
	// RelativeRisk is the hazard ratio applied to the baseline (against
	// the population average; see Model.RelativeRiskVsPopulation).
	RelativeRisk  float64 `json:"relative_risk_vs_population"`
	HorizonYears  int     `json:"horizon_years"`
	TenYear       float64 `json:"ten_year_risk_pct"`
	LifetimeToAge int     `json:"lifetime_to_age"`
	Lifetime      float64 `json:"lifetime_risk_pct"`
	// The same risks for the average person of the same age, for
	// comparison.
	PopulationTenYear  float64 `json:"population_ten_year_risk_pct"`
	PopulationLifetime float64 `json:"population_lifetime_risk_pct"`
	Population         string  `json:"population"`
}

func (m *Model) absolute(z float64, age int) Absolute {
	rr := m.RelativeRiskVsPopulation(z)
	b := m.Baseline
	to := max(age, m.LifetimeToAge)
	return Absolute{
		Age: age, RelativeRisk: rr, HorizonYears: m.HorizonYears, LifetimeToAge: m.LifetimeToAge,
		TenYear:            100 * b.Risk(rr, age, age+m.HorizonYears),
		Lifetime:           100 * b.Risk(rr, age, to),
		PopulationTenYear:  100 * b.Risk(1, age, age+m.HorizonYears),
		PopulationLifetime: 100 * b.Risk(1, age, to),
		Population:         b.Population,
	}
}

// Programme is the national screening programme recommendations are
// relative to.
type Programme struct {
	Name          string `json:"name"`
	StartAge      int    `json:"start_age"`
	StopAge       int    `json:"stop_age"`
	IntervalYears int    `json:"interval_years"`
	// BenchmarkAge is the age whose average horizon risk a person must
	// reach for a risk-equivalent start (usually StartAge).
	BenchmarkAge int    `json:"benchmark_age"`
	Source       string `json:"source"`
}

func (p *Programme) validate() error {
	if p.Name == "" || p.Source == "" || p.StartAge <= 0 || p.StopAge < p.StartAge || p.IntervalYears <= 0 || p.BenchmarkAge <= 0 {
		return modelErr("programme needs a name, a source, start_age ≤ stop_age, interval_years and benchmark_age")
	}
	return nil
}

// CategoryScreening is one category's schedule before the programme
// takes over.
type CategoryScreening struct {
	// Start is "programme" (start with the national programme) or
	// "risk_equivalent" (start when the person's horizon risk reaches the
	// average risk at the programme's benchmark age).
	Start string `json:"start"`
	// EarliestAge bounds a risk-equivalent start from below.
	EarliestAge int `json:"earliest_age,omitempty"`
	// IntervalYears is the interval until the programme's start age.
	IntervalYears int    `json:"interval_years"`
	Source        string `json:"source,omitempty"`
}

// Start values.
const (
	StartProgramme      = "programme"
	StartRiskEquivalent = "risk_equivalent"
)

func (s *CategoryScreening) validate(cat string, p *Programme) error {
	if p == nil {
		return modelErr("category %q has a screening schedule but the model has no programme", cat)
	}
	switch {
	case s.Start != StartProgramme && s.Start != StartRiskEquivalent:
		return modelErr("category %q: screening start %q: want programme or risk_equivalent", cat, s.Start)
	case s.IntervalYears <= 0:
		return modelErr("category %q: screening needs interval_years", cat)
	case s.Start == StartRiskEquivalent && (s.EarliestAge <= 0 || s.EarliestAge > p.StartAge):
		return modelErr("category %q: a risk-equivalent start needs earliest_age between 1 and the programme start age", cat)
	}
	return nil
}

// CarrierRule is what a carrier of a listed pathogenic variant is told.
type CarrierRule struct {
	Category string `json:"category"`
	Advice   string `json:"advice"`
	Referral string `json:"referral"`
	Source   string `json:"source,omitempty"`
}

// Recommendation is a screening schedule relative to the programme.
type Recommendation struct {
	StartAge      int `json:"start_age"`
	IntervalYears int `json:"interval_years"`
	// Until the programme's start age; then the programme's schedule.
	ProgrammeStartAge      int    `json:"programme_start_age"`
	ProgrammeIntervalYears int    `json:"programme_interval_years"`
	Programme              string `json:"programme"`
	// RelativeToProgramme is "as programme", "earlier" or "earlier and more frequent".
	RelativeToProgramme string `json:"relative_to_programme"`
	// BenchmarkRisk is the average horizon risk at the benchmark age (%),
	// and RiskEquivalentAge the age at which this person reaches it
	// (0 when not before the programme's stop age).
	BenchmarkAge      int     `json:"benchmark_age"`
	BenchmarkRisk     float64 `json:"benchmark_risk_pct"`
	RiskEquivalentAge int     `json:"risk_equivalent_age,omitempty"`
	Referral          string  `json:"referral,omitempty"`
	Text              string  `json:"text"`
}

// BenchmarkRisk is the average person's horizon risk (%) at the
// programme's benchmark age.
func (m *Model) BenchmarkRisk() float64 {
	a := m.Programme.BenchmarkAge
	return 100 * m.Baseline.Risk(1, a, a+m.HorizonYears)
}

// RiskEquivalentAge is the first age from the start of the baseline to the
// programme's stop age at which the person's horizon risk reaches the
// benchmark, or 0.
func (m *Model) RiskEquivalentAge(z float64) int {
	rr := m.RelativeRiskVsPopulation(z)
	bench := m.BenchmarkRisk()
	for a := m.Baseline.Bands[0].From; a <= m.Programme.StopAge; a++ {
		// Compare at the precision results are reported in, so that the
		// average person reaches the benchmark exactly at its age.
		if round6(100*m.Baseline.Risk(rr, a, a+m.HorizonYears)) >= round6(bench) {
			return a
		}
	}
	return 0
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func (m *Model) recommend(z float64, age int, s *CategoryScreening) Recommendation {
	p := m.Programme
	r := Recommendation{
		StartAge: p.StartAge, IntervalYears: p.IntervalYears,
		ProgrammeStartAge: p.StartAge, ProgrammeIntervalYears: p.IntervalYears, Programme: p.Name,
		RelativeToProgramme: "as programme", BenchmarkAge: p.BenchmarkAge, BenchmarkRisk: m.BenchmarkRisk(),
		RiskEquivalentAge: m.RiskEquivalentAge(z),
	}
	if s != nil {
		r.IntervalYears = s.IntervalYears
		if s.Start == StartRiskEquivalent && r.RiskEquivalentAge > 0 {
			r.StartAge = min(max(r.RiskEquivalentAge, s.EarliestAge), p.StartAge)
		}
	}
	switch {
	case r.StartAge < p.StartAge && r.IntervalYears < p.IntervalYears:
		r.RelativeToProgramme = "earlier and more frequent"
	case r.StartAge < p.StartAge:
		r.RelativeToProgramme = "earlier"
	default:
		r.IntervalYears = p.IntervalYears // nothing before the programme
	}
	r.Text = r.text(age)
	return r
}

func (r *Recommendation) text(age int) string {
	var b strings.Builder
	if r.RelativeToProgramme == "as programme" {
		fmt.Fprintf(&b, "Follow the %s: mammography every %d years from age %d.", r.Programme, r.ProgrammeIntervalYears, r.ProgrammeStartAge)
		return b.String()
	}
	from := fmt.Sprintf("from age %d", r.StartAge)
	if age > r.StartAge && age < r.ProgrammeStartAge {
		from = fmt.Sprintf("from now (recommended from age %d)", r.StartAge)
	}
	fmt.Fprintf(&b, "Mammography every %s %s, then the %s (every %d years from age %d).",
		years(r.IntervalYears), from, r.Programme, r.ProgrammeIntervalYears, r.ProgrammeStartAge)
	return b.String()
}

func years(n int) string {
	if n == 1 {
		return "year"
	}
	return fmt.Sprintf("%d years", n)
}

// ApplyCarrier overrides the category and recommendation for a carrier of
// a pathogenic variant: the referral stands whatever the percentile. The
// polygenic numbers stay in the assessment, with the advice saying they do
// not account for the variant.
func (m *Model) ApplyCarrier(a *Assessment, findings []string) error {
	if m.Carrier == nil {
		return fmt.Errorf("risk: model %s has no carrier rule, but the person carries %s", m.Version, strings.Join(findings, ", "))
	}
	a.Category = m.Carrier.Category
	a.Advice = m.Carrier.Advice
	text := fmt.Sprintf("Referral to %s: carrier of %s. %s", m.Carrier.Referral, strings.Join(findings, ", "), m.Carrier.Advice)
	if a.Recommendation == nil {
		a.Recommendation = &Recommendation{}
	}
	a.Recommendation.Referral = m.Carrier.Referral
	a.Recommendation.Text = text
	return nil
}
