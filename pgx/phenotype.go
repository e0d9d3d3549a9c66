package pgx

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Indeterminate is the phenotype when an allele's function is uncertain or
// unknown (CPIC's term), including combination and partial alleles.
const Indeterminate = "Indeterminate"

// PhenotypeData maps diplotypes to phenotypes through allele function.
type PhenotypeData struct {
	Version string                    `json:"version"`
	Genes   map[string]*GenePhenotype `json:"genes"`
}

// GenePhenotype is one gene's allele-function table and the function-pair
// rules that give a phenotype.
type GenePhenotype struct {
	Gene    string           `json:"gene"`
	Version string           `json:"version"`
	Source  string           `json:"source"`
	Alleles []AlleleFunction `json:"alleles"`
	Pairs   []FunctionPair   `json:"pairs"`
	// ActivityValues holds allele activity values for activity-score genes
	// (imported tables only).
	ActivityValues map[string]string `json:"activityValues,omitempty"`

	// table is an imported diplotype → phenotype table; when present it
	// is authoritative and the function-pair rules are not used.
	table map[string]DiplotypeRow
}

// AlleleFunction is one allele's clinical function, with its source.
type AlleleFunction struct {
	Name     string `json:"name"`
	Function string `json:"function"`
	Source   string `json:"source"`
}

// FunctionPair gives the phenotype of two allele functions (either order).
type FunctionPair struct {
	Functions [2]string `json:"functions"`
	Phenotype string    `json:"phenotype"`
	Source    string    `json:"source"`
}

func parseGenePhenotype(b []byte, file string) (*GenePhenotype, error) {
	var g GenePhenotype
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, &DefinitionError{File: file, Msg: err.Error()}
	}
	if g.Gene == "" {
		return nil, &DefinitionError{File: file, Field: "gene", Msg: "missing"}
	}
	seen := map[string]bool{}
	for i, a := range g.Alleles {
		if a.Name == "" || a.Function == "" {
			return nil, &DefinitionError{File: file, Field: fmt.Sprintf("alleles[%d]", i), Msg: "name and function are required"}
		}
		if seen[a.Name] {
			return nil, &DefinitionError{File: file, Field: fmt.Sprintf("alleles[%d].name", i), Msg: a.Name + " listed twice"}
		}
		seen[a.Name] = true
	}
	for i, p := range g.Pairs {
		if p.Phenotype == "" || p.Functions[0] == "" || p.Functions[1] == "" {
			return nil, &DefinitionError{File: file, Field: fmt.Sprintf("pairs[%d]", i), Msg: "two functions and a phenotype are required"}
		}
	}
	return &g, nil
}

// Function returns an allele's function, or "" when the table lacks it.
func (g *GenePhenotype) Function(allele string) string {
	for _, a := range g.Alleles {
		if a.Name == allele {
			return a.Function
		}
	}
	return ""
}

// Phenotype returns the phenotype of a diplotype given as its two alleles.
// An allele with no function, or one without a rule, gives Indeterminate:
// an unknown must never read as normal.
func (g *GenePhenotype) Phenotype(h1, h2 string) string {
	return g.Lookup(h1, h2).Phenotype
}

// Lookup returns the phenotype row of a diplotype. Diplotypes outside an
// imported table, and alleles without a function, are Indeterminate.
func (g *GenePhenotype) Lookup(h1, h2 string) DiplotypeRow {
	if g.table != nil {
		if r, ok := g.table[diplotypeKey(h1, h2)]; ok {
			return r
		}
		return DiplotypeRow{Diplotype: h1 + "/" + h2, Phenotype: Indeterminate, LookupKey: Indeterminate}
	}
	r := DiplotypeRow{Diplotype: h1 + "/" + h2, Phenotype: Indeterminate}
	f1, f2 := g.Function(h1), g.Function(h2)
	if f1 != "" && f2 != "" {
		for _, p := range g.Pairs {
			if (p.Functions[0] == f1 && p.Functions[1] == f2) || (p.Functions[0] == f2 && p.Functions[1] == f1) {
				r.Phenotype = p.Phenotype
				break
			}
		}
	}
	r.LookupKey = r.Phenotype
	return r
}

// Diplotypes returns the rows of an imported table (none for rule-based
// genes), in no particular order.
func (g *GenePhenotype) Diplotypes() []DiplotypeRow {
	out := make([]DiplotypeRow, 0, len(g.table))
	for _, r := range g.table {
		out = append(out, r)
	}
	return out
}

// assign fills the phenotype fields of a call.
func (d *PhenotypeData) assign(call *GeneCall) {
	g, ok := d.Genes[call.Gene]
	if !ok {
		return
	}
	matches := call.Matches
	if len(call.Recommended) > 0 {
		matches = call.recommended
	} else if call.HaplotypeList {
		matches = nil
	}
	n := len(matches)
	call.Phenotypes = make([]string, n)
	call.LookupKeys = make([]string, n)
	call.ActivityScores = make([]string, n)
	for i, m := range matches {
		if len(m.Haplotypes) != 2 {
			call.Phenotypes[i], call.LookupKeys[i] = Indeterminate, Indeterminate
			continue
		}
		r := g.Lookup(m.Haplotypes[0], m.Haplotypes[1])
		call.Phenotypes[i], call.LookupKeys[i], call.ActivityScores[i] = r.Phenotype, r.LookupKey, r.ActivityScore
	}
	if !slices.ContainsFunc(call.ActivityScores, func(s string) bool { return s != "" }) {
		call.ActivityScores = nil
	}
	distinct := call.DistinctPhenotypes()
	if len(distinct) == 1 {
		call.Phenotype = distinct[0]
	} else if len(distinct) > 1 {
		call.Ambiguous = true
	}
}
