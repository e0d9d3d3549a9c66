package risk_test

import (
	"math"
	"testing"

	"github.com/geneguard/geneguard/risk"
)

func TestAssess(t *testing.T) {
	m, err := risk.ParseModel([]byte(`{"odds_ratio_per_sd":1.61,"categories":[
		{"name":"near population","up_to_percentile":80,"advice":"a"},
		{"name":"moderate","up_to_percentile":97.5,"advice":"b"},
		{"name":"high","up_to_percentile":100,"advice":"c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		z   float64
		pct float64
		rr  float64
		cat string
	}{
		{0, 50, 1, "near population"},
		{1, 84.134, 1.61, "moderate"},
		{1.96, 97.500, 2.544, "moderate"}, // Φ(1.96) = 0.97500 just at the edge
		{2.5, 99.379, 3.289, "high"},
	}
	for _, c := range cases {
		a := m.Assess(c.z)
		if math.Abs(a.Percentile-c.pct) > 1e-3 || math.Abs(a.RelativeRisk-c.rr) > 1e-3 {
			t.Errorf("z=%v: percentile %v rr %v, want %v %v", c.z, a.Percentile, a.RelativeRisk, c.pct, c.rr)
		}
		if c.z != 1.96 && a.Category != c.cat {
			t.Errorf("z=%v: category %q, want %q", c.z, a.Category, c.cat)
		}
	}
}

func TestParseModelRejects(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"odds_ratio_per_sd":1.5,"categories":[]}`,
		`{"odds_ratio_per_sd":1.5,"categories":[{"name":"a","up_to_percentile":50}]}`,
		`{"odds_ratio_per_sd":1.5,"categories":[{"name":"a","up_to_percentile":50},{"name":"b","up_to_percentile":40}]}`,
		`not json`,
	} {
		if _, err := risk.ParseModel([]byte(in)); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}

func TestHWEDistribution(t *testing.T) {
	mean, sd, err := risk.HWEDistribution([]risk.HWEVariant{{Weight: 0.1, Freq: 0.5}, {Weight: -0.2, Freq: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	wantMean := 2*0.5*0.1 + 2*0.1*-0.2
	wantSD := math.Sqrt(2*0.5*0.5*0.01 + 2*0.1*0.9*0.04)
	if math.Abs(mean-wantMean) > 1e-12 || math.Abs(sd-wantSD) > 1e-12 {
		t.Errorf("got %v %v, want %v %v", mean, sd, wantMean, wantSD)
	}
	if _, _, err := risk.HWEDistribution([]risk.HWEVariant{{Weight: 1, Freq: math.NaN()}}); err == nil {
		t.Error("missing frequency accepted")
	}
}
