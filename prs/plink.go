package prs

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/geneguard/geneguard/plink"
	"github.com/geneguard/geneguard/vcf"
)

// ScoreBed scores PLINK 1 binary genotypes (PREFIX.bed/.bim/.fam) under
// the same matching and options as ScoreVCF: A2 is taken as REF and A1 as
// ALT, as plink2 writes them, and the calls are hard calls. Samples are
// named by IID (FID_IID when IIDs repeat). Memory holds the scores and one
// variant's packed calls.
func ScoreBed(ctx context.Context, prefix string, scores []*Score, opts Options) (*Result, error) {
	r, err := plink.Open(prefix)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h := &vcf.Header{Samples: sampleNames(r.Samples())}
	m, res, err := prepare(h, scores, opts)
	if err != nil {
		return nil, err
	}
	n := len(h.Samples)
	chroms := map[string]string{}
	for k := 0; ; k++ {
		if k&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("prs: scoring stopped: %w", err)
			}
		}
		v, packed, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("prs: %w", err)
		}
		chrom, ok := chroms[v.Chrom]
		if !ok {
			chrom = vcf.NormalizeChrom(v.Chrom)
			chroms[v.Chrom] = chrom
		}
		refs := m.index[posKey{chrom, v.Pos}]
		if len(refs) == 0 {
			continue
		}
		var alts []string
		if v.A1 != "0" && v.A1 != "." {
			alts = []string{v.A1}
		}
		if !m.match(refs, v.A2, alts) {
			continue
		}
		m.resize(n)
		m.useDS = false
		decodeBed(packed, m.gts)
		m.apply()
	}
	if res.Scores, err = m.results(h.Samples, h.Build); err != nil {
		return nil, err
	}
	return res, nil
}

// bedCalls maps a packed byte to four calls, with REF = A2 (index 0) and
// ALT = A1 (index 1): 00 → 1/1, 01 → missing, 10 → 0/1, 11 → 0/0.
var bedCalls = func() (t [256][4]gt) {
	code := [4]gt{{1, 1}, {-1, -1}, {0, 1}, {0, 0}}
	for b := range t {
		for k := 0; k < 4; k++ {
			t[b][k] = code[b>>(2*k)&3]
		}
	}
	return t
}()

func decodeBed(packed []byte, gts []gt) {
	full := len(gts) / 4
	for j := 0; j < full; j++ {
		copy(gts[4*j:4*j+4], bedCalls[packed[j]][:])
	}
	for i := 4 * full; i < len(gts); i++ {
		gts[i] = bedCalls[packed[i>>2]][i&3]
	}
}

func sampleNames(ss []plink.Sample) []string {
	out := make([]string, len(ss))
	seen := map[string]bool{}
	unique := true
	for i, s := range ss {
		out[i] = s.IID
		if seen[s.IID] {
			unique = false
		}
		seen[s.IID] = true
	}
	if !unique {
		for i, s := range ss {
			out[i] = s.FID + "_" + s.IID
		}
	}
	return out
}
