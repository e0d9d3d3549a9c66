package pgx_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

// TestConformancePharmCAT runs the matcher over every row of the corpus's
// expected.tsv (calls PharmCAT's own tests assert) and reports the agreement
// per gene. Diplotypes must agree in content and in PharmCAT's order.
func TestConformancePharmCAT(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	defs, err := pgx.LoadDefinitions(filepath.Join(corpus, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(corpus, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = '\t'
	cr.LazyQuotes = true
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	type tally struct{ cases, agreed int }
	per := map[string]*tally{}
	cache := map[string]*pgx.Result{}
	for _, r := range rows[1:] {
		file, sample, gene, want, mode := r[col["file"]], r[col["sample"]], r[col["gene"]], r[col["expected_diplotype"]], r[col["match_mode"]]
		opts := pgx.Options{Mode: pgx.MatchTop, Combinations: strings.Contains(mode, "combination")}
		if mode == "all" {
			opts.Mode = pgx.MatchAll
		}
		key := fmt.Sprintf("%s|%v", file, opts)
		res, ok := cache[key]
		if !ok {
			res, err = callFile(filepath.Join(corpus, file), defs, opts)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			cache[key] = res
		}
		got := pgx.NoCall
		for _, s := range res.Samples {
			for _, c := range s.Calls {
				if s.Sample == sample && c.Gene == gene && c.Called() {
					got = strings.Join(c.Diplotypes, ";")
				}
			}
		}
		tl := per[gene]
		if tl == nil {
			tl = &tally{}
			per[gene] = tl
		}
		tl.cases++
		if got == want {
			tl.agreed++
		} else {
			t.Errorf("%s %s %s (%s): got %s, want %s", file, sample, gene, mode, got, want)
		}
	}
	genes := make([]string, 0, len(per))
	for g := range per {
		genes = append(genes, g)
	}
	sort.Strings(genes)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-8s %5s %6s %7s\n", "gene", "cases", "agreed", "differed")
	total, agreed := 0, 0
	for _, g := range genes {
		fmt.Fprintf(&b, "%-8s %5d %6d %7d\n", g, per[g].cases, per[g].agreed, per[g].cases-per[g].agreed)
		total += per[g].cases
		agreed += per[g].agreed
	}
	fmt.Fprintf(&b, "%-8s %5d %6d %7d", "all", total, agreed, total-agreed)
	t.Log(b.String())
}

func callFile(path string, defs *pgx.Definitions, opts pgx.Options, genes ...string) (*pgx.Result, error) {
	r, err := vcf.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return pgx.NewCaller(defs, nil, opts).CallVCF(context.Background(), r, genes)
}
