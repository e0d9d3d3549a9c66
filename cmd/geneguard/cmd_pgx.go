package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

const pgxSummary = "call pharmacogenomic diplotypes and phenotypes from a VCF"

func init() {
	register(command{Name: "pgx", Summary: pgxSummary, Run: runPGX})
}

// pgxJSON is the --format json document.
type pgxJSON struct {
	DataVersion string          `json:"dataVersion"`
	Definitions string          `json:"definitions"`
	MatchMode   pgx.MatchMode   `json:"matchMode"`
	Build       string          `json:"build,omitempty"`
	Samples     []pgxJSONSample `json:"samples"`
}

type pgxJSONSample struct {
	Sample          string               `json:"sample"`
	Calls           []pgx.GeneCall       `json:"calls"`
	Recommendations []pgx.Recommendation `json:"recommendations,omitempty"`
}

func runPGX(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pgx", pgxSummary, stderr)
	vcfPath := fs.String("vcf", "", "input VCF (plain, gzip or bgzip); required")
	defsDir := fs.String("definitions", "", "directory of <GENE>_translation.json (+ exemptions.json); default: built-in CYP2C19 bundle")
	genesFlag := fs.String("genes", "", "comma-separated genes to call (default: every defined gene)")
	mode := fs.String("match-mode", "top", "top: all diplotypes tied at the top score; all: every plausible diplotype")
	combos := fs.Bool("combinations", false, "research mode: try combination and partial alleles when nothing else fits")
	format := fs.String("format", "tsv", "output format: tsv or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *vcfPath == "" {
		return fmt.Errorf("%w: --vcf is required", errUsage)
	}
	mm, err := pgx.ParseMatchMode(*mode)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *format != "tsv" && *format != "json" {
		return fmt.Errorf("%w: --format %q: want tsv or json", errUsage, *format)
	}
	var genes []string
	for _, g := range strings.Split(*genesFlag, ",") {
		if g = strings.TrimSpace(g); g != "" {
			genes = append(genes, strings.ToUpper(g))
		}
	}

	bundle, err := pgx.Builtin()
	if err != nil {
		return err
	}
	defs := bundle.Definitions
	if *defsDir != "" {
		if defs, err = pgx.LoadDefinitions(*defsDir); err != nil {
			return err
		}
	}
	caller := pgx.NewCaller(defs, bundle.Phenotypes, pgx.Options{Mode: mm, Combinations: *combos})

	r, err := vcf.Open(*vcfPath)
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := caller.CallVCF(ctx, r, genes)
	if err != nil {
		return err
	}

	// Buffer everything so that a failure prints nothing half-done.
	var buf bytes.Buffer
	switch *format {
	case "tsv":
		writePGXTSV(&buf, res)
	case "json":
		doc := pgxJSON{DataVersion: res.DataVersion, Definitions: defs.Source, MatchMode: mm, Build: res.Build}
		for _, s := range res.Samples {
			js := pgxJSONSample{Sample: s.Sample, Calls: s.Calls}
			for _, drug := range bundle.Guidance.Drugs() {
				recs, err := bundle.Guidance.Recommend(s.Calls, drug)
				if err != nil {
					return err
				}
				js.Recommendations = append(js.Recommendations, recs...)
			}
			doc.Samples = append(doc.Samples, js)
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

// writePGXTSV writes one row per sample and gene. Tied diplotypes are joined
// with ";" in the matcher's order; a gene that could not be called shows
// NO_CALL, and its phenotype column "n/a".
func writePGXTSV(w io.Writer, res *pgx.Result) {
	fmt.Fprintln(w, "sample\tgene\tdiplotypes\tphenotype")
	for _, s := range res.Samples {
		for _, c := range s.Calls {
			dips, pheno := pgx.NoCall, "n/a"
			if c.Called() {
				dips = strings.Join(c.Diplotypes, ";")
				if ps := c.DistinctPhenotypes(); len(ps) > 0 {
					pheno = strings.Join(ps, ";")
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Sample, c.Gene, dips, pheno)
		}
	}
}
