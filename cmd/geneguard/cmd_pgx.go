package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
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
	DataVersion string        `json:"dataVersion"`
	Definitions string        `json:"definitions"`
	MatchMode   pgx.MatchMode `json:"matchMode"`
	Build       string        `json:"build,omitempty"`
	// Warnings are about the input as a whole.
	Warnings []string        `json:"warnings,omitempty"`
	Samples  []pgxJSONSample `json:"samples"`
}

type pgxJSONSample struct {
	Sample          string               `json:"sample"`
	Calls           []pgx.GeneCall       `json:"calls"`
	Recommendations []pgx.Recommendation `json:"recommendations,omitempty"`
}

func runPGX(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pgx", pgxSummary, stderr)
	vcfPath := fs.String("vcf", "", "input VCF (plain, gzip or bgzip); required")
	bundleDir := fs.String("bundle", "", "knowledge bundle folder: definitions/, phenotypes/ and guidelines/ in the CPIC/PharmCAT JSON layout (default: built-in CYP2C19 bundle)")
	defsDir := fs.String("definitions", "", "directory of <GENE>_translation.json (+ exemptions.json); replaces the bundle's definitions")
	outside := fs.String("outside-calls", "", "TSV of outside calls (gene, diplotype, phenotype, activity score), e.g. CYP2D6 from a clinical lab; single-sample VCFs only")
	genesFlag := fs.String("genes", "", "comma-separated genes to call (default: every defined gene)")
	drugsFlag := fs.String("drugs", "", "comma-separated drugs for --format json (default: every drug the bundle covers)")
	mode := fs.String("match-mode", "top", "top: all diplotypes tied at the top score; all: every plausible diplotype")
	combos := fs.Bool("combinations", false, "research mode: try combination and partial alleles when nothing else fits")
	format := fs.String("format", "tsv", "output format: tsv, json, or html (a report per person: phenotype first, genotype on demand)")
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
	if *format != "tsv" && *format != "json" && *format != "html" {
		return fmt.Errorf("%w: --format %q: want tsv, json or html", errUsage, *format)
	}
	genes := splitList(*genesFlag, strings.ToUpper)

	var bundle *pgx.Bundle
	if *bundleDir != "" {
		bundle, err = pgx.LoadBundle(*bundleDir)
	} else {
		bundle, err = pgx.Builtin()
	}
	if err != nil {
		return err
	}
	defs := bundle.Definitions
	if *defsDir != "" {
		if defs, err = pgx.LoadDefinitions(*defsDir); err != nil {
			return err
		}
	}
	outsideCalls, err := readOutsideCalls(*outside, bundle.Phenotypes, *bundleDir)
	if err != nil {
		return err
	}
	// Genes that come only from outside calls are not matched from the VCF.
	var vcfGenes []string
	for _, g := range genes {
		if _, defined := defs.Gene(g); defined || !slices.ContainsFunc(outsideCalls, func(c pgx.GeneCall) bool { return c.Gene == g }) {
			vcfGenes = append(vcfGenes, g)
		}
	}
	caller := pgx.NewCaller(defs, bundle.Phenotypes, pgx.Options{Mode: mm, Combinations: *combos})

	r, err := vcf.Open(*vcfPath)
	if err != nil {
		return err
	}
	defer r.Close()
	var res *pgx.Result
	if len(genes) > 0 && len(vcfGenes) == 0 {
		res = &pgx.Result{DataVersion: caller.DataVersion(), Build: r.Header().Build}
		for _, s := range r.Header().Samples {
			res.Samples = append(res.Samples, pgx.SampleCalls{Sample: s})
		}
	} else if res, err = caller.CallVCF(ctx, r, vcfGenes); err != nil {
		return err
	}
	if res.Build == "" && (len(genes) == 0 || len(vcfGenes) > 0) {
		// Said, as score says it: coordinates were read as the definitions'.
		assumed := "the definitions' build"
		if names := slices.Concat(vcfGenes, defs.GeneNames()); len(names) > 0 {
			if g, ok := defs.Gene(names[0]); ok && g.GenomeBuild != "" {
				assumed = g.GenomeBuild
			}
		}
		res.Warnings = append(res.Warnings, "the VCF header does not state a genome build (no ##reference or ##contig assembly); assumed "+assumed+" like the definitions")
	}
	if len(outsideCalls) > 0 {
		if len(res.Samples) != 1 {
			return fmt.Errorf("%w: --outside-calls describe one person, but the VCF has %d samples", errUsage, len(res.Samples))
		}
		res.Samples[0].Calls = applyOutsideCalls(res.Samples[0].Calls, outsideCalls, genes)
	}

	// Buffer everything so that a failure prints nothing half-done.
	var buf bytes.Buffer
	switch *format {
	case "tsv":
		writePGXTSV(&buf, res, defs)
		// Warnings about the input as a whole have no row of their own.
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
	case "json":
		drugs := splitList(*drugsFlag, strings.ToLower)
		if len(drugs) == 0 {
			drugs = bundle.Guidance.Drugs()
		}
		doc := pgxJSON{DataVersion: res.DataVersion, Definitions: defs.Source, MatchMode: mm, Build: res.Build, Warnings: res.Warnings}
		for _, s := range res.Samples {
			js := pgxJSONSample{Sample: s.Sample, Calls: s.Calls}
			for _, drug := range drugs {
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
	case "html":
		drugs := splitList(*drugsFlag, strings.ToLower)
		if len(drugs) == 0 {
			drugs = bundle.Guidance.Drugs()
		}
		rep := pgx.HTMLReport{Result: res, Recommendations: map[string][]pgx.Recommendation{}, GuidanceVersion: bundle.Guidance.Version}
		for _, s := range res.Samples {
			for _, drug := range drugs {
				recs, err := bundle.Guidance.Recommend(s.Calls, drug)
				if err != nil {
					return err
				}
				rep.Recommendations[s.Sample] = append(rep.Recommendations[s.Sample], recs...)
			}
		}
		out, err := pgx.RenderHTML(rep)
		if err != nil {
			return fmt.Errorf("render html: %w", err)
		}
		buf.Write(out)
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

func splitList(s string, norm func(string) string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, norm(x))
		}
	}
	return out
}

// readOutsideCalls parses and translates an outside-call file ("" = none),
// one GeneCall per gene.
func readOutsideCalls(path string, pheno *pgx.PhenotypeData, bundleDir string) ([]pgx.GeneCall, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("outside calls: %w", err)
	}
	defer f.Close()
	ocs, err := pgx.ParseOutsideCalls(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var order []string
	byGene := map[string][]pgx.OutsideCall{}
	for _, oc := range ocs {
		if _, ok := byGene[oc.Gene]; !ok {
			order = append(order, oc.Gene)
		}
		byGene[oc.Gene] = append(byGene[oc.Gene], oc)
	}
	var out []pgx.GeneCall
	for _, g := range order {
		if _, ok := pheno.Genes[g]; !ok {
			// Say exactly what is missing and where it comes from:
			// phenotypes come from the bundle, never from --definitions.
			have := make([]string, 0, len(pheno.Genes))
			for h := range pheno.Genes {
				have = append(have, h)
			}
			slices.Sort(have)
			which := "the built-in bundle (" + pheno.Version + ")"
			if bundleDir != "" {
				which = "the bundle " + bundleDir
			}
			return nil, fmt.Errorf("%s: line %d: %s outside calls cannot be translated: %s has no phenotype table for %s (only for %s). Give a knowledge bundle that has one: --bundle DIR, a folder with definitions/, phenotypes/ (for %s its allele functions or activity values and diplotype table, e.g. PharmCAT's %s.json or cpic_%s.json) and guidelines/; --definitions replaces allele definitions only, not phenotype tables",
				path, byGene[g][0].Line, g, which, g, strings.Join(have, ", "), g, g, g)
		}
		gc, err := pheno.TranslateOutside(byGene[g])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, gc)
	}
	return out, nil
}

// applyOutsideCalls puts outside calls in place of the matcher's call for
// the same gene (PharmCAT: the outside call overrides), or adds them.
func applyOutsideCalls(calls, outside []pgx.GeneCall, genes []string) []pgx.GeneCall {
	for _, oc := range outside {
		if len(genes) > 0 && !slices.Contains(genes, oc.Gene) {
			continue
		}
		i := slices.IndexFunc(calls, func(c pgx.GeneCall) bool { return c.Gene == oc.Gene })
		if i < 0 {
			calls = append(calls, oc)
			continue
		}
		oc.Warnings = append(oc.Warnings, "outside call used in place of the call from the VCF ("+strings.Join(orNoCall(calls[i].Diplotypes), ";")+")")
		calls[i] = oc
	}
	return calls
}

func orNoCall(d []string) []string {
	if len(d) == 0 {
		return []string{pgx.NoCall}
	}
	return d
}

// writePGXTSV writes one row per sample and gene. Tied diplotypes are joined
// with ";" in the matcher's order; a gene that could not be called shows
// NO_CALL, and its phenotype column "n/a". The trailing warnings column
// holds what must be read with the call, joined with " | ": first which
// positions had no usable data and which alleles that leaves untested,
// then the matcher's warnings; it is empty when there are none.
func writePGXTSV(w io.Writer, res *pgx.Result, defs *pgx.Definitions) {
	fmt.Fprintln(w, "sample\tgene\tdiplotypes\tphenotype\twarnings")
	for _, s := range res.Samples {
		for _, c := range s.Calls {
			dips, pheno := pgx.NoCall, "n/a"
			if c.Called() {
				dips = strings.Join(c.Diplotypes, ";")
			}
			if c.HasResult() {
				if ps := c.DistinctPhenotypes(); len(ps) > 0 {
					pheno = strings.Join(ps, ";")
				}
			}
			var warn []string
			if n := defs.MissingNote(c); n != "" {
				warn = append(warn, n)
			}
			warn = append(warn, c.Warnings...)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Sample, c.Gene, dips, pheno, tsvCell(strings.Join(warn, " | ")))
		}
	}
}

// tsvCell keeps a free-text cell on its row and in its column.
func tsvCell(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
