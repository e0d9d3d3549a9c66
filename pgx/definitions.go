package pgx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Definitions is a set of gene allele definitions plus the per-gene matcher
// exemptions, as read from one directory (or the embedded bundle).
type Definitions struct {
	// Version identifies the data: it is copied into every result so that a
	// call can be traced to the definitions that produced it and recomputed
	// when they change.
	Version string `json:"version"`
	// Source says where the definitions came from ("builtin" or a path).
	Source     string                     `json:"source"`
	Genes      map[string]*GeneDefinition `json:"genes"`
	Exemptions map[string]*Exemption      `json:"exemptions,omitempty"`
}

// GeneDefinition is one <GENE>_translation.json file.
type GeneDefinition struct {
	Gene         string        `json:"gene"`
	Chromosome   string        `json:"chromosome"`
	GenomeBuild  string        `json:"genomeBuild"`
	Version      string        `json:"version,omitempty"`
	Source       string        `json:"source,omitempty"`
	Variants     []Variant     `json:"variants"`
	NamedAlleles []NamedAllele `json:"namedAlleles"`
	// SubAllelesMap maps a sub-allele name ("*45.001") to the name it is
	// reported under ("*45"): PharmCAT reports at named-allele level.
	SubAllelesMap map[string]string `json:"suballelesMap,omitempty"`

	reference int // index of the reference allele in NamedAlleles
}

// Variant is one allele-defining position. It carries both coordinates
// because VCF left-aligns and anchors indels while CPIC/HGVS does not: the
// matcher uses Position/Ref/Alts, reports cite CPICPosition/HGVS.
type Variant struct {
	Chromosome   string            `json:"chromosome"`
	Position     int64             `json:"position"`
	CPICPosition int64             `json:"cpicPosition"`
	RSID         string            `json:"rsid,omitempty"`
	HGVS         string            `json:"chromosomeHgvsName,omitempty"`
	CPICAlleles  []string          `json:"cpicAlleles,omitempty"`
	CPICToVCF    map[string]string `json:"cpicToVcfAlleleMap,omitempty"`
	Ref          string            `json:"ref"`
	Alts         []string          `json:"alts"`
	// Source cites where the facts of this row come from (built-in data).
	Source string `json:"source,omitempty"`
}

// Label names the variant for messages: its rsID, else chrom:pos.
func (v Variant) Label() string {
	if v.RSID != "" {
		return v.RSID
	}
	return fmt.Sprintf("%s:%d", v.Chromosome, v.Position)
}

// NamedAllele is one star (or otherwise named) allele. Alleles runs parallel
// to GeneDefinition.Variants, in VCF representation; "" (JSON null) means the
// allele does not define that position.
type NamedAllele struct {
	Name          string   `json:"name"`
	ID            string   `json:"id,omitempty"`
	Alleles       []string `json:"alleles"`
	CPICAlleles   []string `json:"cpicAlleles,omitempty"`
	Reference     bool     `json:"reference"`
	CorePositions []int64  `json:"corePositions,omitempty"`
	Source        string   `json:"source,omitempty"`
}

// Exemption holds the per-gene departures from the default matcher rules
// (exemptions.json).
type Exemption struct {
	Gene              string    `json:"gene"`
	RequiredPositions []int64   `json:"requiredPositions,omitempty"`
	IgnoredPositions  []Variant `json:"ignoredPositions,omitempty"`
	ExtraPositions    []Variant `json:"extraPositions,omitempty"`
	IgnoredAlleles    []string  `json:"ignoredAlleles,omitempty"`
	Amp1Alleles       []string  `json:"amp1Alleles,omitempty"`
	Amp1Positions     []int64   `json:"amp1Positions,omitempty"`
}

// DefinitionError is a fault in a definition file, naming the file and the
// field so that whoever maintains the data can find it.
type DefinitionError struct {
	File  string
	Field string
	Msg   string
}

func (e *DefinitionError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("pgx: definitions %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("pgx: definitions %s: %s: %s", e.File, e.Field, e.Msg)
}

// ErrNoDefinitions is returned when a directory holds no *_translation.json.
var ErrNoDefinitions = errors.New("pgx: no <GENE>_translation.json files")

const translationSuffix = "_translation.json"

// LoadDefinitions reads every <GENE>_translation.json and, when present,
// exemptions.json from dir.
func LoadDefinitions(dir string) (*Definitions, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("pgx: definitions: %w", err)
	}
	if !st.IsDir() {
		return nil, &DefinitionError{File: dir, Msg: "not a directory"}
	}
	d, err := loadDefinitionsFS(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	d.Source = dir
	return d, nil
}

// loadDefinitionsFS reads definitions from fsys; label prefixes file names in
// errors.
func loadDefinitionsFS(fsys fs.FS, label string) (*Definitions, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("pgx: definitions %s: %w", label, err)
	}
	d := &Definitions{Genes: map[string]*GeneDefinition{}, Exemptions: map[string]*Exemption{}}
	var versions []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, translationSuffix) {
			continue
		}
		file := path.Join(label, name)
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("pgx: definitions %s: %w", file, err)
		}
		g, err := parseGeneDefinition(b, file)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(name, translationSuffix); g.Gene != want {
			return nil, &DefinitionError{File: file, Field: "gene", Msg: fmt.Sprintf("%q does not match the file name (%q)", g.Gene, want)}
		}
		d.Genes[g.Gene] = g
		if g.Version != "" {
			versions = append(versions, g.Gene+"@"+g.Version)
		}
	}
	if len(d.Genes) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoDefinitions, label)
	}
	if b, err := fs.ReadFile(fsys, "exemptions.json"); err == nil {
		if err := json.Unmarshal(b, &d.Exemptions); err != nil {
			return nil, &DefinitionError{File: path.Join(label, "exemptions.json"), Msg: err.Error()}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pgx: definitions %s: %w", path.Join(label, "exemptions.json"), err)
	}
	d.Version = summarizeVersions(versions)
	return d, nil
}

// summarizeVersions collapses per-gene versions to one string: the common
// version when all agree, else the sorted list, so a result names its data.
func summarizeVersions(vs []string) string {
	if len(vs) == 0 {
		return "unversioned"
	}
	sort.Strings(vs)
	common := ""
	for i, v := range vs {
		_, ver, _ := strings.Cut(v, "@")
		if i == 0 {
			common = ver
		} else if ver != common {
			return strings.Join(vs, ",")
		}
	}
	return "definitions " + common
}

func parseGeneDefinition(b []byte, file string) (*GeneDefinition, error) {
	var g GeneDefinition
	if err := json.Unmarshal(b, &g); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return nil, &DefinitionError{File: file, Field: te.Field, Msg: fmt.Sprintf("JSON %s where %s expected", te.Value, te.Type)}
		case errors.As(err, &se):
			return nil, &DefinitionError{File: file, Msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)}
		}
		return nil, &DefinitionError{File: file, Msg: err.Error()}
	}
	if err := g.validate(file); err != nil {
		return nil, err
	}
	return &g, nil
}

// validate checks the invariants the matcher relies on, so that a broken
// file fails at load time with its location rather than as a wrong call.
func (g *GeneDefinition) validate(file string) error {
	fail := func(field, format string, a ...any) error {
		return &DefinitionError{File: file, Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	if g.Gene == "" {
		return fail("gene", "missing")
	}
	if g.Chromosome == "" {
		return fail("chromosome", "missing")
	}
	if len(g.Variants) == 0 {
		return fail("variants", "empty")
	}
	seen := map[int64]bool{}
	for i, v := range g.Variants {
		f := fmt.Sprintf("variants[%d]", i)
		if v.Position <= 0 {
			return fail(f+".position", "must be positive, got %d", v.Position)
		}
		if seen[v.Position] {
			return fail(f+".position", "%d defined twice", v.Position)
		}
		seen[v.Position] = true
		if v.Ref == "" {
			return fail(f+".ref", "missing")
		}
		if v.Chromosome != "" && v.Chromosome != g.Chromosome {
			return fail(f+".chromosome", "%q differs from the gene's %q", v.Chromosome, g.Chromosome)
		}
		if v.CPICPosition == 0 {
			g.Variants[i].CPICPosition = v.Position
		}
	}
	g.reference = -1
	names := map[string]bool{}
	for i, a := range g.NamedAlleles {
		f := fmt.Sprintf("namedAlleles[%d]", i)
		if a.Name == "" {
			return fail(f+".name", "missing")
		}
		if names[a.Name] {
			return fail(f+".name", "%q defined twice", a.Name)
		}
		names[a.Name] = true
		if len(a.Alleles) != len(g.Variants) {
			return fail(f+".alleles", "%s has %d alleles for %d variants", a.Name, len(a.Alleles), len(g.Variants))
		}
		defined := 0
		for j, al := range a.Alleles {
			if al == "" {
				continue
			}
			defined++
			if len(al) == 1 && !isIUPAC(al) {
				return fail(fmt.Sprintf("%s.alleles[%d]", f, j), "%s: %q is not a base or IUPAC code", a.Name, al)
			}
		}
		if a.Reference {
			if g.reference >= 0 {
				return fail(f+".reference", "%s and %s are both flagged reference", g.NamedAlleles[g.reference].Name, a.Name)
			}
			if defined != len(g.Variants) {
				return fail(f+".alleles", "reference allele %s must define every position (%d of %d)", a.Name, defined, len(g.Variants))
			}
			g.reference = i
		}
		if defined == 0 {
			return fail(f+".alleles", "%s defines no position", a.Name)
		}
	}
	if g.reference < 0 {
		return fail("namedAlleles", "no allele is flagged reference")
	}
	return nil
}

// ReferenceAllele returns the allele the definition flags as reference.
func (g *GeneDefinition) ReferenceAllele() NamedAllele {
	return g.NamedAlleles[g.reference]
}

// Gene returns the definition for gene.
func (d *Definitions) Gene(gene string) (*GeneDefinition, bool) {
	g, ok := d.Genes[gene]
	return g, ok
}

// GeneNames returns the defined genes, sorted.
func (d *Definitions) GeneNames() []string {
	out := make([]string, 0, len(d.Genes))
	for g := range d.Genes {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}
