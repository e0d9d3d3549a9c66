package risk

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// VariantList is a list of pathogenic variants whose carriers are referred
// to clinical genetics (the monogenic bundle's pathogenic.tsv). It is
// tab-separated: #key=value header lines (list_version, genome_build,
// source), a column header, then one variant per row with a source for
// each:
//
//	gene chrom pos ref alt hgvs significance source
//
// Positions and alleles are VCF-style (1-based, left-aligned, indels with
// the preceding base).
type VariantList struct {
	Version  string
	Build    string
	Source   string
	Variants []PathogenicVariant
}

// PathogenicVariant is one listed variant.
type PathogenicVariant struct {
	Line         int    `json:"line"`
	Gene         string `json:"gene"`
	Chrom        string `json:"chrom"` // vcf.NormalizeChrom form
	Pos          int    `json:"pos"`
	Ref          string `json:"ref"`
	Alt          string `json:"alt"`
	HGVS         string `json:"hgvs"`
	Significance string `json:"significance"`
	Source       string `json:"source"`
}

// Label names the variant for people: gene and HGVS.
func (v PathogenicVariant) Label() string { return v.Gene + " " + v.HGVS }

var listColumns = []string{"gene", "chrom", "pos", "ref", "alt", "hgvs", "significance", "source"}

// ParseVariantList reads a pathogenic-variant list; name is used in errors.
func ParseVariantList(r io.Reader, name string) (*VariantList, error) {
	l := &VariantList{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	fail := func(line int, format string, a ...any) error {
		return fmt.Errorf("variant list %s:%d: %s", name, line, fmt.Sprintf(format, a...))
	}
	header := false
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "#"):
			k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "list_version":
				l.Version = strings.TrimSpace(v)
			case "genome_build":
				l.Build = strings.TrimSpace(v)
			case "source":
				l.Source = strings.TrimSpace(v)
			}
			continue
		}
		f := strings.Split(line, "\t")
		if !header {
			if strings.Join(f, "\t") != strings.Join(listColumns, "\t") {
				return nil, fail(n, "column header %q, want %q", line, strings.Join(listColumns, "\t"))
			}
			header = true
			continue
		}
		if len(f) != len(listColumns) {
			return nil, fail(n, "%d tab-separated fields, want %d", len(f), len(listColumns))
		}
		pos, err := strconv.Atoi(f[2])
		if err != nil || pos <= 0 {
			return nil, fail(n, "pos %q is not a positive integer", f[2])
		}
		v := PathogenicVariant{Line: n, Gene: f[0], Chrom: vcf.NormalizeChrom(f[1]), Pos: pos,
			Ref: strings.ToUpper(f[3]), Alt: strings.ToUpper(f[4]), HGVS: f[5], Significance: f[6], Source: f[7]}
		switch {
		case v.Gene == "" || v.Chrom == "":
			return nil, fail(n, "gene and chrom are required")
		case !bases(v.Ref) || !bases(v.Alt) || v.Ref == v.Alt:
			return nil, fail(n, "ref %q and alt %q must be different A/C/G/T strings", f[3], f[4])
		case v.Source == "" || v.Significance == "":
			return nil, fail(n, "every variant needs its significance and a source")
		}
		key := fmt.Sprintf("%s:%d:%s:%s", v.Chrom, v.Pos, v.Ref, v.Alt)
		if prev, dup := seen[key]; dup {
			return nil, fail(n, "%s is listed again (first at line %d)", key, prev)
		}
		seen[key] = n
		l.Variants = append(l.Variants, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("variant list %s: %w", name, err)
	}
	switch {
	case !header:
		return nil, fmt.Errorf("variant list %s: no column header", name)
	case len(l.Variants) == 0:
		return nil, fmt.Errorf("variant list %s: no variants", name)
	case l.Version == "" || l.Build == "":
		return nil, fmt.Errorf("variant list %s: #list_version and #genome_build are required", name)
	}
	return l, nil
}

func bases(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c != 'A' && c != 'C' && c != 'G' && c != 'T' {
			return false
		}
	}
	return true
}

// Observation is what the genotypes say about one listed variant.
type Observation struct {
	// Assessed is false when the position is absent from the genotypes,
	// written with other alleles, or not called for the person.
	Assessed bool
	Copies   int // copies of the pathogenic allele (0, 1, 2)
	Detail   string
}

// Carrier statuses.
const (
	StatusCarrier    = "carrier"
	StatusNonCarrier = "no listed variant found"
	StatusIncomplete = "no listed variant found; some not assessed"
)

// Finding is one listed variant's result.
type Finding struct {
	PathogenicVariant
	Assessed bool   `json:"assessed"`
	Copies   int    `json:"copies"`
	Detail   string `json:"detail,omitempty"`
}

// CarrierResult is the carrier status over a list.
type CarrierResult struct {
	Status      string    `json:"status"`
	ListVersion string    `json:"list_version"`
	Carried     []Finding `json:"carried,omitempty"`
	NotAssessed []Finding `json:"not_assessed,omitempty"`
	Assessed    int       `json:"assessed"`
	Listed      int       `json:"listed"`
}

// Labels names the carried variants.
func (r CarrierResult) Labels() []string {
	out := make([]string, len(r.Carried))
	for i, f := range r.Carried {
		out[i] = f.Label()
	}
	return out
}

// Status combines observations (one per listed variant, in list order).
// One carried variant makes a carrier, whatever was not assessed; no
// carried variant is a negative result only when every variant was
// assessed.
func (l *VariantList) Status(obs []Observation) CarrierResult {
	r := CarrierResult{ListVersion: l.Version, Listed: len(l.Variants)}
	for i, v := range l.Variants {
		o := obs[i]
		f := Finding{PathogenicVariant: v, Assessed: o.Assessed, Copies: o.Copies, Detail: o.Detail}
		switch {
		case !o.Assessed:
			r.NotAssessed = append(r.NotAssessed, f)
		case o.Copies > 0:
			r.Assessed++
			r.Carried = append(r.Carried, f)
		default:
			r.Assessed++
		}
	}
	switch {
	case len(r.Carried) > 0:
		r.Status = StatusCarrier
	case len(r.NotAssessed) > 0:
		r.Status = StatusIncomplete
	default:
		r.Status = StatusNonCarrier
	}
	return r
}
