package pgx

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// This file imports knowledge in the CPIC/PharmCAT JSON layout an operator
// points at: phenotype tables (<GENE>.json, the merged CPIC/DPWG format) and
// guideline annotations (CPIC_<drugs>_and_<genes>.json). A bundle folder
// holds them as
//
//	definitions/<GENE>_translation.json, exemptions.json
//	phenotypes/<GENE>.json (and phenotypes/*/cpic_<GENE>.json[.gz] for genes
//	            without a top-level table, e.g. CYP2D6)
//	guidelines/CPIC_*.json
//
// or all of them side by side in one folder. The bundle version is a hash of
// every file read plus the data versions the files state, so any change to
// the data makes a new version and results say which one produced them.

// phenotypeFile is the merged CPIC/DPWG phenotype format.
type phenotypeFile struct {
	Gene           string            `json:"gene"`
	Version        string            `json:"version"`
	Haplotypes     map[string]string `json:"haplotypes"`
	ActivityValues map[string]string `json:"activityValues"`
	Diplotypes     []struct {
		Diplotype     string         `json:"diplotype"`
		DiplotypeKey  map[string]int `json:"diplotypekey"`
		Phenotype     string         `json:"phenotype"`
		ActivityScore *string        `json:"activityScore"`
		LookupKey     string         `json:"lookupkey"`
	} `json:"diplotypes"`
}

// DiplotypeRow is one row of an imported diplotype → phenotype table.
type DiplotypeRow struct {
	Diplotype     string `json:"diplotype"`
	Phenotype     string `json:"phenotype"`
	ActivityScore string `json:"activityScore,omitempty"`
	// LookupKey is what guideline rows are keyed by: the phenotype, or the
	// activity score for activity-score genes (CYP2C9, CYP2D6, DPYD).
	LookupKey string `json:"lookupKey"`
}

func diplotypeKey(h1, h2 string) string {
	if compareNames(h1, h2) > 0 {
		h1, h2 = h2, h1
	}
	return h1 + "/" + h2
}

func parsePhenotypeFile(b []byte, file string) (*GenePhenotype, error) {
	var pf phenotypeFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, &DefinitionError{File: file, Msg: err.Error()}
	}
	if pf.Gene == "" {
		return nil, &DefinitionError{File: file, Field: "gene", Msg: "missing"}
	}
	if len(pf.Diplotypes) == 0 {
		return nil, &DefinitionError{File: file, Field: "diplotypes", Msg: "empty"}
	}
	g := &GenePhenotype{Gene: pf.Gene, Version: pf.Version, Source: file, ActivityValues: pf.ActivityValues, table: map[string]DiplotypeRow{}}
	for name, fn := range pf.Haplotypes {
		g.Alleles = append(g.Alleles, AlleleFunction{Name: name, Function: fn, Source: file})
	}
	sort.Slice(g.Alleles, func(i, j int) bool { return compareNames(g.Alleles[i].Name, g.Alleles[j].Name) < 0 })
	for i, d := range pf.Diplotypes {
		h1, h2, ok := strings.Cut(d.Diplotype, "/")
		if !ok || d.Phenotype == "" {
			return nil, &DefinitionError{File: file, Field: fmt.Sprintf("diplotypes[%d]", i), Msg: fmt.Sprintf("diplotype %q needs two alleles and a phenotype", d.Diplotype)}
		}
		row := DiplotypeRow{Diplotype: d.Diplotype, Phenotype: d.Phenotype, LookupKey: d.LookupKey}
		if d.ActivityScore != nil {
			row.ActivityScore = *d.ActivityScore
		}
		if row.LookupKey == "" {
			row.LookupKey = row.Phenotype
		}
		g.table[diplotypeKey(h1, h2)] = row
	}
	return g, nil
}

// guidelineFile is a PharmGKB guideline annotation as PharmCAT ≤ 2.13
// shipped them.
type guidelineFile struct {
	Version   string `json:"version"`
	Guideline struct {
		Name             string     `json:"name"`
		Source           string     `json:"source"`
		URL              string     `json:"url"`
		RelatedChemicals []chemical `json:"relatedChemicals"`
		RelatedGenes     []struct {
			Symbol string `json:"symbol"`
		} `json:"relatedGenes"`
	} `json:"guideline"`
	Recommendations []struct {
		LookupKey      map[string]string `json:"lookupKey"`
		Population     string            `json:"population"`
		Classification *struct {
			Term string `json:"term"`
		} `json:"classification"`
		RelatedChemicals []chemical `json:"relatedChemicals"`
		Text             *struct {
			HTML string `json:"html"`
		} `json:"text"`
		Implications []string `json:"implications"`
	} `json:"recommendations"`
	Citations []struct {
		PMID string `json:"pmid"`
	} `json:"citations"`
}

type chemical struct {
	Name string `json:"name"`
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plainText turns a recommendation's HTML into plain text.
func plainText(h string) string {
	h = strings.NewReplacer("</p>", "\n", "<br>", "\n", "<br/>", "\n", "</h4>", ": ", "</li>", "\n").Replace(h)
	t := html.UnescapeString(tagRE.ReplaceAllString(h, ""))
	var lines []string
	for _, l := range strings.Split(t, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}

func parseGuidelineFile(b []byte, file string) (*Guideline, error) {
	var gf guidelineFile
	if err := json.Unmarshal(b, &gf); err != nil {
		return nil, &DefinitionError{File: file, Msg: err.Error()}
	}
	gl := &Guideline{Guideline: gf.Guideline.Name, Version: gf.Version, Source: gf.Guideline.Source + " via " + path.Base(file)}
	if gf.Guideline.URL != "" {
		gl.Source += " (" + gf.Guideline.URL + ")"
	}
	var pmids []string
	for _, c := range gf.Citations {
		if c.PMID != "" {
			pmids = append(pmids, c.PMID)
		}
	}
	if len(pmids) > 0 {
		gl.Source += "; PMID " + strings.Join(pmids, ", ")
	}
	for _, c := range gf.Guideline.RelatedChemicals {
		gl.Drugs = append(gl.Drugs, strings.ToLower(c.Name))
	}
	for _, g := range gf.Guideline.RelatedGenes {
		if g.Symbol != "" {
			gl.Genes = append(gl.Genes, g.Symbol)
		}
	}
	if len(gl.Drugs) == 0 {
		return nil, &DefinitionError{File: file, Field: "guideline.relatedChemicals", Msg: "no drug"}
	}
	for i, r := range gf.Recommendations {
		if len(r.LookupKey) == 0 {
			return nil, &DefinitionError{File: file, Field: fmt.Sprintf("recommendations[%d].lookupKey", i), Msg: "empty"}
		}
		row := GuidanceRow{LookupKey: r.LookupKey, Population: r.Population, Implications: r.Implications}
		if r.Classification != nil && r.Classification.Term != "No recommendation" {
			row.Strength = r.Classification.Term
		}
		if r.Text != nil {
			row.Text = plainText(r.Text.HTML)
		}
		if row.Text == "" {
			row.Text = "No recommendation."
		}
		for _, c := range r.RelatedChemicals {
			row.Drugs = append(row.Drugs, strings.ToLower(c.Name))
		}
		for g := range r.LookupKey {
			if !slices.Contains(gl.Genes, g) {
				gl.Genes = append(gl.Genes, g)
			}
		}
		gl.Recommendations = append(gl.Recommendations, row)
	}
	sort.Strings(gl.Genes)
	if len(gl.Genes) > 0 {
		gl.Gene = gl.Genes[0]
	}
	return gl, nil
}

// LoadBundle reads a knowledge bundle from dir (see the layout above).
func LoadBundle(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("pgx: bundle: %w", err)
	}
	if !st.IsDir() {
		return nil, &DefinitionError{File: dir, Msg: "not a directory"}
	}
	b, err := loadBundle(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	b.Definitions.Source = dir
	return b, nil
}

// isImportedLayout reports whether fsys holds a bundle in the CPIC/PharmCAT
// layout (rather than the built-in one with guidance.json).
func isImportedLayout(fsys fs.FS) bool {
	if st, err := fs.Stat(fsys, "definitions"); err == nil && st.IsDir() {
		return true
	}
	m, _ := fs.Glob(fsys, "CPIC_*.json")
	return len(m) > 0
}

// loadBundle reads an imported bundle; its version is derived from content.
func loadBundle(fsys fs.FS, label string) (*Bundle, error) {
	sub := func(name string) (fs.FS, string) {
		if st, err := fs.Stat(fsys, name); err == nil && st.IsDir() {
			s, _ := fs.Sub(fsys, name)
			return s, path.Join(label, name)
		}
		return fsys, label
	}
	h := sha256.New()
	read := func(f fs.FS, name string) ([]byte, error) {
		b, err := fs.ReadFile(f, name)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
		return b, nil
	}

	dfs, dlabel := sub("definitions")
	defs, err := loadDefinitionsFS(dfs, dlabel)
	if err != nil {
		return nil, err
	}
	for _, g := range defs.GeneNames() {
		if _, err := read(dfs, g+translationSuffix); err != nil {
			return nil, err
		}
	}
	if _, err := read(dfs, "exemptions.json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	defsVersion := defs.Version

	pheno := &PhenotypeData{Genes: map[string]*GenePhenotype{}}
	pfs, plabel := sub("phenotypes")
	top, _ := fs.Glob(pfs, "*.json")
	nested, _ := fs.Glob(pfs, "*/cpic_*.json*")
	phenoVersions := map[string]bool{}
	for _, n := range append(top, nested...) {
		base := path.Base(n)
		if strings.HasSuffix(base, translationSuffix) || base == "exemptions.json" || strings.HasPrefix(base, "CPIC_") || strings.HasPrefix(base, "DPWG_") {
			continue
		}
		b, err := read(pfs, n)
		if err != nil {
			return nil, fmt.Errorf("pgx: bundle %s: %w", path.Join(plabel, n), err)
		}
		gp, err := parsePhenotypeFile(b, path.Join(plabel, n))
		if err != nil {
			return nil, err
		}
		if _, have := pheno.Genes[gp.Gene]; have {
			continue // the top-level (newer) table wins
		}
		pheno.Genes[gp.Gene] = gp
		phenoVersions[gp.Version] = true
	}

	guidance := &Guidance{}
	gfs, glabel := sub("guidelines")
	files, _ := fs.Glob(gfs, "CPIC_*.json")
	glVersions := map[string]bool{}
	for _, n := range files {
		b, err := read(gfs, n)
		if err != nil {
			return nil, fmt.Errorf("pgx: bundle %s: %w", path.Join(glabel, n), err)
		}
		gl, err := parseGuidelineFile(b, path.Join(glabel, n))
		if err != nil {
			return nil, err
		}
		guidance.Guidelines = append(guidance.Guidelines, *gl)
		glVersions[gl.Version] = true
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	version := fmt.Sprintf("pgx-bundle sha256:%s (%s; phenotypes %s; guidelines %s)", sum, defsVersion, joinKeys(phenoVersions), joinKeys(glVersions))
	defs.Version = version
	defs.Source = label
	pheno.Version = version
	guidance.Version = version
	return &Bundle{Definitions: defs, Phenotypes: pheno, Guidance: guidance}, nil
}

func joinKeys(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k := range m {
		if k == "" {
			k = "unversioned"
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
