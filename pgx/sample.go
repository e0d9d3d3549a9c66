package pgx

import (
	"fmt"

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
	// Warnings are notes about this sample's data that no one position
	// explains; they are reported with every gene.
	Warnings []string `json:"warnings,omitempty"`
	// notes are the reader's notes per position (discarded genotypes,
	// partial calls, preprocessor filters...), reported with the gene that
	// defines the position.
	notes map[Locus][]string
}

// PositionNotes returns what the reader noted about this sample at l.
func (s *Sample) PositionNotes(l Locus) []string { return s.notes[l] }

// NotedPositions returns the positions with notes, in no order.
func (s *Sample) NotedPositions() []Locus {
	out := make([]Locus, 0, len(s.notes))
	for l := range s.notes {
		out = append(out, l)
	}
	return out
}

// Note records a note about this sample at chrom:pos.
func (s *Sample) Note(chrom string, pos int64, msg string) {
	if s.notes == nil {
		s.notes = map[Locus][]string{}
	}
	l := Locus{vcf.NormalizeChrom(chrom), pos}
	s.notes[l] = append(s.notes[l], msg)
}

// EffectivelyPhased reports whether the sample's calls at loci leave only
// one way to assign alleles to strands: every heterozygous call is phased in
// one block, or there is at most one heterozygous call that is not. Loci
// without a call are skipped.
func (s *Sample) EffectivelyPhased(loci []Locus) bool {
	units := map[string]bool{}
	free := 0
	for _, l := range loci {
		c, ok := s.Calls[l]
		if !ok || len(c.Alleles) < 2 || c.Alleles[0] == c.Alleles[1] {
			continue
		}
		switch {
		case c.Phased:
			units["ps:"+c.PhaseSet] = true
		default:
			free++
		}
	}
	return free+len(units) <= 1
}

// NewSample returns an empty sample.
func NewSample(id string) *Sample {
	return &Sample{ID: id, Calls: map[Locus]Call{}}
}

// Set records the call at chrom:pos (chrom in any spelling).
func (s *Sample) Set(chrom string, pos int64, c Call) {
	s.Calls[Locus{vcf.NormalizeChrom(chrom), pos}] = c
}
