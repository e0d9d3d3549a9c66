package pgx_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
)

func TestParseOutsideCallsErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "no calls"},
		{"# only a comment\n", "no calls"},
		{"CYP2D6\t*1/*2\tNM\t2.0\textra\n", "line 1: 5 columns"},
		{"\t*1/*2\n", "line 1: no gene"},
		{"CYP2D6\n", "no diplotype, phenotype or activity score"},
	} {
		_, err := pgx.ParseOutsideCalls(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.msg)
		}
	}
}

func translate(t *testing.T, b *pgx.Bundle, line string) (pgx.GeneCall, error) {
	t.Helper()
	ocs, err := pgx.ParseOutsideCalls(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	return b.Phenotypes.TranslateOutside(ocs)
}

func TestOutsideCallsCYP2D6(t *testing.T) {
	b := corpusBundle(t)
	tests := []struct {
		line, as, pheno, err string
	}{
		{"CYP2D6\t*1/*1", "2.0", "Normal Metabolizer", ""},
		{"CYP2D6\t*4/*10", "0.25", "Intermediate Metabolizer", ""},
		{"CYP2D6\t*1/*1x2", "3.0", "Ultrarapid Metabolizer", ""},
		{"CYP2D6\t*4/*4x2", "0.0", "Poor Metabolizer", ""},
		{"CYP2D6\t*1x≥3/*2", "≥4.0", "Ultrarapid Metabolizer", ""},
		{"CYP2D6\t*36+*10/*1", "1.25", "Normal Metabolizer", ""},
		{"CYP2D6\t*1/*2\tNormal Metabolizer\t1.5", "1.5", "Normal Metabolizer", ""}, // the lab's score wins
		{"CYP2D6\t*1xN/*2", "", "", `"xN" without a count; write it as *1x2 or *1x≥3`},
		{"CYP2D6\t*2 (*35)/*9", "", "", "must be resolved by the lab"},
		{"CYP2D6\t*1/*999", "", "", "*999: no activity value"},
		{"CYP2D6\t*1-*2", "", "", "two haplotypes"},
		{"CYP2D6\t*1/*2\t\t1.1", "", "", "multiples of 0.25"},
		{"NAT9\t*1/*2", "", "", "no phenotype table"},
	}
	for _, tc := range tests {
		gc, err := translate(t, b, tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "line 1") {
				t.Errorf("%q: err %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if gc.ActivityScores[0] != tc.as || gc.Phenotype != tc.pheno || gc.LookupKeys[0] != tc.as || !gc.OutsideCall {
			t.Errorf("%q: AS %v phenotype %q key %v; want %s %s", tc.line, gc.ActivityScores, gc.Phenotype, gc.LookupKeys, tc.as, tc.pheno)
		}
	}
	// The translated call drives CYP2D6 guidance.
	gc, _ := translate(t, b, "CYP2D6\t*4/*4\n")
	recs, err := b.Guidance.Recommend([]pgx.GeneCall{gc}, "nortriptyline")
	if err != nil || len(recs) != 1 || recs[0].Strength != "Strong" || recs[0].LookupKey["CYP2D6"] != "0.0" {
		t.Errorf("nortriptyline for a CYP2D6 PM: %v %+v", err, recs)
	}
}

// TestOutsideCallsGeTRM translates every GeT-RM consensus CYP2D6 diplotype
// (179 Coriell samples). GeT-RM gives no CYP2D6 phenotypes, so each result is
// checked two ways instead: a diplotype in CPIC's table must get the table's
// activity score and phenotype, and the sum of its alleles' activity values
// must agree with the table; a diplotype CPIC does not list (tandems such as
// *36+*10) is translated by that sum, or refused with a reason.
func TestOutsideCallsGeTRM(t *testing.T) {
	b := corpusBundle(t)
	rows := readTSVFile(t, filepath.Join(testcorpus.Require(t, "pgx"), "getrm.tsv"))
	g := b.Phenotypes.Genes["CYP2D6"]
	table := map[string]pgx.DiplotypeRow{}
	for _, r := range g.Diplotypes() {
		table[r.Diplotype] = r
	}
	var inTable, summed, refused int
	var refusals []string
	for _, r := range rows {
		if r["gene"] != "CYP2D6" {
			continue
		}
		d := r["consensus_diplotype"]
		gc, err := translate(t, b, fmt.Sprintf("CYP2D6\t%s\t%s\n", d, r["consensus_phenotype"]))
		if err != nil {
			refused++
			refusals = append(refusals, d)
			continue
		}
		want, listed := table[d]
		if !listed {
			h1, h2, _ := strings.Cut(d, "/")
			want, listed = table[h2+"/"+h1]
		}
		switch {
		case listed:
			inTable++
			if gc.ActivityScores[0] != want.ActivityScore || gc.Phenotype != want.Phenotype {
				t.Errorf("%s %s: AS %s %s, CPIC table %s %s", r["sample"], d, gc.ActivityScores[0], gc.Phenotype, want.ActivityScore, want.Phenotype)
			}
		default:
			summed++
			if len(gc.Warnings) == 0 {
				t.Errorf("%s: translated by sum without a warning", d)
			}
		}
		if p := r["consensus_phenotype"]; p != "" && !strings.EqualFold(p, gc.Phenotype) {
			t.Errorf("%s %s: phenotype %s, GeT-RM %s", r["sample"], d, gc.Phenotype, p)
		}
	}
	t.Logf("GeT-RM CYP2D6: %d in the CPIC table (all agree), %d translated by summed activity, %d refused: %v", inTable, summed, refused, refusals)
	if inTable < 140 {
		t.Errorf("only %d GeT-RM diplotypes found in the CPIC table", inTable)
	}
}

// TestActivityScoreRulesAgreeWithCPICTable recomputes every one of CPIC's
// CYP2D6 diplotype rows from allele activity values and the 2019 consensus
// thresholds.
func TestActivityScoreRulesAgreeWithCPICTable(t *testing.T) {
	b := corpusBundle(t)
	g := b.Phenotypes.Genes["CYP2D6"]
	g2 := *g
	g2Only := &pgx.PhenotypeData{Version: "rules", Genes: map[string]*pgx.GenePhenotype{"CYP2D6": pgx.WithoutTable(&g2)}}
	checked := 0
	for _, r := range g.Diplotypes() {
		if r.ActivityScore == "n/a" || r.ActivityScore == "" {
			continue
		}
		gc, err := g2Only.TranslateOutside([]pgx.OutsideCall{{Line: 1, Gene: "CYP2D6", Diplotype: r.Diplotype}})
		if err != nil {
			t.Errorf("%s: %v", r.Diplotype, err)
			continue
		}
		checked++
		if gc.ActivityScores[0] != r.ActivityScore || gc.Phenotype != r.Phenotype {
			t.Errorf("%s: rules give %s %s, CPIC %s %s", r.Diplotype, gc.ActivityScores[0], gc.Phenotype, r.ActivityScore, r.Phenotype)
		}
	}
	t.Logf("%d CPIC CYP2D6 diplotype rows recomputed from activity values", checked)
}

func TestParseOutsideCallsHeader(t *testing.T) {
	for _, in := range []string{
		"gene\tdiplotype\tphenotype\tactivity score\nCYP2D6\t*1/*4\t\t\n",
		"# lab export\nGene\tDiplotype\nCYP2D6\t*1/*4\n",
	} {
		got, err := pgx.ParseOutsideCalls(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if len(got) != 1 || got[0].Gene != "CYP2D6" || got[0].Diplotype != "*1/*4" {
			t.Errorf("%q: %+v; want the one call, not the header", in, got)
		}
	}
	// Only the first line may be a header.
	if _, err := pgx.ParseOutsideCalls(strings.NewReader("gene\tdiplotype\n")); err == nil {
		t.Error("a header alone: want 'no calls'")
	}
}

// TestTranslateOutsideRuleBased: the built-in CYP2C19 data has function
// rules, not a diplotype table; outside calls use the rules.
func TestTranslateOutsideRuleBased(t *testing.T) {
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for dip, want := range map[string]string{"*1/*1": "Normal Metabolizer", "*17/*17": "Ultrarapid Metabolizer", "*2/*3": "Poor Metabolizer", "*1/*17": "Rapid Metabolizer"} {
		gc, err := b.Phenotypes.TranslateOutside([]pgx.OutsideCall{{Line: 1, Gene: "CYP2C19", Diplotype: dip}})
		if err != nil || gc.Phenotype != want || gc.LookupKeys[0] != want {
			t.Errorf("%s: %+v, %v; want %s", dip, gc, err, want)
		}
	}
	if _, err := b.Phenotypes.TranslateOutside([]pgx.OutsideCall{{Line: 3, Gene: "CYP2C19", Diplotype: "*1/*99"}}); err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "*99 is not in") {
		t.Errorf("unknown allele: %v", err)
	}
}
