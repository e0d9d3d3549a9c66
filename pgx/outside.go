package pgx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// OutsideCall is one line of an outside-call file: a diplotype a clinical
// lab called for a gene the VCF cannot call well (CYP2D6 and other genes
// with structural variation), with the lab's phenotype and activity score
// when it gave them. PharmCAT's format: TSV gene, diplotype, phenotype,
// activity score; the last two columns may be empty or absent.
type OutsideCall struct {
	Line          int    `json:"line"`
	Gene          string `json:"gene"`
	Diplotype     string `json:"diplotype"`
	Phenotype     string `json:"phenotype,omitempty"`
	ActivityScore string `json:"activityScore,omitempty"`
}

// OutsideCallError is a fault in an outside-call file, located by line.
type OutsideCallError struct {
	Line int
	Msg  string
}

func (e *OutsideCallError) Error() string {
	return fmt.Sprintf("pgx: outside calls: line %d: %s", e.Line, e.Msg)
}

// ParseOutsideCalls reads an outside-call file. Blank lines and lines
// starting with '#' are skipped, and so is a column header as the first
// other line (first column "gene"). Every line must name a gene and a
// diplotype; the same gene on several lines means the lab could not tell
// those diplotypes apart.
func ParseOutsideCalls(r io.Reader) ([]OutsideCall, error) {
	sc := bufio.NewScanner(r)
	var out []OutsideCall
	n := 0
	first := true
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if first && strings.EqualFold(strings.TrimSpace(f[0]), "gene") {
			first = false
			continue // a header: no gene is called "gene"
		}
		first = false
		if len(f) > 4 {
			return nil, &OutsideCallError{n, fmt.Sprintf("%d columns; want gene, diplotype, phenotype, activity score", len(f))}
		}
		for len(f) < 4 {
			f = append(f, "")
		}
		oc := OutsideCall{Line: n, Gene: strings.ToUpper(strings.TrimSpace(f[0])), Diplotype: strings.TrimSpace(f[1]),
			Phenotype: strings.TrimSpace(f[2]), ActivityScore: strings.TrimSpace(f[3])}
		if oc.Gene == "" {
			return nil, &OutsideCallError{n, "no gene"}
		}
		if oc.Diplotype == "" && oc.Phenotype == "" && oc.ActivityScore == "" {
			return nil, &OutsideCallError{n, oc.Gene + ": no diplotype, phenotype or activity score"}
		}
		out = append(out, oc)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pgx: outside calls: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("pgx: outside calls: the file has no calls")
	}
	return out, nil
}

// cnForm is a star allele with an optional copy number: "*1", "*1x2",
// "*1x≥3". Anything else (sub-allele letters, parentheses, "xN") is refused.
var cnForm = regexp.MustCompile(`^\*\d+(x(\d+|≥\d+))?$`)

// TranslateOutside turns one gene's outside calls into a GeneCall. For
// activity-score genes (CYP2D6) the activity score decides: the lab's, when
// given, else the CPIC diplotype table's, else the sum of the alleles'
// activity values (tandem arrangements such as *36+*10 add up their
// components); the phenotype follows from it. Otherwise the lab's phenotype,
// else the table's. A diplotype that cannot be read or translated is an
// error naming the line, never a guess.
func (d *PhenotypeData) TranslateOutside(calls []OutsideCall) (GeneCall, error) {
	if len(calls) == 0 {
		return GeneCall{}, errors.New("pgx: outside calls: none given")
	}
	gene := calls[0].Gene
	gc := GeneCall{Gene: gene, Diplotypes: []string{}, OutsideCall: true, DataVersion: d.Version}
	g, ok := d.Genes[gene]
	if !ok {
		return gc, &OutsideCallError{calls[0].Line, fmt.Sprintf("%s: no phenotype table for this gene in the knowledge bundle", gene)}
	}
	asGene := len(g.ActivityValues) > 0
	for _, oc := range calls {
		if oc.Gene != gene {
			return gc, fmt.Errorf("pgx: outside calls: TranslateOutside got %s and %s", gene, oc.Gene)
		}
		fail := func(format string, a ...any) error {
			return &OutsideCallError{oc.Line, gene + " " + oc.Diplotype + ": " + fmt.Sprintf(format, a...)}
		}
		row := DiplotypeRow{Diplotype: oc.Diplotype}
		if oc.Diplotype != "" {
			h1, h2, ok := strings.Cut(oc.Diplotype, "/")
			if !ok || strings.Contains(h2, "/") {
				return gc, fail("a diplotype is two haplotypes joined by '/'")
			}
			h1, h2 = strings.TrimSpace(h1), strings.TrimSpace(h2)
			if r, ok := g.table[diplotypeKey(h1, h2)]; ok {
				row = r
			} else if g.table == nil && !asGene {
				// A rule-based gene (the built-in bundle): the phenotype
				// follows from the two alleles' functions, as for a call
				// from the VCF.
				for _, h := range []string{h1, h2} {
					if g.Function(h) == "" {
						return gc, fail("%s is not in the bundle's %s allele function table (%s); give a bundle that has it (--bundle DIR)", h, gene, d.Version)
					}
				}
				f1, f2 := g.Function(h1), g.Function(h2)
				if !slices.ContainsFunc(g.Pairs, func(p FunctionPair) bool {
					return (p.Functions[0] == f1 && p.Functions[1] == f2) || (p.Functions[0] == f2 && p.Functions[1] == f1)
				}) {
					return gc, fail("no phenotype rule for a %s and a %s allele in the bundle (%s)", strings.ToLower(f1), strings.ToLower(f2), d.Version)
				}
				row = g.Lookup(h1, h2)
				row.Diplotype = oc.Diplotype
			} else if asGene {
				as, err := g.haplotypeScore(h1)
				if err == nil {
					var as2 activity
					as2, err = g.haplotypeScore(h2)
					as = as.add(as2)
				}
				if err != nil {
					return gc, fail("%v", err)
				}
				row.ActivityScore = as.String()
				row.Phenotype = as.phenotype()
				row.LookupKey = row.ActivityScore
				gc.Warnings = append(gc.Warnings, fmt.Sprintf("%s %s is not in the CPIC diplotype table; activity score %s is the sum of its alleles' activity values", gene, oc.Diplotype, row.ActivityScore))
			} else {
				return gc, fail("not in the %s phenotype table", gene)
			}
		}
		if asGene && oc.ActivityScore != "" {
			as, err := parseActivity(oc.ActivityScore)
			if err != nil {
				return gc, fail("activity score %q: %v", oc.ActivityScore, err)
			}
			if row.ActivityScore != "" && row.ActivityScore != as.String() {
				gc.Warnings = append(gc.Warnings, fmt.Sprintf("%s %s: the lab's activity score %s differs from CPIC's %s; the lab's is used", gene, oc.Diplotype, as, row.ActivityScore))
			}
			row.ActivityScore, row.LookupKey, row.Phenotype = as.String(), as.String(), as.phenotype()
		}
		if !asGene && oc.Phenotype != "" {
			if row.Phenotype != "" && !strings.EqualFold(row.Phenotype, oc.Phenotype) {
				gc.Warnings = append(gc.Warnings, fmt.Sprintf("%s %s: the lab's phenotype %q differs from CPIC's %q; the lab's is used", gene, oc.Diplotype, oc.Phenotype, row.Phenotype))
			}
			row.Phenotype, row.LookupKey = oc.Phenotype, oc.Phenotype
		}
		if asGene && oc.Phenotype != "" && row.Phenotype != "" && !strings.EqualFold(row.Phenotype, oc.Phenotype) {
			gc.Warnings = append(gc.Warnings, fmt.Sprintf("%s %s: the lab's phenotype %q differs from %q given by activity score %s; the activity score is used", gene, oc.Diplotype, oc.Phenotype, row.Phenotype, row.ActivityScore))
		}
		if row.Phenotype == "" {
			return gc, fail("no phenotype or activity score could be assigned")
		}
		name := oc.Diplotype
		if name == "" {
			name = row.Phenotype
		}
		gc.Diplotypes = append(gc.Diplotypes, name)
		gc.Phenotypes = append(gc.Phenotypes, row.Phenotype)
		gc.LookupKeys = append(gc.LookupKeys, row.LookupKey)
		gc.ActivityScores = append(gc.ActivityScores, row.ActivityScore)
	}
	if !asGene {
		gc.ActivityScores = nil
	}
	distinct := gc.DistinctPhenotypes()
	if len(distinct) == 1 {
		gc.Phenotype = distinct[0]
	} else {
		gc.Ambiguous = true
	}
	return gc, nil
}

// activity is an activity score in hundredths; atLeast marks "≥" values
// (copy number ≥3).
type activity struct {
	hundredths int
	atLeast    bool
}

func parseActivity(s string) (activity, error) {
	s = strings.TrimSpace(s)
	var a activity
	if t, ok := strings.CutPrefix(s, "≥"); ok {
		a.atLeast, s = true, t
	} else if t, ok := strings.CutPrefix(s, ">="); ok {
		a.atLeast, s = true, t
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 100 {
		return a, errors.New("not a non-negative number")
	}
	a.hundredths = int(math.Round(f * 100))
	if float64(a.hundredths)/100 != math.Round(f*100)/100 || a.hundredths%25 != 0 {
		return a, errors.New("activity scores are multiples of 0.25")
	}
	return a, nil
}

func (a activity) add(b activity) activity {
	return activity{a.hundredths + b.hundredths, a.atLeast || b.atLeast}
}

// String formats like CPIC's tables: "1.0", "0.25", "≥3.0".
func (a activity) String() string {
	s := strconv.FormatFloat(float64(a.hundredths)/100, 'f', 2, 64)
	if strings.HasSuffix(s, "0") {
		s = s[:len(s)-1]
	}
	if a.atLeast {
		s = "≥" + s
	}
	return s
}

// phenotype applies the CPIC 2019 CYP2D6 consensus: 0 poor, up to 1.0
// intermediate, 1.25–2.25 normal, above 2.25 ultrarapid.
func (a activity) phenotype() string {
	switch {
	case a.hundredths > 225 || (a.atLeast && a.hundredths >= 225):
		return "Ultrarapid Metabolizer"
	case a.hundredths >= 125:
		return "Normal Metabolizer"
	case a.hundredths > 0:
		return "Intermediate Metabolizer"
	}
	return "Poor Metabolizer"
}

// haplotypeScore is the activity of one haplotype: a star allele with an
// optional copy number, or a tandem of them joined by '+'.
func (g *GenePhenotype) haplotypeScore(h string) (activity, error) {
	var total activity
	for _, part := range strings.Split(h, "+") {
		part = strings.TrimSpace(part)
		if v, ok := g.ActivityValues[part]; ok {
			a, err := parseActivity(v)
			if err != nil {
				return total, fmt.Errorf("%s: activity value %q in the table: %v", part, v, err)
			}
			total = total.add(a)
			continue
		}
		if strings.HasSuffix(part, "xN") {
			return total, fmt.Errorf("%s: copy number \"xN\" without a count; write it as %sx2 or %sx≥3", part, strings.TrimSuffix(part, "xN"), strings.TrimSuffix(part, "xN"))
		}
		if !cnForm.MatchString(part) {
			return total, fmt.Errorf("%q is not a star allele the table knows (sub-allele letters, parentheses and hybrid notes must be resolved by the lab)", part)
		}
		base, cn, hasCN := strings.Cut(part, "x")
		v, ok := g.ActivityValues[base]
		if !ok {
			return total, fmt.Errorf("%s: no activity value in the CPIC table", base)
		}
		a, err := parseActivity(v)
		if err != nil {
			return total, fmt.Errorf("%s: activity value %q in the table: %v", base, v, err)
		}
		if hasCN {
			atLeast := strings.HasPrefix(cn, "≥")
			n, _ := strconv.Atoi(strings.TrimPrefix(cn, "≥"))
			if n < 2 {
				return total, fmt.Errorf("%s: copy number %s", part, cn)
			}
			a = activity{a.hundredths * n, atLeast || a.atLeast}
			if a.hundredths == 0 {
				a.atLeast = false
			}
		}
		total = total.add(a)
	}
	return total, nil
}

// WithoutTable returns a copy of g that ignores its imported diplotype
// table and derives everything from allele functions and activity values,
// so the rules can be checked against the table.
func WithoutTable(g *GenePhenotype) *GenePhenotype {
	c := *g
	c.table = nil
	return &c
}
