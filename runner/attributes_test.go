package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/platform"
)

// TestEveryAllowedAttributeSupplied: algorithm.Attributes, the names a
// manifest may declare, are exactly those attributes() supplies, so an
// accepted manifest never declares an input the engine then silently lacks.
// Adding one to either side without the other fails here.
func TestEveryAllowedAttributeSupplied(t *testing.T) {
	p := &platform.Person{BirthDate: time.Date(1970, 6, 1, 0, 0, 0, 0, time.UTC), Sex: "female"}
	got := attributes(append(slices.Clone(algorithm.Attributes), "shoe_size"), p, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, a := range algorithm.Attributes {
		if got[a] == "" {
			t.Errorf("manifests may declare %q, but the runner supplies no value for it (got %v)", a, got)
		}
	}
	if len(got) != len(algorithm.Attributes) {
		t.Errorf("attributes() = %v; want exactly %v", got, algorithm.Attributes)
	}
}
