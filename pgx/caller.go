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
	return c.callGeneFrom(def, mapSource{s}, s.Warnings, nil)
}

// callGeneFrom calls def for the sample src reads; sampleWarnings are the
// sample's own (Sample.Warnings). sites, when not nil, is scratch space for
// the sample's sites (nothing refers to it once the call returns).
func (c *Caller) callGeneFrom(def *GeneDefinition, src sampleSource, sampleWarnings []string, sites []site) GeneCall {
	ex := c.defs.Exemptions[def.Gene]
	gd := prepareFrom(def, ex, src, sites, c.masks[def.Gene])
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
	run := c.newGeneRun(ctx, gs, len(r.Header().Samples))
	t, err := readTableSeen(ctx, r, want, run.seen)
	if err != nil {
		run.abort()
		return nil, err
	}
	return run.finish(t)
}

// callTable calls genes for every sample of t, on every CPU.
func (c *Caller) callTable(ctx context.Context, t *table, gs []string) (*Result, error) {
	run := c.newGeneRun(ctx, gs, len(t.samples))
	return run.finish(t)
}

// geneRun calls genes for every sample of a table while it is being read.
// Samples whose genotypes at a gene's positions are identical (and who have
// no reader notes of their own there) form one class and share one call: a
// biobank cohort repeats the common diplotypes many times over.
//
// A gene is handed to the workers as soon as every one of its positions has
// had a record (in a file sorted by position, when the reader has passed
// it), with a plan made then: the columns and notes of its positions. A
// later record at one of them (an unsorted file, a duplicate line) makes
// the gene dirty, and it is planned and called again once the file is read;
// so the result is the one calling the complete table would give.
type geneRun struct {
	c       *Caller
	ctx     context.Context
	gs      []string
	workers int
	genes   []*geneClasses // the latest run of each gene
	// rows holds each sample's calls, filled in gene by gene as each
	// gene's calls are done.
	rows [][]GeneCall

	// The reader's side.
	geneOf     map[Locus][]int // position -> genes defining it
	left       []int           // per gene, positions without a record yet
	recorded   map[Locus]bool
	dispatched []bool
	dirty      []bool

	// The workers' side.
	q       taskQueue
	pending sync.WaitGroup // tasks queued or running
	done    sync.WaitGroup // workers
	stopped atomic.Bool
}

// geneClasses is one gene's run: its plan, each sample's class, each
// class's first sample (its representative) and call.
type geneClasses struct {
	k     int // index in geneRun.gs
	plan  genePlan
	cls   []int32
	reps  []int32
	calls []GeneCall
	// chunksLeft counts the tasks still calling classes; the last one
	// queues the filling of the rows when fill is set (a gene's first
	// run; a run made after the end of the file fills them in finish,
	// after every earlier run's filling is over).
	chunksLeft atomic.Int32
	fill       bool
}

// classChunk is how many classes one task calls; rowChunk how many
// samples' rows one task fills.
const (
	classChunk = 16
	rowChunk   = 512
)

func (c *Caller) newGeneRun(ctx context.Context, gs []string, nSamples int) *geneRun {
	r := &geneRun{
		c: c, ctx: ctx, gs: gs,
		workers:    max(1, min(runtime.GOMAXPROCS(0), nSamples)),
		genes:      make([]*geneClasses, len(gs)),
		geneOf:     map[Locus][]int{},
		left:       make([]int, len(gs)),
		recorded:   map[Locus]bool{},
		dispatched: make([]bool, len(gs)),
		dirty:      make([]bool, len(gs)),
	}
	r.q.cond.L = &r.q.mu
	// The rows, carved from one slab per 64 samples.
	r.rows = make([][]GeneCall, nSamples)
	for lo := 0; lo < nSamples; lo += 64 {
		hi := min(lo+64, nSamples)
		slab := make([]GeneCall, (hi-lo)*len(gs))
		for i := lo; i < hi; i++ {
			r.rows[i] = slab[:len(gs):len(gs)]
			slab = slab[len(gs):]
		}
	}
	for k, g := range gs {
		def := c.defs.Genes[g]
		ch := vcf.NormalizeChrom(def.Chromosome)
		for _, v := range def.Variants {
			l := Locus{ch, v.Position}
			if !slices.Contains(r.geneOf[l], k) {
				r.geneOf[l] = append(r.geneOf[l], k)
				r.left[k]++
			}
		}
	}
	for range r.workers {
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			sites := make([]site, 0, 128)
			for {
				f, ok := r.q.pop()
				if !ok {
					return
				}
				if !r.stopped.Load() && r.ctx.Err() == nil {
					f(sites)
				}
				r.pending.Done()
			}
		}()
	}
	return r
}

// seen is readRecords' callback: a record at l has been applied to t.
func (r *geneRun) seen(t *table, l Locus) {
	ks := r.geneOf[l]
	if !r.recorded[l] {
		r.recorded[l] = true
		for _, k := range ks {
			if r.left[k]--; r.left[k] == 0 {
				r.dispatch(t, k)
			}
		}
		return
	}
	for _, k := range ks {
		if r.dispatched[k] {
			r.dirty[k] = true
		}
	}
}

// dispatch plans gene k on t as it is now and queues its calls.
func (r *geneRun) dispatch(t *table, k int) {
	g := &geneClasses{k: k, plan: r.c.plan(t, r.c.defs.Genes[r.gs[k]]), fill: !r.dispatched[k]}
	if t.published == nil {
		t.published = map[Locus]bool{}
	}
	for _, l := range g.plan.loci {
		t.published[l] = true
	}
	r.genes[k], r.dispatched[k], r.dirty[k] = g, true, false
	n := len(t.samples)
	r.push(func([]site) {
		g.cls, g.reps = g.plan.classes(n)
		g.plan.prepareOutcomes(g.reps)
		g.calls = make([]GeneCall, len(g.reps))
		chunks := (len(g.reps) + classChunk - 1) / classChunk
		g.chunksLeft.Store(int32(chunks))
		if chunks == 0 && g.fill {
			r.queueFill(g)
		}
		for lo := 0; lo < len(g.reps); lo += classChunk {
			hi := min(lo+classChunk, len(g.reps))
			r.push(func(sites []site) {
				for cl := lo; cl < hi; cl++ {
					g.calls[cl] = r.c.callGeneFrom(g.plan.def, tableSource{&g.plan, int(g.reps[cl])}, nil, sites)
				}
				if g.chunksLeft.Add(-1) == 0 && g.fill {
					r.queueFill(g)
				}
			})
		}
	})
}

// queueFill queues the filling of g's column of the rows.
func (r *geneRun) queueFill(g *geneClasses) {
	for lo := 0; lo < len(r.rows); lo += rowChunk {
		r.push(func([]site) { r.fillRows(g, lo, min(lo+rowChunk, len(r.rows))) })
	}
}

// fillRows sets g's call in the rows of samples lo to hi.
func (r *geneRun) fillRows(g *geneClasses, lo, hi int) {
	for i := lo; i < hi; i++ {
		r.rows[i][g.k] = g.calls[g.cls[i]]
	}
}

func (r *geneRun) push(f func(sites []site)) {
	r.pending.Add(1)
	r.q.push(f)
}

// abort drops the queued work and waits for the workers.
func (r *geneRun) abort() {
	r.stopped.Store(true)
	r.pending.Wait()
	r.q.close()
	r.done.Wait()
}

// finish calls the genes not called yet or made dirty, waits for every
// call, and assembles the result.
func (r *geneRun) finish(t *table) (*Result, error) {
	for k := range r.gs {
		if !r.dispatched[k] || r.dirty[k] {
			r.dispatch(t, k)
		}
	}
	r.pending.Wait()
	r.q.close()
	r.done.Wait()
	if err := r.ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgx: call VCF: %w", err)
	}
	// Genes run again after the end of the file: every earlier filling is
	// over, theirs can be done.
	n := len(t.samples)
	for _, g := range r.genes {
		if !g.fill {
			if err := parallel(r.ctx, r.workers, n, rowChunk, func(_, lo, hi int) { r.fillRows(g, lo, hi) }); err != nil {
				return nil, err
			}
		}
	}
	res := &Result{DataVersion: r.c.version, Build: t.build, Warnings: t.warnings, Samples: make([]SampleCalls, n)}
	for i := range res.Samples {
		res.Samples[i] = SampleCalls{Sample: t.samples[i], Calls: r.rows[i]}
	}
	return res, nil
}

// taskQueue is an unbounded FIFO of tasks (tasks queue more tasks).
type taskQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	tasks  []func(sites []site)
	head   int
	closed bool
}

func (q *taskQueue) push(f func(sites []site)) {
	q.mu.Lock()
	q.tasks = append(q.tasks, f)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a task; ok is false once the queue is closed and empty.
func (q *taskQueue) pop() (f func(sites []site), ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.tasks) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.tasks) {
		return nil, false
	}
	f = q.tasks[q.head]
	q.tasks[q.head] = nil
	q.head++
	return f, true
}

func (q *taskQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// parallel runs f over [0, n) in batches of at most batch items handed out
// to workers goroutines (w is the worker's number); it stops early, with
// ctx's error, when ctx is done.
func parallel(ctx context.Context, workers, n, batch int, f func(w, lo, hi int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, max(1, (n+batch-1)/batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(int64(batch))) - batch
				if lo >= n {
					return
				}
				f(w, lo, min(lo+batch, n))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgx: call VCF: %w", err)
	}
	return nil
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
	// outcomes holds, per column, the site outcomes of the genotype codes
	// found there (see prepareOutcomes); nil until worked out.
	outcomes [][]codeOutcome
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
}

func (s tableSource) site(def *GeneDefinition, vi int, _ Locus) (*siteOutcome, string, string, bool) {
	col := s.p.cols[vi]
	if col == nil {
		return nil, "", "", false
	}
	g := col.gts[s.i]
	var o *siteOutcome
	if vi < len(s.p.outcomes) {
		code := g.code()
		for _, x := range s.p.outcomes[vi] {
			if x.code == code {
				o = x.o
				break
			}
		}
	}
	if o == nil {
		x := prepareSite(def, vi, col.call(s.i))
		o = &x
	}
	ps := ""
	if o.phased && col.ps != nil {
		ps = col.ps[s.i]
	}
	return o, ps, "", true
}

// codeOutcome is the outcome of the genotype code code at a column.
type codeOutcome struct {
	code uint32
	o    *siteOutcome
}

// prepareOutcomes works out, at each of the plan's columns, the outcome of
// every genotype code the samples reps have there, so that tableSource
// looks them up instead of applying the reader rules again for each
// sample.
func (p *genePlan) prepareOutcomes(reps []int32) {
	p.outcomes = make([][]codeOutcome, len(p.cols))
	for vi, col := range p.cols {
		if col == nil {
			continue
		}
		var list []codeOutcome
	next:
		for _, i := range reps {
			code := col.gts[i].code()
			for _, x := range list {
				if x.code == code {
					continue next
				}
			}
			o := prepareSite(p.def, vi, col.call(int(i)))
			list = append(list, codeOutcome{code, &o})
		}
		p.outcomes[vi] = list
	}
}

func (s tableSource) notes(vi int, _ Locus) []string {
	n := s.p.posNotes[vi]
	if sn := s.p.sampleNotes[vi][s.i]; len(sn) > 0 {
		n = append(slices.Clone(n), sn...)
	}
	return n
}

// classes partitions the n samples of the table: two samples share a class exactly
// when they have the same genotype code and phase set at every position of
// the plan, and neither has reader notes of its own at any of them (such a
// sample is a class of its own). A call reads nothing else of a sample, so
// the members of a class get the same call. cls gives each sample's class;
// reps gives each class's first sample, in sample order.
//
// The partition is refined one position at a time, a column at a time (a
// sample's new class is a function of its old class and its code there), so
// it reads each column once, in order, without building per-sample keys.
func (p *genePlan) classes(n int) (cls, reps []int32) {
	cls = make([]int32, n) // one class to start with
	// Samples with notes of their own at the gene's positions (class -1
	// until the end): a class each.
	solo := 0
	for _, m := range p.noted {
		for i, ns := range m {
			if len(ns) > 0 && cls[i] == 0 {
				cls[i] = -1
				solo++
			}
		}
	}
	nc := int32(min(n-solo, 1))
	// Per old class, its new class for the commonest code, 0/0 unphased.
	ref := make([]int32, 0, n)
	other := map[uint64]int32{}
	type psKey struct {
		old  int32
		code uint32
		ps   string
	}
	var withPS map[psKey]int32
	for _, col := range p.cols {
		if col == nil {
			continue // the same for every sample
		}
		ref = ref[:nc]
		for c := range ref {
			ref[c] = -1
		}
		clear(other)
		clear(withPS)
		next := int32(0)
		for i, g := range col.gts {
			old := cls[i]
			if old < 0 {
				continue
			}
			if col.ps != nil {
				if ps, ok := col.ps[i]; ok {
					if withPS == nil {
						withPS = map[psKey]int32{}
					}
					k := psKey{old, g.code(), ps}
					c, ok := withPS[k]
					if !ok {
						c = next
						next++
						withPS[k] = c
					}
					cls[i] = c
					continue
				}
			}
			if g == (gcode{}) {
				c := ref[old]
				if c < 0 {
					c = next
					next++
					ref[old] = c
				}
				cls[i] = c
				continue
			}
			k := uint64(old)<<32 | uint64(g.code())
			c, ok := other[k]
			if !ok {
				c = next
				next++
				other[k] = c
			}
			cls[i] = c
		}
		nc = next
	}
	for i, c := range cls {
		if c < 0 {
			cls[i] = nc
			nc++
		}
	}
	reps = make([]int32, nc)
	for c := range reps {
		reps[c] = -1
	}
	for i, c := range cls {
		if reps[c] < 0 {
			reps[c] = int32(i)
		}
	}
	return cls, reps
}

// code packs g into an integer (distinct gcodes, distinct codes).
func (g gcode) code() uint32 {
	return uint32(uint8(g.a)) | uint32(uint8(g.b))<<8 | uint32(g.flags)<<16
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
