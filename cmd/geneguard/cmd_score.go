package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/vcf"
)

const scoreSummary = "compute polygenic risk scores (PGS Catalog scoring files) for every sample of a VCF or PLINK 1 fileset"

func init() {
	register(command{Name: "score", Summary: scoreSummary, Run: runScore})
}

// stringList is a repeatable flag, so several scores share one pass over
// the VCF.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", scoreSummary, stderr)
	vcfPath := fs.String("vcf", "", "genotypes: VCF, plain, gzip or bgzip (this or --bfile)")
	bfile := fs.String("bfile", "", "genotypes: PLINK 1 binary fileset PREFIX.bed/.bim/.fam (A2 = REF, A1 = ALT)")
	refOut := fs.String("reference-out", "", "also write an empirical reference distribution (reference.json for a prs bundle) from this cohort's complete scores; needs one --scores")
	refCohort := fs.String("reference-cohort", "", "with --reference-out: the cohort's name, stored in the reference")
	var scorePaths stringList
	fs.Var(&scorePaths, "scores", "PGS Catalog scoring file, plain or gzip (required; repeat for several)")
	format := fs.String("format", "tsv", "output format: tsv or json")
	missing := fs.String("missing", string(prs.MissingNone), "missing genotypes: none (sum over called genotypes) or freq (impute 2×allelefrequency_effect from the scoring file)")
	dosage := fs.String("dosage", string(prs.DosageGT), "dosage source: gt (hard calls; DS only where GT is absent) or ds (FORMAT/DS first)")
	ambiguous := fs.String("ambiguous", string(prs.AmbiguousKeep), "strand-ambiguous A/T and C/G SNVs: keep, or exclude as pgsc_calc does")
	trim := fs.Bool("trim-alleles", false, "also match indels written with a longer shared suffix (e.g. AAAAGAAAG/AAAAG = A/AAAAG)")
	strict := fs.Bool("strict", false, "validate every VCF record, not only the scored ones (slower)")
	quiet := fs.Bool("q", false, "do not print the per-score match summary on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *vcfPath != "" && *bfile != "":
		return fmt.Errorf("%w: give the genotypes once: --vcf FILE or --bfile PREFIX, not both", errUsage)
	case (*vcfPath == "" && *bfile == "") || len(scorePaths) == 0:
		return fmt.Errorf("%w: --vcf and --scores are required (or --bfile in place of --vcf)", errUsage)
	}
	if *refOut != "" && (len(scorePaths) != 1 || *refCohort == "") {
		return fmt.Errorf("%w: --reference-out needs exactly one --scores and --reference-cohort", errUsage)
	}
	if *bfile != "" && *strict {
		return fmt.Errorf("%w: --strict applies to --vcf only (a PLINK fileset is read whole)", errUsage)
	}
	if *format != "tsv" && *format != "json" {
		return fmt.Errorf("%w: --format %q: want tsv or json", errUsage, *format)
	}
	opts := prs.Options{
		Missing:     prs.MissingPolicy(*missing),
		Dosage:      prs.DosageSource(*dosage),
		Ambiguous:   prs.AmbiguousPolicy(*ambiguous),
		TrimAlleles: *trim,
	}

	scores := make([]*prs.Score, 0, len(scorePaths))
	for _, p := range scorePaths {
		s, err := readScore(p)
		if err != nil {
			return err
		}
		scores = append(scores, s)
	}
	var res *prs.Result
	var err error
	if *bfile != "" {
		res, err = prs.ScoreBed(ctx, *bfile, scores, opts)
	} else {
		res, err = score(ctx, *vcfPath, scores, opts, *strict)
	}
	if err != nil {
		return err
	}
	for _, s := range res.Scores {
		if s.Matched == 0 && s.Total > 0 {
			// A sum of zeros for everyone looks like a result and is not
			// one; the usual cause is a build the headers did not reveal.
			return fmt.Errorf("score %s: none of its %d variants matched the genotypes (genotype build %s, score build %s): check that both are on the same genome build and chromosome naming", s.ID, s.Total, orUnknown(res.Build), orUnknown(s.Build))
		}
	}

	// Render everything before writing, so a failure leaves no partial table.
	var out bytes.Buffer
	if *format == "json" {
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("encoding result: %w", err)
		}
	} else {
		writeScoreTSV(&out, res)
	}
	if !*quiet {
		for _, s := range res.Scores {
			fmt.Fprintf(stderr, "%s: %d/%d variants matched (missing policy %s)\n", s.ID, s.Matched, s.Total, s.Policy.Missing)
			for _, w := range s.Warnings {
				fmt.Fprintf(stderr, "%s: warning: %s\n", s.ID, w)
			}
		}
	}
	if *refOut != "" {
		if err := writeReference(*refOut, res.Scores[0], *refCohort, *vcfPath+*bfile); err != nil {
			return err
		}
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// score uses the fast path unless every record is to be validated.
func score(ctx context.Context, path string, scores []*prs.Score, opts prs.Options, strict bool) (*prs.Result, error) {
	if !strict {
		return prs.ScoreFile(ctx, path, scores, opts)
	}
	r, err := vcf.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return prs.ScoreVCF(ctx, r, scores, opts)
}

func readScore(path string) (*prs.Score, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return prs.ParseScoringFile(f, path)
}

// writeScoreTSV writes one row per sample and score, sums at full precision
// so that a downstream comparison is limited by arithmetic, not printing.
func writeScoreTSV(w *bytes.Buffer, res *prs.Result) {
	w.WriteString("sample\tpgs_id\tsum\tvariants_matched\tvariants_total\n")
	for i := range res.Samples {
		for _, s := range res.Scores {
			row := s.Samples[i]
			w.WriteString(row.Sample)
			w.WriteByte('\t')
			w.WriteString(row.ID)
			w.WriteByte('\t')
			w.WriteString(strconv.FormatFloat(row.Sum, 'g', -1, 64))
			w.WriteByte('\t')
			w.WriteString(strconv.Itoa(row.Matched))
			w.WriteByte('\t')
			w.WriteString(strconv.Itoa(row.Total))
			w.WriteByte('\n')
		}
	}
}
