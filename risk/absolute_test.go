package risk_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/risk"
)

func estonian(t *testing.T) *risk.Model {
	t.Helper()
	b, err := risk.DataFile(risk.EstonianBreastModel)
	if err != nil {
		t.Fatal(err)
	}
	m, err := risk.ParseModel(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// The average Estonian woman's risks, against the life-table figures in
// facts-risk-parameters.md §3 (computed there independently): 10-year risk
// 1.02% at 40, 1.53% at 47, 1.70% at 50; lifetime 20–80 about 6.5%.
func TestBaselineAverageWoman(t *testing.T) {
	b := estonian(t).Baseline
	for _, c := range []struct {
		from, to int
		want     float64 // percent
		tol      float64
	}{
		{40, 50, 1.02, 0.01},
		{47, 57, 1.53, 0.01},
		{50, 60, 1.70, 0.01},
		{20, 80, 6.5, 0.06},
		{20, 30, 0, 0}, // no incidence recorded below 30
	} {
		if got := 100 * b.Risk(1, c.from, c.to); !near(got, c.want, c.tol) {
			t.Errorf("risk %d–%d = %.4f%%, want %.2f%%", c.from, c.to, got, c.want)
		}
	}
}

// One year by hand: incidence λ, mortality μ; risk = λ/(λ+μ)(1−e^−(λ+μ)).
func TestBaselineOneYear(t *testing.T) {
	b := &risk.Baseline{Per: 1000, Source: "x", Bands: []risk.AgeBand{{From: 0, To: 0, Incidence: 10, CompetingMortality: 30}}}
	l, m := 0.02, 0.03 // rr = 2
	want := l / (l + m) * (1 - math.Exp(-(l + m)))
	if got := b.Risk(2, 40, 41); !near(got, want, 1e-15) {
		t.Errorf("one year: %v, want %v", got, want)
	}
	// Two years: the second year is reached with survival e^−(λ+μ).
	want2 := want + math.Exp(-(l+m))*want
	if got := b.Risk(2, 40, 42); !near(got, want2, 1e-15) {
		t.Errorf("two years: %v, want %v", got, want2)
	}
}

// Hand-checked assessments on the Estonian model. RR vs population =
// exp(βz − β²/2), β = ln 1.61: 0.8928 at z=0, 1.4374 at z=1, 2.3142 at z=2
// (facts §1: 0.89 for the 40–60 band, 3.21 above the 99th). Ages are the
// first at which the 10-year risk reaches 1.70% (the average at 50).
func TestAssessPersonEstonian(t *testing.T) {
	m := estonian(t)
	cases := []struct {
		name       string
		z          float64
		age        int
		pct        float64
		rrPop      float64
		tenYear    float64 // %
		lifetime   float64 // % from age to 80
		category   string
		eqAge      int
		start      int
		interval   int
		relative   string
		textSubstr string
	}{
		{"average, 40", 0, 40, 50, 0.8928, 0.918, 5.529, "near population risk", 60, 50, 2, "as programme",
			"Follow the Estonian breast cancer screening programme: mammography every 2 years from age 50."},
		{"z=1, 40", 1, 40, 84.13, 1.4374, 1.474, 8.744, "moderately increased risk", 43, 43, 1, "earlier and more frequent",
			"Mammography every year from age 43, then the Estonian breast cancer screening programme (every 2 years from age 50)."},
		{"90th percentile, 40", 1.2816, 40, 90.00, 1.6437, 1.684, 9.931, "moderately increased risk", 41, 41, 1, "earlier and more frequent", "from age 41"},
		{"z=2, 40: start bounded at 40", 2, 40, 97.72, 2.3142, 2.362, 13.678, "moderately increased risk", 37, 40, 1, "earlier and more frequent", "from age 40"},
		{"z=2.1, 40: high", 2.1, 40, 98.21, 0, 0, 0, "high risk", 0, 40, 1, "earlier and more frequent", "every year"},
		{"z=1, 45: already past the start", 1, 45, 84.13, 1.4374, 0, 0, "moderately increased risk", 43, 43, 1, "earlier and more frequent", "from now (recommended from age 43)"},
		{"low, 40: never before 50", -1, 40, 15.87, 0.5545, 0.571, 3.473, "near population risk", 0, 50, 2, "as programme", "every 2 years from age 50"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := m.AssessPerson(c.z, risk.Person{Age: c.age, Sex: "female"})
			if err != nil {
				t.Fatal(err)
			}
			if !near(a.Percentile, c.pct, 0.01) {
				t.Errorf("percentile %.3f, want %.2f", a.Percentile, c.pct)
			}
			abs, rec := a.Absolute, a.Recommendation
			if abs == nil || rec == nil {
				t.Fatalf("no absolute risk or recommendation: %+v", a)
			}
			if c.rrPop != 0 && !near(abs.RelativeRisk, c.rrPop, 1e-4) {
				t.Errorf("RR vs population %.5f, want %.4f", abs.RelativeRisk, c.rrPop)
			}
			if c.tenYear != 0 && (!near(abs.TenYear, c.tenYear, 1e-3) || !near(abs.Lifetime, c.lifetime, 1e-3)) {
				t.Errorf("10-year %.4f%% lifetime %.4f%%, want %.3f%% %.3f%%", abs.TenYear, abs.Lifetime, c.tenYear, c.lifetime)
			}
			if a.Category != c.category || a.ModelVersion != "ee-breast-2026.1" {
				t.Errorf("category %q (model %q), want %q", a.Category, a.ModelVersion, c.category)
			}
			if (c.eqAge != 0 || c.rrPop != 0) && rec.RiskEquivalentAge != c.eqAge {
				t.Errorf("risk-equivalent age %d, want %d", rec.RiskEquivalentAge, c.eqAge)
			}
			if rec.StartAge != c.start || rec.IntervalYears != c.interval || rec.RelativeToProgramme != c.relative {
				t.Errorf("start %d every %d (%s), want %d every %d (%s)", rec.StartAge, rec.IntervalYears, rec.RelativeToProgramme, c.start, c.interval, c.relative)
			}
			if !near(rec.BenchmarkRisk, 1.7019, 1e-4) {
				t.Errorf("benchmark %.5f%%, want 1.7019%%", rec.BenchmarkRisk)
			}
			if !strings.Contains(rec.Text, c.textSubstr) {
				t.Errorf("text %q lacks %q", rec.Text, c.textSubstr)
			}
		})
	}
}

func TestAssessPersonNeedsAgeAndSex(t *testing.T) {
	m := estonian(t)
	if _, err := m.AssessPerson(0, risk.Person{Sex: "female"}); err == nil || !strings.Contains(err.Error(), "needs the person's age") {
		t.Errorf("no age: %v", err)
	}
	if _, err := m.AssessPerson(0, risk.Person{Age: 45}); err == nil || !strings.Contains(err.Error(), "sex is not known") {
		t.Errorf("no sex: %v", err)
	}
	var na *risk.NotApplicableError
	if _, err := m.AssessPerson(0, risk.Person{Age: 45, Sex: "male"}); !errors.As(err, &na) {
		t.Errorf("male: %v, want NotApplicableError", err)
	}
}

func TestApplyCarrier(t *testing.T) {
	m := estonian(t)
	a, err := m.AssessPerson(-2, risk.Person{Age: 40, Sex: "female"}) // 2nd percentile
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyCarrier(&a, []string{"BRCA1 c.5291T>C"}); err != nil {
		t.Fatal(err)
	}
	if a.Category != "carrier of a pathogenic variant" || a.Recommendation.Referral != "clinical genetics" ||
		!strings.HasPrefix(a.Recommendation.Text, "Referral to clinical genetics: carrier of BRCA1 c.5291T>C.") {
		t.Errorf("carrier at the 2nd percentile: %q, %+v", a.Category, a.Recommendation)
	}
	if a.Absolute == nil || a.Percentile > 3 {
		t.Errorf("the polygenic numbers are kept: %+v", a)
	}
}

// Categories on absolute risk (NICE CG164: lifetime <17%, 17–<30%, ≥30%),
// with the threshold itself in the higher band.
func TestLifetimeBasis(t *testing.T) {
	m, err := risk.ParseModel([]byte(`{"odds_ratio_per_sd":1.61,"category_basis":"lifetime_risk","horizon_years":10,"lifetime_to_age":80,
		"baseline":{"per":100,"source":"flat test table","bands":[{"from":20,"to":0,"incidence":0.5,"competing_mortality":0}]},
		"categories":[{"name":"near","up_to":17},{"name":"moderate","up_to":30},{"name":"high"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Flat hazard h = rr·0.005 for 60 years (20→80): lifetime = 1−e^{−60h}.
	// Solve for the z giving exactly 17%: rr = −ln(0.83)/0.3.
	b := math.Log(1.61)
	for _, c := range []struct {
		target float64
		want   string
	}{{0.10, "near"}, {0.17, "moderate"}, {0.25, "moderate"}, {0.30, "high"}, {0.5, "high"}} {
		rr := -math.Log(1-c.target) / 0.3
		z := (math.Log(rr) + b*b/2) / b
		a, err := m.AssessPerson(z+1e-9, risk.Person{Age: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !near(a.Absolute.Lifetime, 100*c.target, 1e-6) || a.Category != c.want {
			t.Errorf("lifetime %.6f%%: category %q, want %.0f%% %q", a.Absolute.Lifetime, a.Category, 100*c.target, c.want)
		}
	}
}

func TestParseModelRejectsLayers(t *testing.T) {
	base := `"baseline":{"per":100000,"source":"s","bands":[{"from":30,"to":39,"incidence":1,"competing_mortality":1},{"from":40,"to":0,"incidence":1,"competing_mortality":1}]}`
	for name, in := range map[string]string{
		"basis without baseline":     `{"odds_ratio_per_sd":1.6,"category_basis":"ten_year_risk","categories":[{"name":"a"}]}`,
		"unknown basis":              `{"odds_ratio_per_sd":1.6,"category_basis":"vibes","categories":[{"name":"a","up_to":100}]}`,
		"baseline without horizon":   `{"odds_ratio_per_sd":1.6,` + base + `,"categories":[{"name":"a","up_to":100}]}`,
		"gap in bands":               `{"odds_ratio_per_sd":1.6,"horizon_years":10,"lifetime_to_age":80,"baseline":{"per":1,"source":"s","bands":[{"from":30,"to":34,"incidence":1,"competing_mortality":1},{"from":36,"to":0,"incidence":1,"competing_mortality":1}]},"categories":[{"name":"a","up_to":100}]}`,
		"negative rate":              `{"odds_ratio_per_sd":1.6,"horizon_years":10,"lifetime_to_age":80,"baseline":{"per":1,"source":"s","bands":[{"from":30,"to":0,"incidence":-1,"competing_mortality":1}]},"categories":[{"name":"a","up_to":100}]}`,
		"programme without baseline": `{"odds_ratio_per_sd":1.6,"programme":{"name":"p","source":"s","start_age":50,"stop_age":69,"interval_years":2,"benchmark_age":50},"categories":[{"name":"a","up_to":100}]}`,
		"schedule without programme": `{"odds_ratio_per_sd":1.6,"categories":[{"name":"a","up_to":100,"screening":{"start":"programme","interval_years":2}}]}`,
		"carrier without referral":   `{"odds_ratio_per_sd":1.6,"carrier":{"category":"c","advice":"a"},"categories":[{"name":"a","up_to":100}]}`,
	} {
		if _, err := risk.ParseModel([]byte(in)); err == nil || !errors.Is(err, risk.ErrModel) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func TestEmpiricalReference(t *testing.T) {
	r, err := risk.Empirical([]float64{1, 2, 3, 4}, 307, "test cohort", "none", "unit test")
	if err != nil {
		t.Fatal(err)
	}
	// mean 2.5, sample SD sqrt(5/3)
	if !near(r.Mean, 2.5, 1e-15) || !near(r.SD, math.Sqrt(5.0/3), 1e-15) || r.N != 4 {
		t.Errorf("got %+v", r)
	}
	for _, in := range []string{`{"method":"empirical","mean":0,"sd":0,"n":10,"variants_scored":3,"cohort":"c"}`, `{"method":"x"}`, `{"method":"empirical","mean":1,"sd":1}`} {
		if _, err := risk.ParseReference([]byte(in)); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
	if _, err := risk.ParseReference([]byte(`{"method":"hwe"}`)); err != nil {
		t.Error(err)
	}
}
