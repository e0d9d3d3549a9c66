package runner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

// PGxEngine runs pgx bundles: star-allele calls, phenotypes and the
// prescribing guidance for the drugs the manifest lists.
type PGxEngine struct {
	mu    sync.Mutex
	cache map[string]*pgx.Bundle // by version hash: bundles are immutable
}

// NewPGxEngine returns an engine with an empty bundle cache.
func NewPGxEngine() *PGxEngine { return &PGxEngine{cache: map[string]*pgx.Bundle{}} }

func (e *PGxEngine) bundle(v *algorithm.Version) (*pgx.Bundle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.cache[v.Hash]; ok {
		return b, nil
	}
	fsys := fstest.MapFS{}
	for name, content := range v.Files {
		fsys[name] = &fstest.MapFile{Data: content}
	}
	b, err := pgx.LoadBundleFS(fsys, v.Manifest.ID+"@"+v.Manifest.Version+"#"+algorithm.ShortHash(v.Hash))
	if err != nil {
		return nil, err
	}
	e.cache[v.Hash] = b
	return b, nil
}

// Loci implements Engine: every definition position.
func (e *PGxEngine) Loci(v *algorithm.Version) (map[Locus]bool, error) {
	b, err := e.bundle(v)
	if err != nil {
		return nil, err
	}
	out := map[Locus]bool{}
	for _, g := range b.Definitions.Genes {
		ch := vcf.NormalizeChrom(g.Chromosome)
		for _, vr := range g.Variants {
			out[Locus{ch, int(vr.Position)}] = true
		}
	}
	return out, nil
}

// PGxOutput is the stored output of a pgx run.
type PGxOutput struct {
	Calls           []pgx.GeneCall       `json:"calls"`
	Recommendations []pgx.Recommendation `json:"recommendations"`
	DataVersion     string               `json:"data_version"`
	// Caveats say, per gene, which allele-defining positions had no
	// usable data and which alleles that leaves untested
	// (pgx.Definitions.MissingNote): a clinician reads them with the call.
	Caveats []string `json:"caveats,omitempty"`
}

// Run implements Engine.
func (e *PGxEngine) Run(ctx context.Context, v *algorithm.Version, in Input) (Output, error) {
	b, err := e.bundle(v)
	if err != nil {
		return Output{}, err
	}
	r, err := vcf.NewReader(bytes.NewReader(in.VCF))
	if err != nil {
		return Output{}, err
	}
	caller := pgx.NewCaller(b.Definitions, b.Phenotypes, pgx.Options{Mode: pgx.MatchTop})
	res, err := caller.CallVCF(ctx, r, nil)
	if err != nil {
		return Output{}, err
	}
	if len(res.Samples) != 1 {
		return Output{}, fmt.Errorf("pgx: want one sample, got %d", len(res.Samples))
	}
	calls := res.Samples[0].Calls
	out := PGxOutput{Calls: calls, DataVersion: res.DataVersion}
	for _, drug := range v.Manifest.Drugs {
		recs, err := b.Guidance.Recommend(calls, drug)
		if err != nil {
			return Output{}, err
		}
		out.Recommendations = append(out.Recommendations, recs...)
	}
	var summary, cats []string
	for _, c := range calls {
		// Inferred diplotypes (DPYD lowest-function pair, SLCO1B1 by
		// rs4149056) carry a phenotype and guidance too: HasResult, not
		// Called, decides whether there is something to report.
		dips := c.LookupDiplotypes()
		note := b.Definitions.MissingNote(c)
		if note != "" {
			out.Caveats = append(out.Caveats, note)
			// The summary is what lists and cards show: a call that may
			// be the reference only because a position was not tested
			// must say so there, not only in the raw output.
			note = " (caution: " + note + ")"
		}
		switch {
		case !c.HasResult():
			summary = append(summary, c.Gene+" not called: "+c.NoCallReason+note)
			cats = append(cats, "Indeterminate")
		case c.Ambiguous:
			summary = append(summary, fmt.Sprintf("%s %s — ambiguous: %s%s", c.Gene, strings.Join(dips, " or "), strings.Join(c.Phenotypes, " / "), note))
			cats = append(cats, "Ambiguous")
		case c.Phenotype == "":
			summary = append(summary, fmt.Sprintf("%s %s%s", c.Gene, strings.Join(dips, " or "), note))
			cats = append(cats, "No phenotype table")
		default:
			summary = append(summary, fmt.Sprintf("%s %s — %s%s", c.Gene, strings.Join(dips, " or "), c.Phenotype, note))
			cats = append(cats, c.Phenotype)
		}
	}
	return Output{Summary: strings.Join(summary, "; "), Category: strings.Join(cats, "; "), Data: out}, nil
}
