package pgx

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/geneguard/geneguard/vcf"
)

// GeneCall is the result for one sample and one gene. NO_CALL is a
// first-class result: Diplotypes is empty and NoCallReason says why.
type GeneCall struct {
	Gene string `json:"gene"`
	// Diplotypes lists every reported diplotype, in PharmCAT's order; more
	// than one means the data cannot tell them apart (never a silent pick).
	Diplotypes []string    `json:"diplotypes"`
	Matches    []Diplotype `json:"matches,omitempty"`
	// HaplotypeList is true when Diplotypes holds single haplotypes, not
	// diplotypes: PharmCAT's answer for DPYD data that is not effectively
	// phased is the list of alleles found ("X (homozygous)" when on both
	// strands), from which the lowest-function pair in Recommended is taken.
	HaplotypeList bool `json:"haplotypeList,omitempty"`
	// Recommended holds the diplotypes that phenotypes and recommendations
	// are looked up by when they differ from Diplotypes: DPYD's
	// lowest-function pair (the lowest-activity allele of each strand, or
	// the two lowest of an unphased list), and SLCO1B1 inferred from
	// rs4149056 alone when no diplotype fits. Inferred explains it.
	Recommended []string `json:"recommendedDiplotypes,omitempty"`
	Inferred    string   `json:"inferred,omitempty"`
	// Phenotypes runs parallel to LookupDiplotypes ("" where no table
	// covers the gene).
	Phenotypes []string `json:"phenotypes,omitempty"`
	// ActivityScores runs parallel to LookupDiplotypes for activity-score
	// genes.
	ActivityScores []string `json:"activityScores,omitempty"`
	// LookupKeys runs parallel to LookupDiplotypes: what guideline rows
	// are keyed by (the phenotype, or the activity score).
	LookupKeys []string `json:"lookupKeys,omitempty"`
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
	// OutsideCall marks a call taken from a lab's outside-call file rather
	// than matched from the VCF.
	OutsideCall bool   `json:"outsideCall,omitempty"`
	DataVersion string `json:"dataVersion"`

	// recommended runs parallel to Recommended, with the haplotypes.
	recommended []Diplotype
}

// LookupDiplotypes returns the diplotypes phenotypes and recommendations
// are keyed by: Recommended when set, else Diplotypes.
func (g GeneCall) LookupDiplotypes() []string {
	if len(g.Recommended) > 0 {
		return g.Recommended
	}
	if g.HaplotypeList {
		return nil
	}
	return g.Diplotypes
}

// HasResult reports whether the call can be looked up: the matcher called
// it, or a diplotype was inferred (DPYD lowest function, SLCO1B1 rs4149056).
func (g GeneCall) HasResult() bool { return len(g.LookupDiplotypes()) > 0 }

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
	// Warnings are about the file as a whole.
	Warnings []string `json:"warnings,omitempty"`
}

// Caller calls diplotypes with one set of definitions and options; it is
// safe for concurrent use.
type Caller struct {
	defs    *Definitions
	opts    Options
	pheno   *PhenotypeData
	version string
	// candCache holds, per gene, candidate allele lists by the set of
	// positions observed (see geneData.candidates).
	candCache map[string]*sync.Map
	// masks holds, per gene, the acceptance sets of bitset matching.
	masks map[string]*geneMasks
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
	cc := map[string]*sync.Map{}
	ms := map[string]*geneMasks{}
	for g := range defs.Genes {
		cc[g] = &sync.Map{}
		ms[g] = &geneMasks{}
	}
	return &Caller{defs: defs, opts: opts, pheno: pheno, version: v, candCache: cc, masks: ms}
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
	return c.callGeneFrom(def, mapSource{s}, s.Warnings)
}

// callGeneFrom calls def for the sample src reads; sampleWarnings are the
// sample's own (Sample.Warnings).
func (c *Caller) callGeneFrom(def *GeneDefinition, src sampleSource, sampleWarnings []string) GeneCall {
	ex := c.defs.Exemptions[def.Gene]
	gd := prepareFrom(def, ex, src)
	if cc, ok := c.candCache[def.Gene]; ok {
		gd.candCache = cc
		gd.masks = c.masks[def.Gene]
	}
	call := GeneCall{
		Gene:             def.Gene,
		Diplotypes:       []string{},
		MatchMode:        c.opts.Mode,
		DataVersion:      c.version,
		Warnings:         append(slices.Clone(sampleWarnings), gd.warnings...),
		MissingPositions: gd.missing,
		Phased:           gd.phased && len(gd.sites) > 0,
	}
	if gd.noCall != "" {
		call.NoCallReason = gd.noCall
		if def.Gene == slco1b1Gene {
			gd.slco1b1Fallback(&call)
			if c.pheno != nil && len(call.Recommended) > 0 {
				c.pheno.assign(&call)
			}
		}
		return call
	}
	if def.Gene == dpydGene {
		if r := gd.callDPYD(ex, c.pheno); r != nil {
			r.apply(&call)
			if c.pheno != nil {
				c.pheno.assign(&call)
			}
			return call
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
		if def.Gene == slco1b1Gene {
			gd.slco1b1Fallback(&call)
			if c.pheno != nil && len(call.Recommended) > 0 {
				c.pheno.assign(&call)
			}
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
// kept, three bytes per sample and position, so memory grows with samples ×
// positions of interest, not with the file. Samples are then called in
// parallel on every CPU; samples whose genotypes at a gene's positions are
// identical share one computation (biobank cohorts repeat the common
// diplotypes many times over). It fails on the first malformed record and on
// a build mismatch, returning no partial result.
func (c *Caller) CallVCF(ctx context.Context, r *vcf.Reader, genes []string) (*Result, error) {
	gs, err := c.genes(genes)
	if err != nil {
		return nil, err
	}
	if err := c.checkBuild(r.Header().Build); err != nil {
		return nil, err
	}
	want := map[Locus]*Variant{}
	for _, g := range gs {
		addPositions(want, c.defs.Genes[g])
	}
	t, err := readTable(ctx, r, want)
	if err != nil {
		return nil, err
	}
	return c.callTable(ctx, t, gs)
}

// memo shares gene calls between samples whose genotypes at the gene's
// positions are identical, across workers.
type memo struct {
	mu sync.RWMutex
	m  map[string]GeneCall
}

func (m *memo) get(key []byte) (GeneCall, bool) {
	m.mu.RLock()
	gc, ok := m.m[string(key)]
	m.mu.RUnlock()
	return gc, ok
}

func (m *memo) put(key []byte, gc GeneCall) {
	m.mu.Lock()
	m.m[string(key)] = gc
	m.mu.Unlock()
}

// callTable calls genes for every sample of t, on every CPU.
func (c *Caller) callTable(ctx context.Context, t *table, gs []string) (*Result, error) {
	res := &Result{DataVersion: c.version, Build: t.build, Warnings: t.warnings, Samples: make([]SampleCalls, len(t.samples))}
	plans := make([]genePlan, len(gs))
	memos := make([]memo, len(gs))
	for k, g := range gs {
		plans[k] = c.plan(t, c.defs.Genes[g])
		memos[k].m = map[string]GeneCall{}
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(t.samples)))
	// Batches small enough that every worker gets several, large enough
	// that handing them out costs nothing.
	batch := max(1, min(64, len(t.samples)/(4*workers)))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := make([]byte, 0, 256)
			var scratch [2]string
			for {
				if err := ctx.Err(); err != nil {
					errs[w] = fmt.Errorf("pgx: call VCF: %w", err)
					return
				}
				lo := int(next.Add(int64(batch))) - batch
				if lo >= len(t.samples) {
					return
				}
				hi := min(lo+batch, len(t.samples))
				slab := make([]GeneCall, (hi-lo)*len(plans))
				for i := lo; i < hi; i++ {
					calls := slab[:len(plans):len(plans)]
					slab = slab[len(plans):]
					for k := range plans {
						p := &plans[k]
						var ok bool
						key, ok = p.key(t, i, key[:0])
						if ok {
							if gc, hit := memos[k].get(key); hit {
								calls[k] = gc
								continue
							}
						}
						calls[k] = c.callGeneFrom(p.def, tableSource{p, i, &scratch}, nil)
						if ok {
							memos[k].put(key, calls[k])
						}
					}
					res.Samples[i] = SampleCalls{Sample: t.samples[i], Calls: calls}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// genePlan is what CallVCF needs to call one gene: its loci and the columns
// read for them.
type genePlan struct {
	def  *GeneDefinition
	loci []Locus
	cols []*column // parallel to loci; nil when the VCF lacks the position
	// posNotes and sampleNotes run parallel to loci: the table's notes
	// there for every sample, and per sample.
	posNotes    [][]string
	sampleNotes []map[int][]string
	// noted lists the per-sample notes at the gene's positions: samples
	// with notes are not shared with others.
	noted []map[int][]string
}

func (c *Caller) plan(t *table, def *GeneDefinition) genePlan {
	p := genePlan{def: def}
	ch := vcf.NormalizeChrom(def.Chromosome)
	for _, v := range def.Variants {
		l := Locus{ch, v.Position}
		p.loci = append(p.loci, l)
		p.cols = append(p.cols, t.cols[l])
		p.posNotes = append(p.posNotes, t.posNotes[l])
		p.sampleNotes = append(p.sampleNotes, t.sampleNotes[l])
		if m := t.sampleNotes[l]; m != nil {
			p.noted = append(p.noted, m)
		}
	}
	return p
}

// tableSource reads sample i of the table a plan was made for, as
// table.sample would materialise it.
type tableSource struct {
	p *genePlan
	i int
	// scratch backs the alleles of the Call returned last (prepareFrom
	// copies them before asking for the next).
	scratch *[2]string
}

func (s tableSource) call(vi int, _ Locus) (Call, bool) {
	col := s.p.cols[vi]
	if col == nil {
		return Call{}, false
	}
	return col.callInto(s.i, s.scratch[:0]), true
}

func (s tableSource) notes(vi int, _ Locus) []string {
	n := s.p.posNotes[vi]
	if sn := s.p.sampleNotes[vi][s.i]; len(sn) > 0 {
		n = append(slices.Clone(n), sn...)
	}
	return n
}

// key appends to b the encoding of sample i's genotypes at the gene's
// positions; ok is false when the sample has notes of its own there.
func (p *genePlan) key(t *table, i int, b []byte) ([]byte, bool) {
	for _, m := range p.noted {
		if len(m[i]) > 0 {
			return b, false
		}
	}
	for _, col := range p.cols {
		if col == nil {
			b = append(b, 0xfe, 0xfe, 0xfe) // no allele index is -2
			continue
		}
		g := col.gts[i]
		b = append(b, byte(g.a), byte(g.b), g.flags)
		if col.ps != nil {
			if ps, ok := col.ps[i]; ok {
				b = append(b, ps...)
				b = append(b, 0)
			}
		}
	}
	return b, true
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
