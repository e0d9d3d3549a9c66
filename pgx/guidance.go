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
	OtherGene string `json:"otherGene,omitempty"`
	// Genes lists every gene an imported guideline's rows key on; rows
	// then carry a LookupKey per gene.
	Genes           []string      `json:"genes,omitempty"`
	Guideline       string        `json:"guideline"`
	Source          string        `json:"source"`
	Version         string        `json:"version,omitempty"`
	Recommendations []GuidanceRow `json:"recommendations"`
}

// GuidanceRow is the recommendation for one phenotype (built-in rows) or
// one combination of lookup keys (imported rows).
type GuidanceRow struct {
	Phenotype string `json:"phenotype,omitempty"`
	// LookupKey maps each gene to its phenotype or activity score; "No
	// Result" stands for a gene that was not tested.
	LookupKey map[string]string `json:"lookupKey,omitempty"`
	// Population names the indication when a guideline has several
	// (clopidogrel: "CVI ACS PCI", "CVI non-ACS non-PCI", "NVI").
	Population string `json:"population,omitempty"`
	// Drugs restricts the row to some of the guideline's drugs.
	Drugs        []string `json:"drugs,omitempty"`
	Strength     string   `json:"strength"` // "" when there is no recommendation
	Text         string   `json:"text"`
	Implications []string `json:"implications,omitempty"`
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
	// LookupKey is the key per gene the row was chosen by (imported
	// guidelines).
	LookupKey    map[string]string `json:"lookupKey,omitempty"`
	Population   string            `json:"population,omitempty"`
	Implications []string          `json:"implications,omitempty"`
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
	if len(gl.Genes) > 0 {
		return g.recommendKeyed(gl, calls, drug), nil
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
	if call == nil || !call.HasResult() {
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
	if call.Inferred != "" {
		base.Note = strings.TrimPrefix(base.Note+"; "+call.Gene+": "+call.Inferred, "; ")
	}
	phenos := call.DistinctPhenotypes()
	if len(phenos) == 0 {
		r := base
		r.Phenotype = Indeterminate
		r.Diplotypes = call.LookupDiplotypes()
		r.Text = "No recommendation: no phenotype could be assigned to " + strings.Join(r.Diplotypes, ", ") + "."
		return []Recommendation{r}, nil
	}
	var out []Recommendation
	for _, p := range phenos {
		r := base
		r.Phenotype = p
		r.Ambiguous = len(phenos) > 1
		for i, d := range call.LookupDiplotypes() {
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

// keyOption is one value a gene can take in a lookup: a phenotype or
// activity score and the diplotypes that give it.
type keyOption struct {
	key, phenotype string
	diplotypes     []string
}

// geneOptions returns the lookup keys a gene's call allows: one per distinct
// key of its (possibly tied) diplotypes, or "No Result" when the gene was
// not called or not tested, with a note saying which.
func geneOptions(gene string, calls []GeneCall) ([]keyOption, string) {
	var call *GeneCall
	for i := range calls {
		if calls[i].Gene == gene {
			call = &calls[i]
		}
	}
	switch {
	case call == nil:
		return []keyOption{{key: NoResult, phenotype: NoResult}}, gene + " not tested"
	case !call.HasResult():
		note := gene + " not called"
		if call.NoCallReason != "" {
			note += " (" + call.NoCallReason + ")"
		}
		return []keyOption{{key: NoResult, phenotype: NoResult}}, note
	}
	var out []keyOption
	for i, d := range call.LookupDiplotypes() {
		key, pheno := Indeterminate, Indeterminate
		if i < len(call.LookupKeys) && call.LookupKeys[i] != "" {
			key = call.LookupKeys[i]
		} else if i < len(call.Phenotypes) && call.Phenotypes[i] != "" {
			key = call.Phenotypes[i]
		}
		if i < len(call.Phenotypes) && call.Phenotypes[i] != "" {
			pheno = call.Phenotypes[i]
		}
		k := slices.IndexFunc(out, func(o keyOption) bool { return o.key == key })
		if k < 0 {
			out = append(out, keyOption{key: key, phenotype: pheno})
			k = len(out) - 1
		}
		out[k].diplotypes = append(out[k].diplotypes, gene+" "+d)
	}
	if call.Inferred != "" {
		return out, gene + ": " + call.Inferred
	}
	return out, ""
}

// NoResult is CPIC's lookup key for a gene without a result.
const NoResult = "No Result"

// recommendKeyed looks an imported guideline up by every gene's key. Tied
// calls with different keys give one recommendation per combination, each
// marked Ambiguous; a guideline with several populations gives one per
// population.
func (g *Guidance) recommendKeyed(gl *Guideline, calls []GeneCall, drug string) []Recommendation {
	opts := make([][]keyOption, len(gl.Genes))
	var notes []string
	ambiguous := false
	versions := []string{}
	for i, gene := range gl.Genes {
		o, note := geneOptions(gene, calls)
		opts[i] = o
		if note != "" {
			notes = append(notes, note)
		}
		ambiguous = ambiguous || len(o) > 1
		for _, c := range calls {
			if c.Gene == gene && c.DataVersion != "" && !slices.Contains(versions, c.DataVersion) {
				versions = append(versions, c.DataVersion)
			}
		}
	}
	if g.Version != "" && !slices.Contains(versions, g.Version) {
		versions = append(versions, g.Version)
	}
	var out []Recommendation
	idx := make([]int, len(gl.Genes))
	for {
		key := map[string]string{}
		var desc, dips []string
		allNoResult := true
		for i, gene := range gl.Genes {
			o := opts[i][idx[i]]
			key[gene] = o.key
			d := gene + " " + o.key
			if o.phenotype != o.key {
				d += " (" + o.phenotype + ")"
			}
			desc = append(desc, d)
			dips = append(dips, o.diplotypes...)
			allNoResult = allNoResult && o.key == NoResult
		}
		base := Recommendation{Drug: drug, Gene: strings.Join(gl.Genes, "+"), Phenotype: strings.Join(desc, "; "),
			Diplotypes: dips, Guideline: gl.Guideline, Source: gl.Source, Ambiguous: ambiguous,
			Note: strings.Join(notes, "; "), DataVersion: strings.Join(versions, "; "), LookupKey: key}
		matched := false
		first := len(out)
		for _, row := range gl.Recommendations {
			if len(row.Drugs) > 0 && !slices.Contains(row.Drugs, drug) {
				continue
			}
			if !sameKey(row.LookupKey, key) {
				continue
			}
			matched = true
			r := base
			r.Strength, r.Text, r.Population, r.Implications = row.Strength, row.Text, row.Population, row.Implications
			out = append(out, r)
		}
		// Populations (indications) in a fixed order.
		slices.SortStableFunc(out[first:], func(a, b Recommendation) int { return strings.Compare(a.Population, b.Population) })
		if !matched {
			r := base
			if allNoResult {
				r.Text = "No genotype-based recommendation: " + strings.Join(notes, "; ") + ". Prescribe as for an untested patient."
			} else {
				r.Text = "No recommendation: the guideline has no row for " + strings.Join(desc, "; ") + "."
			}
			out = append(out, r)
		}
		// Next combination.
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(opts[k]) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
	}
	return out
}

func sameKey(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
