package prs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ScoringFileCase is the expected outcome of reading one corpus scoring
// file: accepted with Variants rows on Build, or rejected with Err in the
// message.
type ScoringFileCase struct {
	File     string // relative to the corpus's prs folder
	Variants int
	Build    string
	Err      string
}

// ScoringFileCases covers every scoring file in ../shared/corpus/prs: the
// edge cases pgsc_calc and pygscatalog test with, and the invalid ones.
var ScoringFileCases = []ScoringFileCase{
	{File: "prs313/megsap_PGS000004_hm.txt", Variants: 313, Build: "GRCh38"},
	{File: "prs313/megsap_PGS000004_hm_fixed.txt", Variants: 313, Build: "GRCh38"},
	{File: "prs313/megsap_PGS000004_v1format.txt", Err: "legacy PGS Catalog format v1"},
	{File: "pgsc_calc/scorefiles/PGS001229_22.txt", Variants: 835, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/PGS001229_22_duplicate.txt", Variants: 8, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/customgrch37.txt", Variants: 2, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/customgrch38.txt", Variants: 2, Build: "GRCh38"},
	{File: "pgsc_calc/scorefiles/perfect.txt", Variants: 1, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/scorefile.txt", Variants: 835, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/scorefile_dominant_and_recessive.txt", Variants: 835, Build: "GRCh37"},
	{File: "pgsc_calc/scorefiles/multiscore.txt", Err: "plink2 --score file"},
	{File: "pgsc_calc/scorefiles/test.scorefile", Err: "plink2 --score file"},
	{File: "pygscatalog/scorefiles/OPGS019828.txt", Variants: 1, Build: "GRCh37"},
	{File: "pygscatalog/scorefiles/PGS000802_hmPOS_GRCh37.txt", Variants: 19, Build: "GRCh37"},
	{File: "pygscatalog/scorefiles/PGS004255_hmPOS_GRCh38.txt.gz", Err: "non-additive"},
	{File: "pygscatalog/scorefiles/bad_harmonised.txt", Err: "hm_source=Unknown"},
	{File: "pygscatalog/scorefiles/complex_variants_PGS000021.txt", Err: "missing required column(s) chr_name, chr_position"},
	{File: "pygscatalog/scorefiles/complex_variants_PGS004239.txt", Err: "haplotype row"},
	{File: "pygscatalog/scorefiles/custom.txt", Variants: 1, Build: "GRCh37"},
	{File: "pygscatalog/scorefiles/custom_no_oa.txt", Variants: 1, Build: "GRCh37"},
	{File: "pygscatalog/scorefiles/invalid_scorefile.txt", Err: "missing required column(s) chr_name, chr_position"},
	{File: "pygscatalog/scorefiles/match_duplicated_scorefile.txt", Err: "intermediate"},
	{File: "pygscatalog/scorefiles/match_normalised_PGS000866_hmPOS_GRCh38.txt.gz", Err: "intermediate"},
	{File: "extra/PGS000001.txt.gz", Err: "PGS000001_hmPOS_GRCh38.txt.gz"},
	{File: "extra/PGS000001_hmPOS_GRCh38.txt", Variants: 77, Build: "GRCh38"},
	{File: "extra/PGS000001_hmPOS_GRCh37.txt", Variants: 77, Build: "GRCh37"},
}

// Check reads the case's file under dir and says whether the outcome is
// the expected one, and what it was.
func (c ScoringFileCase) Check(dir string) (ok bool, got string) {
	f, err := os.Open(filepath.Join(dir, c.File))
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	s, err := ParseScoringFile(f, filepath.Base(c.File))
	if err != nil {
		return c.Err != "" && strings.Contains(err.Error(), c.Err), "rejected: " + err.Error()
	}
	got = fmt.Sprintf("accepted: %d variants on %s", len(s.Variants), s.Build)
	return c.Err == "" && len(s.Variants) == c.Variants && s.Build == c.Build, got
}

func (c ScoringFileCase) want() string {
	if c.Err != "" {
		return "rejected, mentioning " + strconv.Quote(c.Err)
	}
	return fmt.Sprintf("accepted: %d variants on %s", c.Variants, c.Build)
}

// Conformance prints, for `geneguard conformance`, the pgsc_calc
// duplicate test (PGS001229_22 and duplicatetest scored together on
// cineca, from the VCF and from the PLINK 1 fileset) and the acceptance
// table of every corpus scoring file. dir is the corpus's prs folder. It
// reports whether every case agreed.
func Conformance(ctx context.Context, dir string, w io.Writer) (bool, error) {
	ok := true
	pgs, err := readScore(filepath.Join(dir, "pgsc_calc/scorefiles/PGS001229_22.txt"))
	if err != nil {
		return false, err
	}
	dup, err := readScore(filepath.Join(dir, "pgsc_calc/scorefiles/PGS001229_22_duplicate.txt"))
	if err != nil {
		return false, err
	}
	full, err := readColumn(filepath.Join(dir, "plink2_reference/independent_fullprecision_cineca_22_additive_0_nomeanimp.tsv"), "", "PGS001229_SUM")
	if err != nil {
		return false, err
	}
	derived, err := readColumn(filepath.Join(dir, "plink2_reference/aggregated_scores_cineca_derived.tsv"), "duplicatetest", "SUM")
	if err != nil {
		return false, err
	}
	opts := Options{Ambiguous: AmbiguousExclude}
	fmt.Fprintln(w, "PRS: pgsc_calc duplicate test (PGS001229_22 + duplicatetest on cineca, pgsc_calc options, no imputation)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "genotypes\tscore\tsamples\twithin tol.\ttolerance\tworst rel. error\tmatched\twant matched")
	for _, src := range []struct {
		name string
		run  func() (*Result, error)
	}{
		{"VCF", func() (*Result, error) {
			return ScoreFile(ctx, filepath.Join(dir, "plink2_reference/cineca_synthetic_subset_from_pfile.vcf.gz"), []*Score{pgs, dup}, opts)
		}},
		{"bed/bim/fam", func() (*Result, error) {
			return ScoreBed(ctx, filepath.Join(dir, "pgsc_calc/target_genomes/cineca_synthetic_subset"), []*Score{pgs, dup}, opts)
		}},
	} {
		res, err := src.run()
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\n", src.name, err)
			ok = false
			continue
		}
		// duplicatetest's reference is plink2's 6-significant-digit output
		// (added over pgsc_calc's two split files), hence 1e-5.
		for i, c := range []struct {
			want    map[string]float64
			tol     float64
			matched int
		}{{full, 1e-6, 782}, {derived, 1e-5, 8}} {
			sr := res.Scores[i]
			within, worst := 0, 0.0
			for _, s := range sr.Samples {
				e, found := c.want[s.Sample]
				if !found {
					continue
				}
				rel := math.Abs(s.Sum-e) / math.Max(1, math.Abs(e))
				worst = math.Max(worst, rel)
				if rel <= c.tol {
					within++
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%g\t%.2e\t%d\t%d\n", src.name, sr.ID, len(c.want), within, c.tol, worst, sr.Matched, c.matched)
			if within != len(c.want) || sr.Matched != c.matched {
				ok = false
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintln(w, "PRS: scoring-file acceptance (every corpus scoring file: accepted as expected or rejected with a precise error)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "file\twant\tresult")
	agreed := 0
	for _, c := range ScoringFileCases {
		good, got := c.Check(dir)
		mark := "ok"
		if !good {
			mark, ok = "DIFF: "+got, false
		} else {
			agreed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.File, c.want(), mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "scoring-file acceptance %d/%d\n\n", agreed, len(ScoringFileCases))
	return ok, nil
}

func readScore(path string) (*Score, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseScoringFile(f, filepath.Base(path))
}

// readColumn reads a tab-separated table keyed by IID; pgs, when set,
// selects the rows of a long-format table (PGS column).
func readColumn(path, pgs, col string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	out := map[string]float64{}
	idx := map[string]int{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(idx) == 0 {
			for i, h := range fields {
				idx[h] = i
			}
			if _, ok := idx["IID"]; !ok {
				return nil, fmt.Errorf("%s: no IID column", path)
			}
			if _, ok := idx[col]; !ok {
				return nil, fmt.Errorf("%s: no %s column", path, col)
			}
			continue
		}
		if pgs != "" && fields[idx["PGS"]] != pgs {
			continue
		}
		v, err := strconv.ParseFloat(fields[idx[col]], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[fields[idx["IID"]]] = v
	}
	return out, sc.Err()
}
