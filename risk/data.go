package risk

import (
	"embed"
	"fmt"
)

// Data holds the parameter sets geneguard ships, each a complete
// model.json (or monogenic list) with a source for every number:
//
//   - ee-breast-2026.1.json: PRS313's OR per SD, Estonian baseline
//     incidence and competing mortality, the national programme, and
//     percentile categories with their schedules;
//   - brca-pathogenic-clinvar-2026.1.tsv: a short list of ClinVar
//     pathogenic BRCA1 variants (GRCh38), one source per row; operators
//     supply a fuller list in the same format.
//
//go:embed data/*
var Data embed.FS

// DataFile returns one of the shipped parameter files by name.
func DataFile(name string) ([]byte, error) {
	b, err := Data.ReadFile("data/" + name)
	if err != nil {
		return nil, fmt.Errorf("risk: no shipped parameter file %q", name)
	}
	return b, nil
}

// Shipped parameter file names.
const (
	EstonianBreastModel = "ee-breast-2026.1.json"
	BRCAPathogenicList  = "brca-pathogenic-clinvar-2026.1.tsv"
)
