package prs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/geneguard/geneguard/vcf"
)

// ErrBuildMismatch is returned (wrapped) when a score's positions and the
// genotypes are on different genome builds: matching by position would then
// score the wrong variants, or none, without any other sign of trouble.
var ErrBuildMismatch = errors.New("genome build mismatch")

// Result is the outcome of scoring one genotype file against one or more
// scores.
type Result struct {
	Samples []string      `json:"samples"`
	Build   string        `json:"genotype_build,omitempty"` // as the VCF header says; "" when it does not
	Scores  []ScoreResult `json:"scores"`
}

// ScoreResult is one score over every sample.
type ScoreResult struct {
	ID      string        `json:"pgs_id"`
	Name    string        `json:"pgs_name,omitempty"`
	Source  string        `json:"source"`
	Build   string        `json:"build,omitempty"`
	Policy  Policy        `json:"policy"`
	Matched int           `json:"variants_matched"`
	Total   int           `json:"variants_total"`
	Samples []SampleScore `json:"samples"`
	// Unmatched lists every row that did not contribute, in file order,
	// so that a report can say what the score was computed without.
	Unmatched []Unmatched `json:"unmatched"`
	Warnings  []string    `json:"warnings,omitempty"`
}

// SampleScore is one person's score. Matched and Total repeat the score's
// counts so that a row stands on its own in an export.
type SampleScore struct {
	Sample  string  `json:"sample"`
	ID      string  `json:"pgs_id"`
	Sum     float64 `json:"sum"`
	Matched int     `json:"variants_matched"`
	Total   int     `json:"variants_total"`
	// Missing counts matched variants where this person has no call;
	// Imputed counts those filled in by the policy (0 under "none").
	Missing int `json:"genotypes_missing"`
	Imputed int `json:"genotypes_imputed"`
	// AlleleCount is the number of called alleles that entered the sum
	// (plink2's DENOM under no-mean-imputation).
	AlleleCount int           `json:"allele_count"`
	Policy      MissingPolicy `json:"missing_policy"`
}

// Reasons a row is unmatched.
const (
	ReasonNoPosition        = "no_position"
	ReasonPositionNotFound  = "position_not_in_target"
	ReasonAlleleMismatch    = "allele_mismatch"
	ReasonAmbiguousExcluded = "ambiguous_excluded"
	ReasonDuplicateExcluded = "duplicate_excluded"
)

// Unmatched is a scoring-file row that did not contribute.
type Unmatched struct {
	Line         int     `json:"line"`
	Chrom        string  `json:"chrom,omitempty"`
	Pos          int     `json:"pos,omitempty"`
	EffectAllele string  `json:"effect_allele"`
	OtherAllele  string  `json:"other_allele,omitempty"`
	Weight       float64 `json:"effect_weight"`
	Reason       string  `json:"reason"`
	// Detail gives the evidence: the target alleles seen at the position,
	// the harmonisation failure, and so on.
	Detail string `json:"detail,omitempty"`
}

// CheckBuild reports whether a score can be matched against genotypes on
// genoBuild. Unknown builds on either side pass, with a warning from ScoreVCF.
func CheckBuild(s *Score, genoBuild string) error {
	if s.Build == "" || genoBuild == "" || s.Build == genoBuild {
		return nil
	}
	fix := fmt.Sprintf("lift the scoring file over to %s, or score genotypes called on %s", genoBuild, s.Build)
	if strings.HasPrefix(s.ID, "PGS") && (genoBuild == "GRCh37" || genoBuild == "GRCh38") {
		fix = fmt.Sprintf("use the PGS Catalog harmonised file for %s (%s_hmPOS_%s.txt.gz)", genoBuild, s.ID, genoBuild)
	}
	return fmt.Errorf("prs: score %s (%s) has %s positions but the genotypes are %s: %w; %s",
		s.ID, s.Source, s.Build, genoBuild, ErrBuildMismatch, fix)
}

// ScoreVCF streams the genotype file once and computes every score for every
// sample. Memory is bounded by the scores and one record: genotypes are
// never held beyond the record being read.
func ScoreVCF(ctx context.Context, r *vcf.Reader, scores []*Score, opts Options) (*Result, error) {
	h := r.Header()
	m, res, err := prepare(h, scores, opts)
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("prs: scoring stopped: %w", err)
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("prs: reading genotypes: %w", err)
		}
		if err := m.record(rec); err != nil {
			return nil, err
		}
	}
	if res.Scores, err = m.results(h.Samples, h.Build); err != nil {
		return nil, err
	}
	return res, nil
}

// ErrNonFinite is returned (wrapped in a *NonFiniteError) when a sample's
// sum is not a finite number: weights so large that dosage × weight, or
// the sum of them, overflowed double precision. Such a sum is no score,
// and every quantity derived from it (z, percentile, relative risk) would
// be NaN or infinite; the same file fails the same way on every attempt.
var ErrNonFinite = errors.New("score is not a finite number")

// NonFiniteError names the score and the sample whose sum is ±Inf or NaN,
// and the largest weight in the file, the usual cause.
type NonFiniteError struct {
	Score, Source, Sample string
	Sum                   float64
	MaxWeight             float64 // largest |effect_weight| in the file
	MaxLine               int     // its line
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("prs: score %s (%s) for sample %s: the sum is %v: %v; the weights overflow double precision (largest |effect_weight| %g on line %d) — check the scoring file's effect_weight column",
		e.Score, e.Source, e.Sample, e.Sum, ErrNonFinite, e.MaxWeight, e.MaxLine)
}

func (e *NonFiniteError) Unwrap() error { return ErrNonFinite }

// prepare checks the options, the samples and the builds, and indexes the
// scores' positions.
func prepare(h *vcf.Header, scores []*Score, opts Options) (*matcher, *Result, error) {
	pol, err := opts.policy()
	if err != nil {
		return nil, nil, err
	}
	if len(h.Samples) == 0 {
		return nil, nil, errors.New("prs: the VCF has no sample columns")
	}
	for _, s := range scores {
		if err := CheckBuild(s, h.Build); err != nil {
			return nil, nil, err
		}
	}
	m, err := newMatcher(scores, pol, len(h.Samples))
	if err != nil {
		return nil, nil, err
	}
	return m, &Result{Samples: h.Samples, Build: h.Build}, nil
}

type posKey struct {
	chrom string
	pos   int
}

type rowRef struct{ score, row int }

// rowState is what the matcher learned about one scoring-file row.
type rowState struct {
	matched  bool
	excluded string // a Reason when the row was found but not used
	seenPos  bool
	seen     []string // target alleles seen at the position, for the report
}

type scoreState struct {
	s        *Score
	rows     []rowState
	sum      []float64
	missing  []int32
	imputed  []int32
	alleles  []int32
	matched  int
	warnings []string
}

type matcher struct {
	pol    Policy
	index  map[posKey][]rowRef
	scores []*scoreState
	// per-record scratch, reused to keep the loop allocation-free
	cands []cand
	gts   []gt
	ds    []float64 // DS per sample, NaN when missing; valid when useDS
	useDS bool
}

// cand is one row matched at the current record, before the duplicate
// check decides whether it is used.
type cand struct {
	ref    rowRef
	effect int // allele index of the effect allele in the record
	pair   int // ALT index of the matched REF/ALT pair (pgsc_calc's target ID)
}

// gt is one decoded call: allele indices, -1 missing; b = -2 for haploid.
type gt struct{ a, b int16 }

const haploid = -2

func newMatcher(scores []*Score, pol Policy, nSamples int) (*matcher, error) {
	m := &matcher{pol: pol, index: map[posKey][]rowRef{}}
	for si, s := range scores {
		st := &scoreState{
			s:       s,
			rows:    make([]rowState, len(s.Variants)),
			sum:     make([]float64, nSamples),
			missing: make([]int32, nSamples),
			imputed: make([]int32, nSamples),
			alleles: make([]int32, nSamples),
		}
		for j, v := range s.Variants {
			if v.Pos == 0 {
				continue
			}
			if pol.Missing == MissingFreq && math.IsNaN(v.Freq) {
				return nil, fmt.Errorf("prs: missing policy %q needs allelefrequency_effect for every variant, but %s line %d has none; use --missing none or a score that reports frequencies",
					pol.Missing, s.Source, v.Line)
			}
			k := posKey{v.Chrom, v.Pos}
			m.index[k] = append(m.index[k], rowRef{si, j})
		}
		m.scores = append(m.scores, st)
	}
	return m, nil
}

func (m *matcher) record(rec *vcf.Record) error {
	refs := m.index[posKey{vcf.NormalizeChrom(rec.Chrom), rec.Pos}]
	if len(refs) == 0 || !m.match(refs, rec.Ref, rec.Alt) {
		return nil
	}
	if err := m.decode(rec); err != nil {
		return err
	}
	m.apply()
	return nil
}

// match finds the rows that use the record at a position, leaving them in
// m.cands; it reports whether any is to be scored.
func (m *matcher) match(refs []rowRef, ref string, alts []string) bool {
	ref = strings.ToUpper(ref)
	m.cands = m.cands[:0]
	for _, rr := range refs {
		st := m.scores[rr.score]
		rs := &st.rows[rr.row]
		rs.seenPos = true
		if rs.matched || rs.excluded != "" {
			continue // the first matching record wins
		}
		v := &st.s.Variants[rr.row]
		effect, pair, ok := matchAlleles(v.EffectAllele, v.OtherAllele, ref, alts, m.pol.TrimAlleles)
		if !ok {
			if len(rs.seen) < 4 {
				rs.seen = append(rs.seen, ref+">"+strings.Join(alts, ","))
			}
			continue
		}
		if m.pol.Ambiguous == AmbiguousExclude && pair > 0 && ambiguous(ref, strings.ToUpper(alts[pair-1])) {
			rs.excluded = ReasonAmbiguousExcluded
			continue
		}
		m.cands = append(m.cands, cand{ref: rr, effect: effect, pair: pair})
	}
	// Two rows of one score on the same target variant: pgsc_calc drops
	// both, since either could be the intended one and summing both would
	// double-count the site.
	for i := range m.cands {
		for j := i + 1; j < len(m.cands); j++ {
			a, b := m.cands[i], m.cands[j]
			if a.ref.score == b.ref.score && a.pair == b.pair {
				m.scores[a.ref.score].rows[a.ref.row].excluded = ReasonDuplicateExcluded
				m.scores[b.ref.score].rows[b.ref.row].excluded = ReasonDuplicateExcluded
			}
		}
	}
	keep := m.cands[:0]
	for _, c := range m.cands {
		if m.scores[c.ref.score].rows[c.ref.row].excluded == "" {
			keep = append(keep, c)
		}
	}
	m.cands = keep
	return len(keep) > 0
}

// apply adds the contributions of the rows in m.cands, from the calls in
// m.gts (and m.ds when m.useDS).
func (m *matcher) apply() {
	for _, c := range m.cands {
		st := m.scores[c.ref.score]
		st.rows[c.ref.row].matched = true
		st.matched++
		m.add(st, &st.s.Variants[c.ref.row], c.effect)
	}
}

// matchAlleles finds the effect allele among the record's alleles. With an
// other allele, the pair must be REF plus one ALT in either orientation
// (effect = ALT, or the swap effect = REF). Without one, the effect allele
// alone decides. It returns the effect allele's index (0 = REF) and the ALT
// index of the pair.
func matchAlleles(ea, oa, ref string, alts []string, trim bool) (effect, pair int, ok bool) {
	for k, alt := range alts {
		alt = strings.ToUpper(alt)
		switch {
		case oa == "" && ea == ref:
			return 0, k + 1, true
		case oa == "" && ea == alt:
			return k + 1, k + 1, true
		case ea == alt && oa == ref:
			return k + 1, k + 1, true
		case ea == ref && oa == alt:
			return 0, k + 1, true
		}
	}
	if !trim || oa == "" {
		return 0, 0, false
	}
	e, o := trimSuffix(ea, oa)
	for k, alt := range alts {
		r, a := trimSuffix(ref, strings.ToUpper(alt))
		switch {
		case e == a && o == r:
			return k + 1, k + 1, true
		case e == r && o == a:
			return 0, k + 1, true
		}
	}
	return 0, 0, false
}

// trimSuffix removes the bases two alleles share at their end, keeping at
// least one base each. Both start at the same position, so what remains
// describes the same change in its shortest right-trimmed form.
func trimSuffix(a, b string) (string, string) {
	for len(a) > 1 && len(b) > 1 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	return a, b
}

// ambiguous reports a strand-ambiguous SNV: its alleles are each other's
// complement, so a strand flip cannot be seen from the alleles.
func ambiguous(ref, alt string) bool {
	if len(ref) != 1 || len(alt) != 1 {
		return false
	}
	switch ref + alt {
	case "AT", "TA", "CG", "GC":
		return true
	}
	return false
}

// decode reads every sample's call at this record once, however many score
// rows use it.
func (m *matcher) decode(rec *vcf.Record) error {
	n := rec.NumSamples()
	m.resize(n)
	for i := 0; i < n; i++ {
		g, err := rec.Genotype(i)
		if err != nil {
			return fmt.Errorf("prs: reading genotypes: %w", err)
		}
		switch len(g.Alleles) {
		case 1:
			m.gts[i] = gt{int16(g.Alleles[0]), haploid}
		default:
			m.gts[i] = gt{int16(g.Alleles[0]), int16(g.Alleles[1])}
		}
	}
	m.useDS = m.wantDS(len(rec.Alt), hasFormat(rec, "GT"), hasFormat(rec, "DS"))
	if m.useDS {
		for i := 0; i < n; i++ {
			ds, ok := rec.Dosage(i)
			if !ok {
				ds = math.NaN()
			}
			m.ds[i] = ds
		}
	}
	return nil
}

func (m *matcher) resize(n int) {
	if cap(m.gts) < n {
		m.gts = make([]gt, n)
		m.ds = make([]float64, n)
	}
	m.gts, m.ds = m.gts[:n], m.ds[:n]
}

// wantDS says whether DS is the dosage at a record: when asked for, or
// when there is no GT. Only for biallelic records, where DS is one number.
func (m *matcher) wantDS(nAlt int, hasGT, hasDS bool) bool {
	return nAlt == 1 && hasDS && (m.pol.Dosage == DosageDS || !hasGT)
}

func hasFormat(rec *vcf.Record, key string) bool {
	for _, f := range rec.Format {
		if f == key {
			return true
		}
	}
	return false
}

// add adds one matched variant's contribution for every sample.
func (m *matcher) add(st *scoreState, v *Variant, effect int) {
	if !m.useDS {
		m.addGT(st, v, effect)
		return
	}
	e := int16(effect)
	for i, g := range m.gts {
		d, called, ok := 0.0, 0, false
		if m.useDS {
			if ds := m.ds[i]; !math.IsNaN(ds) {
				d, called, ok = ds, 2, true
				if effect == 0 {
					d = 2 - ds
				}
			}
		}
		if !ok {
			switch {
			case g.a < 0 || g.b == -1:
				// A half call (0/.) counts as missing: its dosage is
				// not known, and a guess would differ between tools.
			case g.b == haploid:
				// Haploid calls (chrX in men, chrY, MT) count their one
				// allele; the score's authors decide what that means.
				d, called, ok = b2f(g.a == e), 1, true
			default:
				d, called, ok = b2f(g.a == e)+b2f(g.b == e), 2, true
			}
		}
		if !ok {
			st.missing[i]++
			if m.pol.Missing == MissingFreq {
				st.imputed[i]++
				st.sum[i] += v.Weight * expected(v.Effect, v.Freq)
			}
			continue
		}
		st.alleles[i] += int32(called)
		st.sum[i] += v.Weight * transform(v.Effect, d)
	}
}

// addGT is add for hard calls, the inner loop of scoring a biobank: each
// call is reduced to a code, and the code's contribution is looked up in
// tables made once per variant. It gives bit-for-bit the sums of the
// general loop, which adds the same products in the same order.
func (m *matcher) addGT(st *scoreState, v *Variant, effect int) {
	const (
		miss  = 3 // codes 0..2: diploid dosage; 3: missing; 4..5: haploid dosage
		hap0  = 4
		codes = 6
	)
	var val [codes]float64
	var cnt, nmiss, nimp [codes]int32
	for d := 0; d <= 2; d++ {
		val[d] = v.Weight * transform(v.Effect, float64(d))
		cnt[d] = 2
	}
	for d := 0; d <= 1; d++ {
		val[hap0+d] = v.Weight * transform(v.Effect, float64(d))
		cnt[hap0+d] = 1
	}
	nmiss[miss] = 1
	if m.pol.Missing == MissingFreq {
		val[miss] = v.Weight * expected(v.Effect, v.Freq)
		nimp[miss] = 1
	}
	e := int16(effect)
	sum, alleles, missing, imputed := st.sum[:len(m.gts)], st.alleles[:len(m.gts)], st.missing[:len(m.gts)], st.imputed[:len(m.gts)]
	for i, g := range m.gts {
		var c uint8
		switch {
		case g.a < 0 || g.b == -1:
			c = miss
		case g.b == haploid:
			c = hap0 + b2u(g.a == e)
		default:
			c = b2u(g.a == e) + b2u(g.b == e)
		}
		c %= codes
		sum[i] += val[c]
		alleles[i] += cnt[c]
		missing[i] += nmiss[c]
		imputed[i] += nimp[c]
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// transform applies the effect type to a dosage in [0,2]. For hard calls it
// gives 0/1/1 (dominant) and 0/0/1 (recessive); for imputed dosages it is
// the same piecewise-linear map plink2 uses.
func transform(t EffectType, d float64) float64 {
	switch t {
	case Dominant:
		return math.Min(d, 1)
	case Recessive:
		return math.Max(d-1, 0)
	}
	return d
}

// expected is the expected transformed dosage at effect-allele frequency p
// under Hardy–Weinberg equilibrium.
func expected(t EffectType, p float64) float64 {
	switch t {
	case Dominant:
		return 1 - (1-p)*(1-p)
	case Recessive:
		return p * p
	}
	return 2 * p
}

func (m *matcher) results(samples []string, genoBuild string) ([]ScoreResult, error) {
	out := make([]ScoreResult, 0, len(m.scores))
	for _, st := range m.scores {
		s := st.s
		r := ScoreResult{
			ID: s.ID, Name: s.Name, Source: s.Source, Build: s.Build, Policy: m.pol,
			Matched: st.matched, Total: len(s.Variants), Unmatched: []Unmatched{},
		}
		switch {
		case s.Build == "" && genoBuild == "":
			r.Warnings = append(r.Warnings, "neither the score nor the VCF header states a genome build; positions were assumed to agree")
		case s.Build == "":
			r.Warnings = append(r.Warnings, "the score does not state a genome build; assumed "+genoBuild+" like the VCF")
		case genoBuild == "":
			r.Warnings = append(r.Warnings, "the VCF header does not state a genome build; assumed "+s.Build+" like the score")
		}
		for j, rs := range st.rows {
			if rs.matched {
				continue
			}
			v := s.Variants[j]
			u := Unmatched{Line: v.Line, Chrom: v.Chrom, Pos: v.Pos, EffectAllele: v.EffectAllele, OtherAllele: v.OtherAllele, Weight: v.Weight}
			switch {
			case v.Pos == 0:
				u.Reason, u.Detail = ReasonNoPosition, v.NoPosReason
			case rs.excluded != "":
				u.Reason = rs.excluded
			case rs.seenPos:
				u.Reason, u.Detail = ReasonAlleleMismatch, "target has "+strings.Join(rs.seen, "; ")
			default:
				u.Reason = ReasonPositionNotFound
			}
			r.Unmatched = append(r.Unmatched, u)
		}
		r.Samples = make([]SampleScore, len(samples))
		for i, name := range samples {
			if sum := st.sum[i]; math.IsNaN(sum) || math.IsInf(sum, 0) {
				e := &NonFiniteError{Score: s.ID, Source: s.Source, Sample: name, Sum: sum}
				for _, v := range s.Variants {
					if w := math.Abs(v.Weight); w > e.MaxWeight || e.MaxLine == 0 {
						e.MaxWeight, e.MaxLine = w, v.Line
					}
				}
				return nil, e
			}
			r.Samples[i] = SampleScore{
				Sample: name, ID: s.ID, Sum: st.sum[i], Matched: st.matched, Total: len(s.Variants),
				Missing: int(st.missing[i]), Imputed: int(st.imputed[i]), AlleleCount: int(st.alleles[i]),
				Policy: m.pol.Missing,
			}
		}
		out = append(out, r)
	}
	return out, nil
}
