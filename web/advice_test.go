package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAdviceFrom(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []adviceItem
	}{
		{"pgx", `{"recommendations":[{"drug":"citalopram","text":"Initiate therapy with recommended starting dose.","strength":"Strong"},{"drug":"sertraline","text":""}]}`,
			[]adviceItem{{Label: "Citalopram", Strength: "Strong", Text: "Initiate therapy with recommended starting dose."}}},
		{"pgx ambiguous", `{"recommendations":[{"drug":"sertraline","text":"x","ambiguous":true,"phenotype":"Poor Metabolizer"}]}`,
			[]adviceItem{{Label: "Sertraline if Poor Metabolizer", Text: "x"}}},
		{"prs", `{"assessment":{"advice":"Mammography every 2 years from 50."}}`,
			[]adviceItem{{Label: "Screening", Text: "Mammography every 2 years from 50."}}},
		{"unknown shape", `{"calls":[]}`, nil},
		{"not json", `nope`, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, adviceFrom(json.RawMessage(c.in))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestDistributionFrom(t *testing.T) {
	got := string(distributionFrom(json.RawMessage(`{"assessment":{"z":1.2,"percentile":88.5,"category":"moderately increased"}}`)))
	if !strings.HasPrefix(got, "<svg") || !strings.Contains(got, "</svg>") {
		t.Errorf("want an inline <svg> element, got %.80q", got)
	}
	if got := distributionFrom(json.RawMessage(`{"calls":[]}`)); got != "" {
		t.Errorf("non-PRS output drew %q", got)
	}
}
