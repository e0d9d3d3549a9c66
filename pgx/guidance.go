package pgx

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Guidance is a set of prescribing recommendations keyed by phenotype.
type Guidance struct {
	Version    string      `json:"version"`
	Guidelines []Guideline `json:"guidelines"`
}

// Guideline is one guideline's rows for one gene.
type Guideline struct {
	Drugs []string `json:"drugs"`
	Gene  string   `json:"gene"`
	// OtherGene names a second gene the guideline keys on; the built-in
	// rows are those for which it is normal or not tested.
	OtherGene       string        `json:"otherGene,omitempty"`
	Guideline       string        `json:"guideline"`
	Source          string        `json:"source"`
	Recommendations []GuidanceRow `json:"recommendations"`
}

// GuidanceRow is the recommendation for one phenotype.
type GuidanceRow struct {
	Phenotype string `json:"phenotype"`
	Strength  string `json:"strength"` // "" when there is no recommendation
	Text      string `json:"text"`
}

// Recommendation is what a prescriber sees for one drug and one phenotype.
// A tied call gives one Recommendation per distinct phenotype, each marked
// Ambiguous and naming the diplotypes behind it.
type Recommendation struct {
	Drug        string   `json:"drug"`
	Gene        string   `json:"gene"`
	Phenotype   string   `json:"phenotype"`
	Diplotypes  []string `json:"diplotypes,omitempty"`
	Text        string   `json:"text"`
	Strength    string   `json:"strength,omitempty"`
	Guideline   string   `json:"guideline"`
	Source      string   `json:"source"`
	Ambiguous   bool     `json:"ambiguous,omitempty"`
	Note        string   `json:"note,omitempty"`
	DataVersion string   `json:"dataVersion"`
}

// ErrUnknownDrug is returned for a drug without built-in guidance.
var ErrUnknownDrug = errors.New("pgx: no guidance for drug")

// Drugs lists the drugs with guidance, sorted.
func (g *Guidance) Drugs() []string {
	var out []string
	for _, gl := range g.Guidelines {
		out = append(out, gl.Drugs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (g *Guidance) guideline(drug string) (*Guideline, bool) {
	for i := range g.Guidelines {
		if slices.Contains(g.Guidelines[i].Drugs, drug) {
			return &g.Guidelines[i], true
		}
	}
	return nil, false
}

// Recommend returns the recommendations for drug given a sample's gene
// calls. It never picks one of several tied calls: each distinct phenotype
// gets its own Recommendation. A gene that was not called yields one
// Recommendation that says so, with the no-call reason.
func (g *Guidance) Recommend(calls []GeneCall, drug string) ([]Recommendation, error) {
	drug = strings.ToLower(strings.TrimSpace(drug))
	gl, ok := g.guideline(drug)
	if !ok {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownDrug, drug, strings.Join(g.Drugs(), ", "))
	}
	base := Recommendation{Drug: drug, Gene: gl.Gene, Guideline: gl.Guideline, Source: gl.Source, DataVersion: g.Version}
	if gl.OtherGene != "" {
		base.Note = gl.OtherGene + " is taken as not tested (\"No Result\"); the rows used are those for " + gl.OtherGene + " normal or not tested"
	}
	var call *GeneCall
	for i := range calls {
		if calls[i].Gene == gl.Gene {
			call = &calls[i]
		}
	}
	if call == nil || !call.Called() {
		r := base
		r.Phenotype = "No Result"
		r.Text = "No genotype-based recommendation: " + gl.Gene + " was not called"
		if call != nil && call.NoCallReason != "" {
			r.Text += " (" + call.NoCallReason + ")"
		}
		r.Text += ". Prescribe as for an untested patient."
		return []Recommendation{r}, nil
	}
	base.DataVersion = call.DataVersion + "; guidance " + g.Version
	phenos := call.DistinctPhenotypes()
	if len(phenos) == 0 {
		r := base
		r.Phenotype = Indeterminate
		r.Diplotypes = call.Diplotypes
		r.Text = "No recommendation: no phenotype could be assigned to " + strings.Join(call.Diplotypes, ", ") + "."
		return []Recommendation{r}, nil
	}
	var out []Recommendation
	for _, p := range phenos {
		r := base
		r.Phenotype = p
		r.Ambiguous = len(phenos) > 1
		for i, d := range call.Diplotypes {
			if i < len(call.Phenotypes) && call.Phenotypes[i] == p {
				r.Diplotypes = append(r.Diplotypes, d)
			}
		}
		row, ok := gl.row(p)
		if !ok {
			r.Text = "No recommendation for phenotype " + p + "."
		} else {
			r.Text, r.Strength = row.Text, row.Strength
		}
		out = append(out, r)
	}
	return out, nil
}

func (gl *Guideline) row(phenotype string) (GuidanceRow, bool) {
	for _, r := range gl.Recommendations {
		if r.Phenotype == phenotype {
			return r, true
		}
	}
	return GuidanceRow{}, false
}

func parseGuidance(b []byte, file string) (*Guidance, error) {
	var g Guidance
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, &DefinitionError{File: file, Msg: err.Error()}
	}
	for i, gl := range g.Guidelines {
		f := fmt.Sprintf("guidelines[%d]", i)
		if len(gl.Drugs) == 0 || gl.Gene == "" || gl.Source == "" {
			return nil, &DefinitionError{File: file, Field: f, Msg: "drugs, gene and source are required"}
		}
		for j, r := range gl.Recommendations {
			if r.Phenotype == "" || r.Text == "" {
				return nil, &DefinitionError{File: file, Field: fmt.Sprintf("%s.recommendations[%d]", f, j), Msg: "phenotype and text are required"}
			}
		}
	}
	return &g, nil
}
