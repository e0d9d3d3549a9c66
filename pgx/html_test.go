package pgx_test

import (
	"strings"
	"testing"

	"github.com/geneguard/geneguard/pgx"
)

func TestRenderHTML(t *testing.T) {
	res := &pgx.Result{DataVersion: "definitions 2025-11-05", Build: "GRCh38", Samples: []pgx.SampleCalls{{
		Sample: "P<1>",
		Calls: []pgx.GeneCall{
			{Gene: "CYP2C19", Diplotypes: []string{"*1/*2"}, Phenotypes: []string{"Intermediate Metabolizer"}, Phenotype: "Intermediate Metabolizer", Warnings: []string{"missing <b>"}},
			{Gene: "DPYD", Diplotypes: []string{"c.61C>T", "c.2846A>T"}, HaplotypeList: true, Recommended: []string{"c.61C>T/c.2846A>T"}, Inferred: "lowest function", Phenotype: "Poor Metabolizer", ActivityScores: []string{"0.5"}},
			{Gene: "SLCO1B1", NoCallReason: "no pair"},
		},
	}}}
	recs := map[string][]pgx.Recommendation{"P<1>": {{Drug: "citalopram", Phenotype: "Intermediate Metabolizer", Text: "Initiate therapy", Strength: "Moderate", Guideline: "CPIC"}}}
	out, err := pgx.RenderHTML(pgx.HTMLReport{Result: res, Recommendations: recs, GuidanceVersion: "2024-03"})
	if err != nil {
		t.Fatal(err)
	}
	h := string(out)
	for _, want := range []string{`<html lang="en">`, "Person P&lt;1&gt;", "missing &lt;b&gt;", "<details>", "Intermediate Metabolizer",
		"Alleles found (not phased): c.61C&gt;T; c.2846A&gt;T", "Used for guidance", "Moderate", "Not called: no pair", "2024-03", "definitions 2025-11-05"} {
		if !strings.Contains(h, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Phenotype first: the phenotype table precedes the genotype details.
	if strings.Index(h, "Intermediate Metabolizer") > strings.Index(h, "Show genotype") {
		t.Error("genotype shown before the phenotype")
	}
}
