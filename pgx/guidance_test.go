package pgx_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRecommend(t *testing.T) {
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	pm := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{"*2/*2"}, Phenotypes: []string{"Poor Metabolizer"}, Phenotype: "Poor Metabolizer", DataVersion: "v"}
	tie := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{"*1/*4", "*1/*17"},
		Phenotypes: []string{"Intermediate Metabolizer", "Rapid Metabolizer"}, Ambiguous: true, DataVersion: "v"}
	sameTie := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{"*1/*4", "*4/*38"},
		Phenotypes: []string{"Intermediate Metabolizer", "Intermediate Metabolizer"}, Phenotype: "Intermediate Metabolizer", DataVersion: "v"}
	noCall := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{}, NoCallReason: "undocumented variation", DataVersion: "v"}
	type row struct {
		Phenotype  string
		Diplotypes []string
		Strength   string
		Ambiguous  bool
	}
	tests := []struct {
		name  string
		calls []pgx.GeneCall
		drug  string
		want  []row
	}{
		{"poor metabolizer, escitalopram", []pgx.GeneCall{pm}, "escitalopram", []row{{"Poor Metabolizer", []string{"*2/*2"}, "Strong", false}}},
		{"poor metabolizer, sertraline", []pgx.GeneCall{pm}, "Sertraline", []row{{"Poor Metabolizer", []string{"*2/*2"}, "Moderate", false}}},
		{"tie with two phenotypes gives both, flagged", []pgx.GeneCall{tie}, "citalopram", []row{
			{"Intermediate Metabolizer", []string{"*1/*4"}, "Moderate", true},
			{"Rapid Metabolizer", []string{"*1/*17"}, "Optional", true}}},
		{"tie with one phenotype gives one", []pgx.GeneCall{sameTie}, "citalopram", []row{
			{"Intermediate Metabolizer", []string{"*1/*4", "*4/*38"}, "Moderate", false}}},
		{"no call says so", []pgx.GeneCall{noCall}, "citalopram", []row{{"No Result", nil, "", false}}},
		{"gene absent says so", nil, "citalopram", []row{{"No Result", nil, "", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := b.Guidance.Recommend(tc.calls, tc.drug)
			if err != nil {
				t.Fatal(err)
			}
			var got []row
			for _, r := range recs {
				if r.Text == "" || r.Source == "" || r.DataVersion == "" {
					t.Errorf("recommendation lacks text, source or version: %+v", r)
				}
				got = append(got, row{r.Phenotype, r.Diplotypes, r.Strength, r.Ambiguous})
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := b.Guidance.Recommend([]pgx.GeneCall{pm}, "aspirin"); !errors.Is(err, pgx.ErrUnknownDrug) {
		t.Errorf("unknown drug: %v", err)
	}
}

// TestGuidanceStrengthsAgreeWithCPIC compares every built-in strength with
// the CPIC guideline annotations PharmCAT ships.
func TestGuidanceStrengthsAgreeWithCPIC(t *testing.T) {
	dir := testcorpus.Require(t, "pgx", "guidelines")
	b, _ := pgx.Builtin()
	type cpicFile struct {
		Recommendations []struct {
			LookupKey      map[string]string `json:"lookupKey"`
			Classification *struct {
				Term string `json:"term"`
			} `json:"classification"`
			RelatedChemicals []struct {
				Name string `json:"name"`
			} `json:"relatedChemicals"`
		} `json:"recommendations"`
	}
	checked := 0
	for _, f := range []string{"CPIC_citalopram_escitalopram_and_CYP2C19.json", "CPIC_sertraline_and_CYP2B6_CYP2C19.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var cf cpicFile
		if err := json.Unmarshal(raw, &cf); err != nil {
			t.Fatal(err)
		}
		for _, r := range cf.Recommendations {
			if other, ok := r.LookupKey["CYP2B6"]; ok && other != "No Result" {
				continue // the bundle carries the CYP2C19 rows with CYP2B6 untested
			}
			p := r.LookupKey["CYP2C19"]
			want := ""
			if r.Classification != nil && r.Classification.Term != "No recommendation" {
				want = r.Classification.Term
			}
			for _, chem := range r.RelatedChemicals {
				call := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{"x/y"}, Phenotypes: []string{p}, Phenotype: p}
				recs, err := b.Guidance.Recommend([]pgx.GeneCall{call}, chem.Name)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 1 || recs[0].Strength != want {
					t.Errorf("%s %s: got %+v, CPIC strength %q", chem.Name, p, recs, want)
				}
				checked++
			}
		}
	}
	t.Logf("%d CPIC recommendation rows agree", checked)
}
