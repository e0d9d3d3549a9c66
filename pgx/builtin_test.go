package pgx_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
)

func TestBuiltinBundle(t *testing.T) {
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	g, ok := b.Definitions.Gene("CYP2C19")
	if !ok {
		t.Fatal("no built-in CYP2C19")
	}
	if g.ReferenceAllele().Name != "*38" {
		t.Errorf("reference allele %s, want *38", g.ReferenceAllele().Name)
	}
	// Every row cites its source: the bundle is hand-written data that a
	// reviewer must be able to check.
	for _, v := range g.Variants {
		if v.Source == "" || v.RSID == "" {
			t.Errorf("variant %d lacks source or rsID", v.Position)
		}
	}
	for _, a := range g.NamedAlleles {
		if a.Source == "" {
			t.Errorf("allele %s lacks a source", a.Name)
		}
	}
	for _, name := range []string{"*1", "*2", "*3", "*4", "*17", "*38"} {
		found := false
		for _, a := range g.NamedAlleles {
			found = found || a.Name == name
		}
		if !found {
			t.Errorf("core allele %s missing", name)
		}
	}
	if b.Definitions.Version != pgx.BundleVersion {
		t.Errorf("version %q", b.Definitions.Version)
	}
	if got := b.Guidance.Drugs(); strings.Join(got, ",") != "citalopram,escitalopram,sertraline" {
		t.Errorf("drugs %v", got)
	}
}

// TestBuiltinAgreesWithCPICData checks the hand-written definition against
// the CPIC/PharmCAT definition file: same coordinates, bases and allele
// content at every position the bundle carries.
func TestBuiltinAgreesWithCPICData(t *testing.T) {
	dir := testcorpus.Require(t, "pgx", "definitions")
	ref, err := pgx.LoadDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := b.Definitions.Gene("CYP2C19")
	theirs, _ := ref.Gene("CYP2C19")
	idx := map[int64]int{}
	for i, v := range theirs.Variants {
		idx[v.Position] = i
	}
	for _, v := range mine.Variants {
		j, ok := idx[v.Position]
		if !ok {
			t.Errorf("%s at %d not in CPIC data", v.RSID, v.Position)
			continue
		}
		w := theirs.Variants[j]
		if w.RSID != v.RSID || w.Ref != v.Ref || strings.Join(w.Alts, ",") != strings.Join(v.Alts, ",") {
			t.Errorf("%d: mine %s %s>%v, CPIC %s %s>%v", v.Position, v.RSID, v.Ref, v.Alts, w.RSID, w.Ref, w.Alts)
		}
	}
	alleles := map[string]pgx.NamedAllele{}
	for _, a := range theirs.NamedAlleles {
		alleles[a.Name] = a
	}
	for _, a := range mine.NamedAlleles {
		w, ok := alleles[a.Name]
		if !ok {
			t.Errorf("%s not in CPIC data", a.Name)
			continue
		}
		if w.Reference != a.Reference {
			t.Errorf("%s reference flag differs", a.Name)
		}
		for i, v := range mine.Variants {
			if got, want := a.Alleles[i], w.Alleles[idx[v.Position]]; got != want {
				t.Errorf("%s at %s: mine %q, CPIC %q", a.Name, v.RSID, got, want)
			}
		}
	}
}

// TestBuiltinPhenotypesAgreeWithCPIC checks the function table and the
// function-pair rules against every row of the CPIC diplotype table whose
// alleles the bundle knows.
func TestBuiltinPhenotypesAgreeWithCPIC(t *testing.T) {
	path := filepath.Join(testcorpus.Require(t, "pgx", "phenotypes"), "CYP2C19.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cpic struct {
		Haplotypes map[string]string `json:"haplotypes"`
		Diplotypes []struct {
			Diplotype string `json:"diplotype"`
			Phenotype string `json:"phenotype"`
		} `json:"diplotypes"`
	}
	if err := json.Unmarshal(raw, &cpic); err != nil {
		t.Fatal(err)
	}
	b, _ := pgx.Builtin()
	g := b.Phenotypes.Genes["CYP2C19"]
	for name, fn := range cpic.Haplotypes {
		if got := g.Function(name); got != "" && got != fn {
			t.Errorf("%s: function %q, CPIC %q", name, got, fn)
		}
	}
	checked := 0
	for _, d := range cpic.Diplotypes {
		h1, h2, ok := strings.Cut(d.Diplotype, "/")
		if !ok || g.Function(h1) == "" || g.Function(h2) == "" {
			continue
		}
		checked++
		if got := g.Phenotype(h1, h2); got != d.Phenotype {
			t.Errorf("%s: %q, CPIC %q", d.Diplotype, got, d.Phenotype)
		}
	}
	if checked < 500 {
		t.Errorf("only %d diplotypes checked", checked)
	}
	t.Logf("%d CPIC diplotype rows agree", checked)
}
