package prs

import "fmt"

// MissingPolicy says what a missing genotype contributes to a score.
type MissingPolicy string

const (
	// MissingNone sums over non-missing genotypes only (plink2
	// no-mean-imputation). The default, because it makes a person's score a
	// function of their own genotypes and the scoring file, nothing else.
	MissingNone MissingPolicy = "none"
	// MissingFreq fills a missing genotype with its expectation under
	// Hardy–Weinberg at the score's own allelefrequency_effect: a number
	// fixed in the scoring file, never one computed from the batch, so a
	// recalculation years later gives the same answer.
	MissingFreq MissingPolicy = "freq"
)

// DosageSource says where a dosage comes from.
type DosageSource string

const (
	// DosageGT counts the effect allele in the hard call; DS is used only
	// for records that have no GT.
	DosageGT DosageSource = "gt"
	// DosageDS prefers the imputed dosage (FORMAT/DS, biallelic records),
	// falling back to GT for a sample whose DS is missing.
	DosageDS DosageSource = "ds"
)

// AmbiguousPolicy says what to do with strand-ambiguous SNVs (A/T, C/G).
type AmbiguousPolicy string

const (
	// AmbiguousKeep scores them. Right when the score is harmonised to the
	// same build as the genotypes, both on the forward strand: dropping 31
	// of PRS313's 313 variants would change the score for nothing.
	AmbiguousKeep AmbiguousPolicy = "keep"
	// AmbiguousExclude drops them, as pgsc_calc does by default; use it to
	// reproduce pgsc_calc results.
	AmbiguousExclude AmbiguousPolicy = "exclude"
)

// Options choose how scores are computed. The zero value is the clinical
// default: no imputation, GT dosages, ambiguous SNVs kept, exact alleles.
type Options struct {
	Missing   MissingPolicy
	Dosage    DosageSource
	Ambiguous AmbiguousPolicy
	// TrimAlleles also matches indels that differ only by a shared suffix
	// (score AAAAGAAAG/AAAAG against VCF A/AAAAG at the same position).
	// Off by default so that results stay comparable with pgsc_calc and
	// plink2, which match alleles exactly.
	TrimAlleles bool
}

// Policy is the record of the options a result was computed under. It is
// stored with every result so that a score can be audited and recomputed.
type Policy struct {
	Missing   MissingPolicy   `json:"missing"`
	Dosage    DosageSource    `json:"dosage"`
	Ambiguous AmbiguousPolicy `json:"ambiguous"`
	// FreqSource names where imputation frequencies came from; empty
	// when nothing is imputed.
	FreqSource  string `json:"freq_source,omitempty"`
	TrimAlleles bool   `json:"trim_alleles,omitempty"`
}

func (o Options) policy() (Policy, error) {
	p := Policy{Missing: o.Missing, Dosage: o.Dosage, Ambiguous: o.Ambiguous, TrimAlleles: o.TrimAlleles}
	if p.Missing == "" {
		p.Missing = MissingNone
	}
	if p.Dosage == "" {
		p.Dosage = DosageGT
	}
	if p.Ambiguous == "" {
		p.Ambiguous = AmbiguousKeep
	}
	switch p.Missing {
	case MissingNone:
	case MissingFreq:
		p.FreqSource = "allelefrequency_effect"
	default:
		return p, fmt.Errorf("prs: missing policy %q: want %q or %q", p.Missing, MissingNone, MissingFreq)
	}
	if p.Dosage != DosageGT && p.Dosage != DosageDS {
		return p, fmt.Errorf("prs: dosage source %q: want %q or %q", p.Dosage, DosageGT, DosageDS)
	}
	if p.Ambiguous != AmbiguousKeep && p.Ambiguous != AmbiguousExclude {
		return p, fmt.Errorf("prs: ambiguous policy %q: want %q or %q", p.Ambiguous, AmbiguousKeep, AmbiguousExclude)
	}
	return p, nil
}
