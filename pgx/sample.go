package pgx

import (
	"fmt"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// Locus is a position on a chromosome; Chrom is in vcf.NormalizeChrom form
// ("10", not "chr10") so "chr"-style and bare files meet the same key.
type Locus struct {
	Chrom string
	Pos   int64
}

func (l Locus) String() string { return fmt.Sprintf("%s:%d", l.Chrom, l.Pos) }

// Call is one sample's genotype at one locus, in VCF terms. It is the
// matcher's input, kept apart from the VCF reader so that the matcher can be
// fed from any source (a test, a database row) and tested without files.
type Call struct {
	// Ref is REF as written in the VCF: the matcher discards a call whose
	// REF does not match the definition, since its allele strings would be
	// in another representation.
	Ref string `json:"ref"`
	// Alleles holds the called allele strings, one per strand (one for a
	// haploid call); "" is a missing allele ('.').
	Alleles []string `json:"alleles"`
	Phased  bool     `json:"phased,omitempty"`
	// PhaseSet is the FORMAT PS value; phased calls in different phase sets
	// are not phased relative to each other.
	PhaseSet string `json:"phaseSet,omitempty"`
	// Note explains why a reader discarded the genotype (Alleles are then
	// all missing); the matcher reports it as a warning.
	Note string `json:"note,omitempty"`
}

// Sample is one sample's calls at the loci of interest. A locus absent from
// Calls is missing data, never reference.
type Sample struct {
	ID    string         `json:"id"`
	Calls map[Locus]Call `json:"-"`
	// Warnings are reader-level notes about this sample's data.
	Warnings []string `json:"warnings,omitempty"`
}

// NewSample returns an empty sample.
func NewSample(id string) *Sample {
	return &Sample{ID: id, Calls: map[Locus]Call{}}
}

// Set records the call at chrom:pos (chrom in any spelling).
func (s *Sample) Set(chrom string, pos int64, c Call) {
	s.Calls[Locus{vcf.NormalizeChrom(chrom), pos}] = c
}

// callFromRecord converts sample i of rec into a Call.
func callFromRecord(rec *vcf.Record, i int) (Call, error) {
	g, err := rec.Genotype(i)
	if err != nil {
		return Call{}, fmt.Errorf("pgx: %w", err)
	}
	all := rec.Alleles()
	c := Call{Ref: rec.Ref, Phased: g.Phased && len(g.Alleles) > 1, Alleles: make([]string, len(g.Alleles))}
	for k, a := range g.Alleles {
		if a >= 0 && a < len(all) {
			c.Alleles[k] = all[a]
		}
	}
	if c.Phased {
		if ps, ok := rec.SampleField(i, "PS"); ok {
			c.PhaseSet = ps
		}
	}
	if len(g.Alleles) == 2 && g.Alleles[0] >= 0 && g.Alleles[1] >= 0 && g.Alleles[0] != g.Alleles[1] {
		if ad, ok := rec.SampleField(i, "AD"); ok {
			depths := strings.Split(ad, ",")
			if len(depths) == len(all) && (depths[g.Alleles[0]] == "0" || depths[g.Alleles[1]] == "0") {
				// PharmCAT discards a heterozygous call whose read depths
				// show only one of the two alleles: the GT is not trusted.
				c.Note = fmt.Sprintf("%s:%d: heterozygous GT but AD %s supports one allele; genotype discarded", rec.Chrom, rec.Pos, ad)
				c.Alleles = make([]string, len(g.Alleles))
			}
		}
	}
	return c, nil
}
