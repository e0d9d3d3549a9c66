package risk_test

import (
	"errors"
	"math"
	"testing"

	"github.com/geneguard/geneguard/risk"
)

// TestNonFiniteHasNoCategory: a z that overflowed (a score summed to ±Inf
// or NaN) is an error, never a category — NaN compares below no threshold
// and would otherwise land in the highest one.
func TestNonFiniteHasNoCategory(t *testing.T) {
	m := estonian(t)
	for _, z := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e6} {
		a, err := m.AssessPerson(z, risk.Person{Age: 45, Sex: "female"})
		if !errors.Is(err, risk.ErrNonFinite) {
			t.Errorf("z %v: %+v, %v; want ErrNonFinite", z, a, err)
		}
		if a.Category != "" {
			t.Errorf("z %v: category %q", z, a.Category)
		}
	}
	if _, err := m.AssessPerson(0.5, risk.Person{Age: 45, Sex: "female"}); err != nil {
		t.Errorf("finite z: %v", err)
	}
}
