package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/risk"
	"github.com/geneguard/geneguard/vcf"
)

// Monogenic bundle file names. A prs bundle may carry PathogenicFile too:
// its carriers are then referred whatever their polygenic percentile.
const (
	PathogenicFile = "pathogenic.tsv" // risk.VariantList
	CarrierFile    = "carrier.json"   // risk.CarrierRule
)

// MonogenicEngine runs monogenic bundles: a list of pathogenic variants →
// carrier status → referral.
type MonogenicEngine struct {
	mu    sync.Mutex
	cache map[string]*monogenicBundle
}

type monogenicBundle struct {
	list *risk.VariantList
	rule *risk.CarrierRule
}

// NewMonogenicEngine returns an engine with an empty bundle cache.
func NewMonogenicEngine() *MonogenicEngine {
	return &MonogenicEngine{cache: map[string]*monogenicBundle{}}
}

func (e *MonogenicEngine) bundle(v *algorithm.Version) (*monogenicBundle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.cache[v.Hash]; ok {
		return b, nil
	}
	l, err := variantList(v)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("monogenic bundle has no %s", PathogenicFile)
	}
	cf, ok := v.Files[CarrierFile]
	if !ok {
		return nil, fmt.Errorf("monogenic bundle has no %s", CarrierFile)
	}
	var rule risk.CarrierRule
	if err := json.Unmarshal(cf, &rule); err != nil {
		return nil, fmt.Errorf("%s: %w", CarrierFile, err)
	}
	if rule.Category == "" || rule.Advice == "" || rule.Referral == "" {
		return nil, fmt.Errorf("%s: category, advice and referral are required", CarrierFile)
	}
	b := &monogenicBundle{list: l, rule: &rule}
	e.cache[v.Hash] = b
	return b, nil
}

// variantList parses the bundle's pathogenic.tsv, or returns nil when the
// bundle has none.
func variantList(v *algorithm.Version) (*risk.VariantList, error) {
	f, ok := v.Files[PathogenicFile]
	if !ok {
		return nil, nil
	}
	return risk.ParseVariantList(bytes.NewReader(f), PathogenicFile)
}

func listLoci(l *risk.VariantList, out map[Locus]bool) {
	for _, p := range l.Variants {
		out[Locus{p.Chrom, p.Pos}] = true
	}
}

// Loci implements Engine: every listed position.
func (e *MonogenicEngine) Loci(v *algorithm.Version) (map[Locus]bool, error) {
	b, err := e.bundle(v)
	if err != nil {
		return nil, err
	}
	out := map[Locus]bool{}
	listLoci(b.list, out)
	return out, nil
}

// MonogenicOutput is the stored output of a monogenic run.
type MonogenicOutput struct {
	risk.CarrierResult
	// Referral is set for carriers: what the person is referred to, and why.
	Referral string `json:"referral,omitempty"`
	Advice   string `json:"advice,omitempty"`
}

// Run implements Engine.
func (e *MonogenicEngine) Run(ctx context.Context, v *algorithm.Version, in Input) (Output, error) {
	b, err := e.bundle(v)
	if err != nil {
		return Output{}, err
	}
	res, err := carrierStatus(b.list, in.VCF)
	if err != nil {
		return Output{}, err
	}
	out := MonogenicOutput{CarrierResult: res}
	switch res.Status {
	case risk.StatusCarrier:
		out.Referral = fmt.Sprintf("Referral to %s: carrier of %s.", b.rule.Referral, strings.Join(res.Labels(), ", "))
		out.Advice = b.rule.Advice
		return Output{Summary: out.Referral, Category: b.rule.Category, Data: out}, nil
	case risk.StatusIncomplete:
		return Output{Summary: fmt.Sprintf("No listed pathogenic variant found, but %d of %d could not be assessed", len(res.NotAssessed), res.Listed),
			Category: "Incomplete", Data: out}, nil
	}
	return Output{Summary: fmt.Sprintf("None of the %d listed pathogenic variants found", res.Listed), Category: "No listed variant found", Data: out}, nil
}

// carrierStatus reads a one-sample VCF and observes every listed variant.
// A variant is assessed only where a record at its position has its REF
// and the sample's GT is fully called: a position missing from the file
// is unknown, not reference, because array and exome VCFs list only what
// they genotyped or found.
func carrierStatus(l *risk.VariantList, vcfBytes []byte) (risk.CarrierResult, error) {
	r, err := vcf.NewReader(bytes.NewReader(vcfBytes))
	if err != nil {
		return risk.CarrierResult{}, err
	}
	h := r.Header()
	if len(h.Samples) != 1 {
		return risk.CarrierResult{}, fmt.Errorf("monogenic: want one sample, got %d", len(h.Samples))
	}
	if h.Build != "" && l.Build != "" && h.Build != l.Build {
		return risk.CarrierResult{}, fmt.Errorf("monogenic: variant list %s is on %s but the genotypes are %s; use a list for %s", l.Version, l.Build, h.Build, h.Build)
	}
	byPos := map[Locus][]int{}
	for i, p := range l.Variants {
		k := Locus{p.Chrom, p.Pos}
		byPos[k] = append(byPos[k], i)
	}
	obs := make([]risk.Observation, len(l.Variants))
	for i := range obs {
		obs[i].Detail = "position not in the genotypes"
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return risk.CarrierResult{}, err
		}
		idx := byPos[Locus{vcf.NormalizeChrom(rec.Chrom), rec.Pos}]
		if len(idx) == 0 {
			continue
		}
		g, err := rec.Genotype(0)
		if err != nil {
			return risk.CarrierResult{}, err
		}
		for _, i := range idx {
			p := l.Variants[i]
			if obs[i].Assessed {
				continue
			}
			if !strings.EqualFold(rec.Ref, p.Ref) {
				obs[i].Detail = fmt.Sprintf("genotypes have %s>%s at this position, the list %s>%s", rec.Ref, strings.Join(rec.Alt, ","), p.Ref, p.Alt)
				continue
			}
			alt := -1
			for k, a := range rec.Alt {
				if strings.EqualFold(a, p.Alt) {
					alt = k + 1
				}
			}
			called := len(g.Alleles) > 0
			copies := 0
			for _, a := range g.Alleles {
				if a < 0 {
					called = false
				}
				if a == alt {
					copies++
				}
			}
			if !called && copies == 0 {
				obs[i].Detail = "genotype not called"
				continue
			}
			// A half call carrying the allele (1/.) still shows it.
			obs[i] = risk.Observation{Assessed: true, Copies: copies}
		}
	}
	return l.Status(obs), nil
}
