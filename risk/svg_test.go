package risk_test

import (
	"encoding/xml"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/risk"
)

var svgOut = flag.String("svg-out", "", "write the example plots to this folder, to look at them")

func TestDistributionSVG(t *testing.T) {
	m := estonian(t)
	for _, c := range []struct {
		name string
		z    float64
		want []string
	}{
		{"z1", 1, []string{"You: 84th percentile", "z = 1.00", "moderately increased risk", "10-year risk 1.5% (average at age 40: 1.0%)"}},
		{"z-2.5", -2.5, []string{"You: 0.6th percentile", "near population risk"}},
		{"z3.2", 3.2, []string{"You: 99.9th percentile", `text-anchor="end"`}},
		{"z0", 0.02, []string{"You: 51st percentile"}},
	} {
		a, err := m.AssessPerson(c.z, risk.Person{Age: 40, Sex: "female"})
		if err != nil {
			t.Fatal(err)
		}
		svg := risk.DistributionSVG(a)
		if err := xml.Unmarshal(svg, new(struct{})); err != nil {
			t.Errorf("%s: not well-formed XML: %v", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(svg), w) {
				t.Errorf("%s: SVG lacks %q", c.name, w)
			}
		}
		if strings.Contains(string(svg), "<script") || strings.Contains(string(svg), "href") {
			t.Errorf("%s: SVG refers outside itself", c.name)
		}
		if *svgOut != "" {
			os.WriteFile(*svgOut+"/"+c.name+".svg", svg, 0o644)
		}
	}
}
