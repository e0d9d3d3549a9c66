package pgx

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// LoadBundleFS reads a data bundle from fsys: every <GENE>_translation.json
// (plus an optional exemptions.json), one <GENE>_phenotype.json per gene
// with a phenotype table, and guidance.json. An algorithm version stores
// its bundle as these files, so the platform runs exactly the data that
// governance approved; version is recorded with every call.
//
// It also accepts the CPIC/PharmCAT layout LoadBundle reads (definitions/,
// phenotypes/, guidelines/ or the same files side by side); version is then
// prefixed to the content-derived version.
func LoadBundleFS(fsys fs.FS, version string) (*Bundle, error) {
	if isImportedLayout(fsys) {
		b, err := loadBundle(fsys, "bundle")
		if err != nil {
			return nil, err
		}
		v := version + " " + b.Definitions.Version
		b.Definitions.Version, b.Phenotypes.Version, b.Guidance.Version = v, v, v
		return b, nil
	}
	defs, err := loadDefinitionsFS(fsys, "bundle")
	if err != nil {
		return nil, err
	}
	defs.Source = "bundle"
	defs.Version = version
	pheno := &PhenotypeData{Version: version, Genes: map[string]*GenePhenotype{}}
	names, err := fs.Glob(fsys, "*_phenotype.json")
	if err != nil {
		return nil, fmt.Errorf("pgx: bundle: %w", err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("pgx: bundle: %w", err)
		}
		gp, err := parseGenePhenotype(b, n)
		if err != nil {
			return nil, err
		}
		pheno.Genes[gp.Gene] = gp
	}
	b, err := fs.ReadFile(fsys, "guidance.json")
	if err != nil {
		return nil, fmt.Errorf("pgx: bundle: guidance.json: %w", err)
	}
	gd, err := parseGuidance(b, "guidance.json")
	if err != nil {
		return nil, err
	}
	return &Bundle{Definitions: defs, Phenotypes: pheno, Guidance: gd}, nil
}

// BuiltinFiles returns the embedded bundle's files by name, so that the
// built-in data can be registered as an algorithm version.
func BuiltinFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(builtinFS, "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := fs.ReadFile(builtinFS, p)
		if err != nil {
			return err
		}
		out[path.Base(p)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgx: builtin files: %w", err)
	}
	return out, nil
}
