package pgx

import (
	"embed"
	"fmt"
	"io/fs"
	"sync"
)

// BundleVersion names the built-in data bundle; it is recorded with every
// result computed from it.
const BundleVersion = "geneguard-builtin-2025.12.1"

// The built-in data is written by the project from published CPIC and
// PharmVar facts (each row cites its source), so the demo and offline
// installs need no download.
//
//go:embed data/*.json
var builtinFS embed.FS

// Bundle is the built-in data: definitions, phenotypes and guidance.
type Bundle struct {
	Definitions *Definitions
	Phenotypes  *PhenotypeData
	Guidance    *Guidance
}

var (
	builtinOnce sync.Once
	builtin     *Bundle
	builtinErr  error
)

// Builtin returns the embedded bundle. It is parsed once; callers must not
// modify it.
func Builtin() (*Bundle, error) {
	builtinOnce.Do(func() { builtin, builtinErr = loadBuiltin() })
	return builtin, builtinErr
}

func loadBuiltin() (*Bundle, error) {
	sub, err := fs.Sub(builtinFS, "data")
	if err != nil {
		return nil, fmt.Errorf("pgx: builtin: %w", err)
	}
	defs, err := loadDefinitionsFS(sub, "builtin")
	if err != nil {
		return nil, err
	}
	defs.Source = "builtin"
	defs.Version = BundleVersion
	b, err := fs.ReadFile(sub, "CYP2C19_phenotype.json")
	if err != nil {
		return nil, fmt.Errorf("pgx: builtin: %w", err)
	}
	gp, err := parseGenePhenotype(b, "builtin/CYP2C19_phenotype.json")
	if err != nil {
		return nil, err
	}
	b, err = fs.ReadFile(sub, "guidance.json")
	if err != nil {
		return nil, fmt.Errorf("pgx: builtin: %w", err)
	}
	gd, err := parseGuidance(b, "builtin/guidance.json")
	if err != nil {
		return nil, err
	}
	return &Bundle{
		Definitions: defs,
		Phenotypes:  &PhenotypeData{Version: gp.Version, Genes: map[string]*GenePhenotype{gp.Gene: gp}},
		Guidance:    gd,
	}, nil
}
