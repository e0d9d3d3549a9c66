package pgx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// lowestFunctionGenes are genes PharmCAT calls with "lowest function" logic
// when the data is not effectively phased.
var lowestFunctionGenes = map[string]bool{"DPYD": true, "RYR1": true}

// GeneCall is the result for one sample and one gene. NO_CALL is a
// first-class result: Diplotypes is empty and NoCallReason says why.
type GeneCall struct {
	Gene string `json:"gene"`
	// Diplotypes lists every reported diplotype, in PharmCAT's order; more
	// than one means the data cannot tell them apart (never a silent pick).
	Diplotypes []string    `json:"diplotypes"`
	Matches    []Diplotype `json:"matches,omitempty"`
	// Phenotypes runs parallel to Diplotypes ("" where no table covers
	// the gene).
	Phenotypes []string `json:"phenotypes,omitempty"`
	// Phenotype is set when every diplotype gives the same phenotype;
	// otherwise Ambiguous is true and Phenotypes must be shown.
	Phenotype    string   `json:"phenotype,omitempty"`
	Ambiguous    bool     `json:"ambiguous,omitempty"`
	NoCallReason string   `json:"noCallReason,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	// MissingPositions names the definition positions without data; they
	// were not assumed reference.
	MissingPositions []string  `json:"missingPositions,omitempty"`
	Phased           bool      `json:"phased"`
	MatchMode        MatchMode `json:"matchMode"`
	Combination      bool      `json:"combination,omitempty"`
	DataVersion      string    `json:"dataVersion"`
}

// Called reports whether the gene got at least one diplotype.
func (g GeneCall) Called() bool { return len(g.Diplotypes) > 0 }

// DistinctPhenotypes returns the phenotypes of the call without repeats, in
// diplotype order.
func (g GeneCall) DistinctPhenotypes() []string {
	var out []string
	for _, p := range g.Phenotypes {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// SampleCalls is every gene call of one sample.
type SampleCalls struct {
	Sample string     `json:"sample"`
	Calls  []GeneCall `json:"calls"`
}

// Result is the outcome of calling a VCF.
type Result struct {
	DataVersion string        `json:"dataVersion"`
	Build       string        `json:"build,omitempty"`
	Samples     []SampleCalls `json:"samples"`
}

// Caller calls diplotypes with one set of definitions and options; it is
// safe for concurrent use.
type Caller struct {
	defs    *Definitions
	opts    Options
	pheno   *PhenotypeData
	version string
}

// NewCaller returns a Caller. pheno may be nil (no phenotypes are
// assigned); Builtin supplies the bundled CYP2C19 table.
func NewCaller(defs *Definitions, pheno *PhenotypeData, opts Options) *Caller {
	if opts.Mode == "" {
		opts.Mode = MatchTop
	}
	v := defs.Version
	if pheno != nil && pheno.Version != "" && pheno.Version != v {
		v += "; phenotypes " + pheno.Version
	}
	return &Caller{defs: defs, opts: opts, pheno: pheno, version: v}
}

// DataVersion is the version string recorded with every result.
func (c *Caller) DataVersion() string { return c.version }

// ErrUnknownGene is returned for a gene with no definition.
var ErrUnknownGene = errors.New("pgx: no definition for gene")

// ErrBuild is returned when the VCF's genome build differs from the
// definitions'.
var ErrBuild = errors.New("pgx: genome build mismatch")

func (c *Caller) genes(genes []string) ([]string, error) {
	if len(genes) == 0 {
		return c.defs.GeneNames(), nil
	}
	for _, g := range genes {
		if _, ok := c.defs.Genes[g]; !ok {
			return nil, fmt.Errorf("%w %s (have %s)", ErrUnknownGene, g, strings.Join(c.defs.GeneNames(), ", "))
		}
	}
	return genes, nil
}

// CallSample calls genes (all defined genes when empty) for one sample.
func (c *Caller) CallSample(s *Sample, genes []string) ([]GeneCall, error) {
	gs, err := c.genes(genes)
	if err != nil {
		return nil, err
	}
	out := make([]GeneCall, 0, len(gs))
	for _, g := range gs {
		out = append(out, c.callGene(c.defs.Genes[g], s))
	}
	return out, nil
}

func (c *Caller) callGene(def *GeneDefinition, s *Sample) GeneCall {
	ex := c.defs.Exemptions[def.Gene]
	gd := prepare(def, ex, s)
	call := GeneCall{
		Gene:             def.Gene,
		Diplotypes:       []string{},
		MatchMode:        c.opts.Mode,
		DataVersion:      c.version,
		Warnings:         append(slices.Clone(s.Warnings), gd.warnings...),
		MissingPositions: gd.missing,
		Phased:           gd.phased && len(gd.sites) > 0,
	}
	if gd.noCall != "" {
		call.NoCallReason = gd.noCall
		return call
	}
	if lowestFunctionGenes[def.Gene] {
		if pairs, err := gd.strandPairs(); err == nil && len(pairs) > 1 {
			call.Warnings = append(call.Warnings, def.Gene+" data is not effectively phased: PharmCAT reports such samples as a list of variants with lowest-function logic, which this matcher does not implement; treat the diplotypes as provisional")
		}
	}
	dips, err := gd.callDiplotypes(ex, c.opts.Mode)
	if err != nil {
		call.NoCallReason = err.Error()
		return call
	}
	if len(dips) == 0 && c.opts.Combinations {
		dips, err = gd.callCombinations(ex, c.opts.Mode)
		if err != nil {
			call.NoCallReason = err.Error()
			return call
		}
		call.Combination = len(dips) > 0
	}
	if len(dips) == 0 {
		call.NoCallReason = "no pair of defined alleles explains the observed genotypes"
		if len(gd.missing) > 0 {
			call.NoCallReason += fmt.Sprintf(" (%d position(s) missing)", len(gd.missing))
		}
		return call
	}
	call.Matches = dips
	for _, d := range dips {
		call.Diplotypes = append(call.Diplotypes, d.Name)
	}
	if c.pheno != nil {
		c.pheno.assign(&call)
	}
	if len(dips) > 1 && c.opts.Mode == MatchTop {
		call.Warnings = append(call.Warnings, fmt.Sprintf("%d diplotypes tie at the top score; the data cannot tell them apart, so all are reported", len(dips)))
	}
	return call
}

// CallVCF reads every record of r and calls genes (all defined genes when
// empty) for every sample, in header order. Only definition positions are
// kept, so memory grows with samples × positions of interest, not with the
// file. It fails on the first malformed record and on a build mismatch,
// returning no partial result.
func (c *Caller) CallVCF(ctx context.Context, r *vcf.Reader, genes []string) (*Result, error) {
	gs, err := c.genes(genes)
	if err != nil {
		return nil, err
	}
	h := r.Header()
	if err := c.checkBuild(h.Build); err != nil {
		return nil, err
	}
	want := map[Locus]string{} // locus -> definition REF
	for _, g := range gs {
		def := c.defs.Genes[g]
		ch := vcf.NormalizeChrom(def.Chromosome)
		for _, v := range def.Variants {
			want[Locus{ch, v.Position}] = v.Ref
		}
	}
	samples := make([]*Sample, len(h.Samples))
	for i, id := range h.Samples {
		samples[i] = NewSample(id)
	}
	seen := map[Locus]int{}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("pgx: call VCF: %w", err)
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pgx: call VCF: %w", err)
		}
		loc := Locus{vcf.NormalizeChrom(rec.Chrom), int64(rec.Pos)}
		if _, ok := want[loc]; !ok {
			continue
		}
		seen[loc]++
		if seen[loc] == 2 {
			// A split multi-allelic site: the records cannot be merged
			// safely (each says 0 for the other's ALT), so the position is
			// treated as missing, never as reference.
			for _, s := range samples {
				delete(s.Calls, loc)
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s appears on several VCF lines (split multi-allelic site?); position ignored — join with bcftools norm -m+", loc))
			}
			continue
		}
		if seen[loc] > 2 {
			continue
		}
		for i, s := range samples {
			call, err := callFromRecord(rec, i)
			if err != nil {
				return nil, err
			}
			s.Calls[loc] = call
		}
	}
	res := &Result{DataVersion: c.version, Build: h.Build}
	for _, s := range samples {
		calls, err := c.CallSample(s, gs)
		if err != nil {
			return nil, err
		}
		res.Samples = append(res.Samples, SampleCalls{Sample: s.ID, Calls: calls})
	}
	return res, nil
}

// checkBuild refuses a VCF whose header names another build than the
// definitions: positions would silently point at other bases.
func (c *Caller) checkBuild(build string) error {
	if build == "" {
		return nil
	}
	for _, g := range c.defs.Genes {
		if g.GenomeBuild != "" && !strings.HasPrefix(g.GenomeBuild, build) {
			return fmt.Errorf("%w: VCF is %s, %s definitions are %s", ErrBuild, build, g.Gene, g.GenomeBuild)
		}
	}
	return nil
}
