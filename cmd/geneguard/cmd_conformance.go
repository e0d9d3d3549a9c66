package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/vcf"
)

func init() {
	register(command{Name: "conformance", Summary: "measure agreement with the outside reference corpus (PharmCAT, plink2)", Run: runConformance})
}

// runConformance runs the same engines the platform runs against the
// reference corpus and prints agreement tables. It exits non-zero when any
// case disagrees, so CI fails when agreement drops.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance", "Runs geneguard's PGx and PRS engines on ../shared/corpus and reports agreement with\nPharmCAT's expected calls and plink2/independent full-precision sums.", stderr)
	corpus := fs.String("corpus", "../shared/corpus", "reference corpus folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if st, err := os.Stat(*corpus); err != nil || !st.IsDir() {
		return fmt.Errorf("no corpus at %s", *corpus)
	}
	failed := false
	ok, err := conformPGx(ctx, *corpus, stdout)
	if err != nil {
		return err
	}
	failed = failed || !ok
	tables, err := pgx.ConformanceAll(ctx, *corpus)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := t.Write(stdout); err != nil {
			return err
		}
		failed = failed || !t.OK()
	}
	ok, err = conformPRS(ctx, *corpus, stdout)
	if err != nil {
		return err
	}
	failed = failed || !ok
	ok, err = prs.Conformance(ctx, filepath.Join(*corpus, "prs"), stdout)
	if err != nil {
		return err
	}
	failed = failed || !ok
	if failed {
		return errors.New("conformance: some cases disagree with the reference (see the tables above)")
	}
	fmt.Fprintln(stdout, "conformance: all cases agree")
	return nil
}

// conformPGx reproduces ../shared/tools/check_pgx.py: each expected.tsv
// row, in its stated match mode, compared as a set of diplotypes.
func conformPGx(ctx context.Context, corpus string, w io.Writer) (bool, error) {
	dir := filepath.Join(corpus, "pgx")
	rows, err := readTSV(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		return false, err
	}
	defs, err := pgx.LoadDefinitions(filepath.Join(dir, "definitions"))
	if err != nil {
		return false, err
	}
	type key struct {
		file  string
		mode  pgx.MatchMode
		combo bool
	}
	cache := map[key]map[[2]string][]string{}
	errs := map[key]string{}
	total, agreed := map[string]int{}, map[string]int{}
	var diffs []string
	for _, r := range rows {
		mode := pgx.MatchTop
		if r["match_mode"] == "all" {
			mode = pgx.MatchAll
		}
		k := key{r["file"], mode, strings.Contains(r["match_mode"], "combination")}
		if _, ok := cache[k]; !ok {
			cache[k] = map[[2]string][]string{}
			calls, err := callFile(ctx, filepath.Join(dir, k.file), defs, pgx.Options{Mode: mode, Combinations: k.combo})
			if err != nil {
				errs[k] = err.Error()
			}
			for s, gcs := range calls {
				for _, gc := range gcs {
					cache[k][[2]string{s, gc.Gene}] = gc.Diplotypes
				}
			}
		}
		gene := r["gene"]
		total[gene]++
		got, ok := cache[k][[2]string{r["sample"], gene}]
		if ok && sameSet(got, strings.Split(r["expected_diplotype"], ";")) {
			agreed[gene]++
			continue
		}
		why := strings.Join(got, ";")
		if !ok {
			why = "no call row: " + errs[k]
		} else if why == "" {
			why = pgx.NoCall
		}
		diffs = append(diffs, fmt.Sprintf("DIFF\t%s\t%s\t%s\twant %s\tgot %s", r["file"], r["sample"], gene, r["expected_diplotype"], why))
	}
	fmt.Fprintf(w, "PGx: %s against PharmCAT's expected calls (%s)\n", "geneguard pgx", filepath.Join(dir, "expected.tsv"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "gene\tcases\tagreed\tdiffered")
	genes := make([]string, 0, len(total))
	for g := range total {
		genes = append(genes, g)
	}
	sort.Strings(genes)
	n, a := 0, 0
	for _, g := range genes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", g, total[g], agreed[g], total[g]-agreed[g])
		n += total[g]
		a += agreed[g]
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\n", n, a, n-a)
	tw.Flush()
	for _, d := range diffs {
		fmt.Fprintln(w, d)
	}
	fmt.Fprintf(w, "pgx agreement %d/%d\n\n", a, n)
	return a == n && n > 0, nil
}

func callFile(ctx context.Context, path string, defs *pgx.Definitions, opts pgx.Options) (map[string][]pgx.GeneCall, error) {
	r, err := vcf.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := pgx.Builtin()
	if err != nil {
		return nil, err
	}
	res, err := pgx.NewCaller(defs, b.Phenotypes, opts).CallVCF(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	out := map[string][]pgx.GeneCall{}
	for _, s := range res.Samples {
		out[s.Sample] = s.Calls
	}
	return out, nil
}

func sameSet(got, want []string) bool {
	norm := func(xs []string) []string {
		var out []string
		for _, x := range xs {
			x = strings.TrimSpace(x)
			if x == "" || x == pgx.NoCall {
				continue
			}
			out = append(out, x)
		}
		sort.Strings(out)
		return out
	}
	g, w := norm(got), norm(want)
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] {
			return false
		}
	}
	return true
}

// prsCase is one scoring run compared with independent full-precision sums.
type prsCase struct {
	name     string
	vcf      string
	score    string
	expected string
	column   string
	matched  int
	opts     prs.Options
}

func conformPRS(ctx context.Context, corpus string, w io.Writer) (bool, error) {
	dir := filepath.Join(corpus, "prs")
	cases := []prsCase{
		{"PGS000004 (PRS313) on synthetic_prs313, no imputation", "synthetic_prs313/synthetic_prs313_grch38.vcf.gz", "prs313/megsap_PGS000004_hm.txt",
			"synthetic_prs313/independent_fullprecision_prs313_nomeanimp.tsv", "PGS000004_SUM", 307, prs.Options{}},
		{"PGS001229_22 on cineca (pgsc_calc options), no imputation", "plink2_reference/cineca_synthetic_subset_from_pfile.vcf.gz", "pgsc_calc/scorefiles/PGS001229_22.txt",
			"plink2_reference/independent_fullprecision_cineca_22_additive_0_nomeanimp.tsv", "PGS001229_SUM", 782, prs.Options{Ambiguous: prs.AmbiguousExclude}},
	}
	fmt.Fprintln(w, "PRS: geneguard score against independent full-precision sums (plink2 agrees with them)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tsamples\twithin 1e-6\tworst rel. error\tmatched\twant matched")
	allOK := true
	for _, c := range cases {
		exp, err := readTSV(filepath.Join(dir, c.expected))
		if err != nil {
			return false, err
		}
		got, matched, err := scoreFile(ctx, filepath.Join(dir, c.vcf), filepath.Join(dir, c.score), c.opts)
		if err != nil {
			fmt.Fprintf(tw, "%s\t%d\t0\terror: %v\t\t%d\n", c.name, len(exp), err, c.matched)
			allOK = false
			continue
		}
		within, worst := 0, 0.0
		for _, r := range exp {
			id := r["IID"]
			want, err := strconv.ParseFloat(r[c.column], 64)
			if err != nil {
				return false, fmt.Errorf("%s: %s: %w", c.expected, id, err)
			}
			g, ok := got[id]
			if !ok {
				continue
			}
			e := math.Abs(g-want) / math.Max(1, math.Abs(want))
			worst = math.Max(worst, e)
			if e <= 1e-6 {
				within++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2e\t%d\t%d\n", c.name, len(exp), within, worst, matched, c.matched)
		if within != len(exp) || matched != c.matched {
			allOK = false
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	return allOK, nil
}

func scoreFile(ctx context.Context, vcfPath, scorePath string, opts prs.Options) (map[string]float64, int, error) {
	f, err := os.Open(scorePath)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	s, err := prs.ParseScoringFile(f, filepath.Base(scorePath))
	if err != nil {
		return nil, 0, err
	}
	r, err := vcf.Open(vcfPath)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	res, err := prs.ScoreVCF(ctx, r, []*prs.Score{s}, opts)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]float64{}
	for _, ss := range res.Scores[0].Samples {
		out[ss.Sample] = ss.Sum
	}
	return out, res.Scores[0].Matched, nil
}

// readTSV reads a tab-separated file with a header into maps.
func readTSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = '\t'
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}
