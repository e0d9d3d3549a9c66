package pgx

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// hapB3Columns are the genotype columns of PharmCAT's DPYD hapb3.tsv, in
// file order; the sixth is written with an allele the definition does not
// know (G), which DPYD reads as reference.
var hapB3Columns = []string{"rs56038477", "rs75017182", "rs72549310", "rs67376798", "rs1801265", "rs186169810", "rs115232898"}

const hapB3UnknownRSID, hapB3UnknownAllele = "rs186169810", "G"

// ConformHapB3 runs every row of the corpus's DPYD HapB3 grid
// (pgx/vcf/pharmcat_static/DPYD/hapb3.tsv, from PharmCAT's DpydTest#hapB3)
// twice, phased and unphased, as PharmCAT's test does: every other DPYD
// position 0/0, the row's genotypes at its seven positions. Each run is
// checked for the call (a diplotype, or for unphased data the list of
// alleles found), the lowest-function diplotype guidance uses, the HapB3
// warnings and the missing-position count. corpusDir holds pgx/.
func ConformHapB3(ctx context.Context, corpusDir string) (*ConformanceTable, error) {
	dir := filepath.Join(corpusDir, "pgx")
	b, err := LoadBundle(dir)
	if err != nil {
		return nil, err
	}
	def, ok := b.Definitions.Gene(dpydGene)
	if !ok {
		return nil, fmt.Errorf("pgx: hapb3: no DPYD definition in %s", dir)
	}
	path := filepath.Join(dir, "vcf", "pharmcat_static", "DPYD", "hapb3.tsv")
	rows, err := readRawTSV(path)
	if err != nil {
		return nil, err
	}
	if len(rows) < 4 || !slices.Equal(rows[2][:min(7, len(rows[2]))], hapB3Columns) {
		return nil, fmt.Errorf("pgx: %s: third line must name %s", path, strings.Join(hapB3Columns, ", "))
	}
	caller := NewCaller(b.Definitions, b.Phenotypes, Options{Mode: MatchTop})
	t := &ConformanceTable{Title: "PGx: DPYD HapB3 grid (" + path + "), phased and unphased"}
	for n, row := range rows[3:] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line := n + 4
		if len(row) < 14 {
			return nil, fmt.Errorf("pgx: %s:%d: %d columns, want at least 14", path, line, len(row))
		}
		for _, phased := range []bool{true, false} {
			mode := "unphased"
			if phased {
				mode = "phased"
			}
			text, err := hapB3VCF(def, row[:7], phased)
			if err != nil {
				return nil, fmt.Errorf("pgx: %s:%d: %w", path, line, err)
			}
			r, err := vcf.NewReader(strings.NewReader(text))
			if err != nil {
				return nil, fmt.Errorf("pgx: %s:%d: %w", path, line, err)
			}
			res, err := caller.CallVCF(ctx, r, []string{dpydGene})
			if err != nil {
				return nil, fmt.Errorf("pgx: %s:%d: %w", path, line, err)
			}
			gc := res.Samples[0].Calls[0]
			name := fmt.Sprintf("row %d %s (%s)", line, mode, strings.Join(row[:7], " "))

			// The call.
			want := row[7]
			if !phased && row[9] != "" {
				want = row[9]
			}
			wantCalls := parseHapB3Calls(want)
			t.add("call "+mode, slices.Equal(gc.Diplotypes, wantCalls),
				fmt.Sprintf("%s\twant %s\tgot %s", name, strings.Join(wantCalls, "; "), strings.Join(gc.Diplotypes, "; ")))

			// The lowest-function diplotype.
			wantRec := row[8]
			if !phased && row[10] != "" {
				wantRec = row[10]
			} else if !phased && row[8] == "" {
				wantRec = want
			} else if wantRec == "" {
				wantRec = want
			}
			wr := recAlleles(parseHapB3Calls(wantRec))
			gr := recAlleles(gc.LookupDiplotypes())
			t.add("lowest function "+mode, slices.Equal(wr, gr),
				fmt.Sprintf("%s\twant %s\tgot %s", name, strings.Join(wr, " + "), strings.Join(gr, " + ")))

			// Warnings and missing positions.
			wantWarn := strings.TrimSpace(row[13])
			if phased {
				wantWarn = strings.TrimSpace(row[12])
			}
			var gotWarn []string
			for _, id := range []string{msgHapB3ExonicOnly, msgHapB3IntronicMismatch} {
				if slices.ContainsFunc(gc.Warnings, func(w string) bool { return strings.Contains(w, id) }) {
					gotWarn = append(gotWarn, id)
				}
			}
			wantW := []string{}
			if wantWarn != "" {
				wantW = []string{wantWarn}
			}
			undocumented := slices.ContainsFunc(gc.Warnings, func(w string) bool { return strings.Contains(w, "undocumented allele") })
			missing := 0
			for _, g := range row[:7] {
				if g == "missing" {
					missing++
				}
			}
			okW := slices.Equal(append([]string{}, gotWarn...), wantW) &&
				undocumented == strings.EqualFold(strings.TrimSpace(row[11]), "yes") &&
				len(gc.MissingPositions) == missing
			t.add("warnings "+mode, okW, fmt.Sprintf("%s\twant HapB3 warning %q, undocumented %q, %d missing\tgot %q, %v, %d",
				name, wantWarn, row[11], missing, gotWarn, undocumented, len(gc.MissingPositions)))
		}
	}
	return t, nil
}

var tightPlus = regexp.MustCompile(`(\S)\+(\S)`)

// parseHapB3Calls reads the grid's shorthand: a comma-separated list of
// calls, "ref" for Reference, "HapB3" and "HapB3Intron" for the two HapB3
// alleles, "[A+B]" for combinations.
func parseHapB3Calls(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		p := strings.TrimSpace(part)
		p = tightPlus.ReplaceAllString(p, "$1 + $2")
		p = strings.ReplaceAll(p, "ref", "Reference")
		p = strings.ReplaceAll(p, "HapB3Intron", "\x00")
		p = strings.ReplaceAll(p, "HapB3", hapB3Allele)
		p = strings.ReplaceAll(p, "\x00", hapB3IntronicAllele)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// recAlleles turns diplotypes or an allele list into the sorted alleles of
// the lowest-function pair ("X (homozygous)" counting twice).
func recAlleles(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.Contains(c, "/") {
			h1, h2, _ := strings.Cut(c, "/")
			out = append(out, h1, h2)
			continue
		}
		if n, ok := strings.CutSuffix(c, " (homozygous)"); ok {
			out = append(out, n, n)
			continue
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// hapB3VCF writes a one-sample VCF with every DPYD position, 0/0 except
// the grid's seven.
func hapB3VCF(def *GeneDefinition, gts []string, phased bool) (string, error) {
	sep := "/"
	if phased {
		sep = "|"
	}
	set := map[string]string{}
	for i, rsid := range hapB3Columns {
		set[rsid] = gts[i]
	}
	var b strings.Builder
	b.WriteString("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPharmCAT\n")
	vs := slices.Clone(def.Variants)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Position < vs[j].Position })
	for _, v := range vs {
		alts := slices.Clone(v.Alts)
		gt := "0" + sep + "0"
		if g, ok := set[v.RSID]; ok {
			if g == "missing" {
				continue
			}
			a1, a2, ok := strings.Cut(strings.ReplaceAll(g, "|", "/"), "/")
			if !ok {
				return "", fmt.Errorf("%s: genotype %q", v.RSID, g)
			}
			alt := "1"
			if v.RSID == hapB3UnknownRSID {
				alts = append(alts, hapB3UnknownAllele)
				alt = fmt.Sprint(len(alts))
			}
			idx := func(x string) string {
				if x == "0" {
					return "0"
				}
				return alt
			}
			gt = idx(a1) + sep + idx(a2)
		}
		alt := strings.Join(alts, ",")
		if alt == "" {
			alt = "."
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\t%s\t.\tPASS\t.\tGT\t%s\n", def.Chromosome, v.Position, orDotString(v.RSID), v.Ref, alt, gt)
	}
	return b.String(), nil
}

func orDotString(s string) string {
	if s == "" {
		return "."
	}
	return s
}

// readRawTSV reads a tab-separated file as rows of fields.
func readRawTSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pgx: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.Comma = '\t'
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("pgx: %s: %w", path, err)
	}
	return rows, nil
}

// readTSVMaps reads a tab-separated file with a header into maps.
func readTSVMaps(path string) ([]map[string]string, error) {
	rows, err := readRawTSV(path)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("pgx: %s: empty", path)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// ConformGeTRMCYP2D6 translates every GeT-RM consensus CYP2D6 diplotype of
// the corpus (pgx/getrm.tsv) as an outside call with the CPIC CYP2D6 table
// of the corpus bundle. A diplotype CPIC lists must get the table's activity
// score and phenotype ("in CPIC table"); one it does not list (tandems and
// other rare structures) must be translated by summed activity values with a
// warning, or refused with a reason ("outside the table"); where GeT-RM gives
// a phenotype it must agree.
func ConformGeTRMCYP2D6(ctx context.Context, corpusDir string) (*ConformanceTable, error) {
	dir := filepath.Join(corpusDir, "pgx")
	b, err := LoadBundle(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "getrm.tsv")
	rows, err := readTSVMaps(path)
	if err != nil {
		return nil, err
	}
	g, ok := b.Phenotypes.Genes["CYP2D6"]
	if !ok {
		return nil, fmt.Errorf("pgx: %s: the bundle has no CYP2D6 phenotype table", dir)
	}
	table := map[string]DiplotypeRow{}
	for _, r := range g.Diplotypes() {
		table[r.Diplotype] = r
	}
	t := &ConformanceTable{Title: "PGx: GeT-RM CYP2D6 consensus diplotypes as outside calls (" + path + ")"}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r["gene"] != "CYP2D6" {
			continue
		}
		d := r["consensus_diplotype"]
		want, listed := table[d]
		if !listed {
			h1, h2, _ := strings.Cut(d, "/")
			want, listed = table[h2+"/"+h1]
		}
		ocs, err := ParseOutsideCalls(strings.NewReader(fmt.Sprintf("CYP2D6\t%s\t%s\n", d, r["consensus_phenotype"])))
		var gc GeneCall
		if err == nil {
			gc, err = b.Phenotypes.TranslateOutside(ocs)
		}
		name := r["sample"] + " " + d
		group := "outside the table"
		if listed {
			group = "in CPIC table"
		}
		switch {
		case err != nil && listed:
			t.add(group, false, fmt.Sprintf("%s\trefused: %v", name, err))
		case err != nil:
			t.add(group, true, "") // refused with a reason: the expected outcome for structures CPIC does not score
		case listed:
			ok := len(gc.ActivityScores) > 0 && gc.ActivityScores[0] == want.ActivityScore && gc.Phenotype == want.Phenotype
			t.add(group, ok, fmt.Sprintf("%s\twant AS %s %s\tgot %v %s", name, want.ActivityScore, want.Phenotype, gc.ActivityScores, gc.Phenotype))
		default:
			t.add(group, len(gc.Warnings) > 0, name+"\ttranslated by summed activity without a warning")
		}
		if p := r["consensus_phenotype"]; p != "" && err == nil && !strings.EqualFold(p, gc.Phenotype) {
			t.add("GeT-RM phenotype", false, fmt.Sprintf("%s\tGeT-RM %s\tgot %s", name, p, gc.Phenotype))
		}
	}
	return t, nil
}
