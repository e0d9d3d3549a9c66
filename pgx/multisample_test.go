package pgx_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
	"github.com/google/go-cmp/cmp"
)

// mergeSite is one position of the merged file.
type mergeSite struct {
	chrom string
	pos   int
	id    string
	ref   string
	alts  []string
	gts   map[string]string // merged sample name -> "GT" or "GT:PS"
}

// mergeVCFs writes the samples of every file into one gzip multi-sample VCF,
// as a biobank would deliver them: the union of positions, ALTs re-indexed
// to the union of ALTs, "./." where a file lacks a position. Sample names are
// "<file index>_<sample>".
func mergeVCFs(t *testing.T, files []string, out string) map[[2]string]string {
	t.Helper()
	sites := map[string]*mergeSite{}
	var samples []string
	names := map[[2]string]string{} // (file, sample) -> merged name
	hasPS := false
	for fi, f := range files {
		r, err := vcf.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h := r.Header()
		var local []string
		for _, s := range h.Samples {
			n := fmt.Sprintf("f%02d_%s", fi, s)
			names[[2]string{f, s}] = n
			local = append(local, n)
			samples = append(samples, n)
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			key := vcf.NormalizeChrom(rec.Chrom) + ":" + strconv.Itoa(rec.Pos)
			st := sites[key]
			if st == nil {
				st = &mergeSite{chrom: rec.Chrom, pos: rec.Pos, id: rec.ID, ref: rec.Ref, gts: map[string]string{}}
				sites[key] = st
			}
			if st.ref != rec.Ref {
				t.Fatalf("%s: REF %s vs %s in another file", key, rec.Ref, st.ref)
			}
			remap := []string{"0"}
			for _, a := range rec.Alt {
				k := slices.Index(st.alts, a)
				if k < 0 {
					st.alts = append(st.alts, a)
					k = len(st.alts) - 1
				}
				remap = append(remap, strconv.Itoa(k+1))
			}
			for i, n := range local {
				raw := rec.RawSample(i)
				gt, _, _ := strings.Cut(raw, ":")
				var sb strings.Builder
				for _, c := range gt {
					if c >= '0' && c <= '9' {
						sb.WriteString(remap[c-'0'])
					} else {
						sb.WriteRune(c)
					}
				}
				g := sb.String()
				if ps, ok := rec.SampleField(i, "PS"); ok {
					hasPS = true
					g += ":" + ps
				}
				st.gts[n] = g
			}
		}
		r.Close()
	}
	keys := make([]*mergeSite, 0, len(sites))
	for _, s := range sites {
		keys = append(keys, s)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].chrom != keys[j].chrom {
			return keys[i].chrom < keys[j].chrom
		}
		return keys[i].pos < keys[j].pos
	})
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	fmt.Fprintln(zw, "##fileformat=VCFv4.2")
	fmt.Fprintln(zw, `##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">`)
	format := "GT"
	if hasPS {
		format = "GT:PS"
		fmt.Fprintln(zw, `##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">`)
	}
	fmt.Fprintln(zw, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"+strings.Join(samples, "\t"))
	for _, s := range keys {
		alt := "."
		if len(s.alts) > 0 {
			alt = strings.Join(s.alts, ",")
		}
		cols := []string{s.chrom, strconv.Itoa(s.pos), s.id, s.ref, alt, ".", "PASS", ".", format}
		for _, n := range samples {
			g, ok := s.gts[n]
			if !ok {
				g = "./."
			}
			if hasPS && !strings.Contains(g, ":") {
				g += ":."
			}
			cols = append(cols, g)
		}
		fmt.Fprintln(zw, strings.Join(cols, "\t"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMultiSampleEqualsSingleSample merges, gene by gene, every corpus VCF
// that expected.tsv uses into one multi-sample VCF and checks that each
// sample gets exactly the call its own file gives, in every match mode.
func TestMultiSampleEqualsSingleSample(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	defs, err := pgx.LoadDefinitions(filepath.Join(corpus, "definitions"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readTSVFile(t, filepath.Join(corpus, "expected.tsv"))
	filesByGene := map[string][]string{}
	for _, r := range rows {
		f := filepath.Join(corpus, r["file"])
		if !slices.Contains(filesByGene[r["gene"]], f) {
			filesByGene[r["gene"]] = append(filesByGene[r["gene"]], f)
		}
	}
	type view struct {
		Diplotypes, Phenotypes, Missing []string
		NoCall                          string
	}
	viewOf := func(c pgx.GeneCall) view {
		return view{c.Diplotypes, c.Phenotypes, c.MissingPositions, c.NoCallReason}
	}
	modes := []pgx.Options{{Mode: pgx.MatchTop}, {Mode: pgx.MatchAll}, {Mode: pgx.MatchTop, Combinations: true}}
	genes := make([]string, 0, len(filesByGene))
	for g := range filesByGene {
		genes = append(genes, g)
	}
	sort.Strings(genes)
	compared := 0
	for _, gene := range genes {
		files := filesByGene[gene]
		t.Run(gene, func(t *testing.T) {
			merged := filepath.Join(t.TempDir(), gene+".vcf.gz")
			names := mergeVCFs(t, files, merged)
			for _, opts := range modes {
				multi, err := callFile(merged, defs, opts, gene)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]pgx.GeneCall{}
				for _, s := range multi.Samples {
					got[s.Sample] = s.Calls[0]
				}
				for _, f := range files {
					single, err := callFile(f, defs, opts, gene)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range single.Samples {
						m := got[names[[2]string{f, s.Sample}]]
						if diff := cmp.Diff(viewOf(s.Calls[0]), viewOf(m)); diff != "" {
							t.Errorf("%s %s %+v (-single +multi):\n%s", filepath.Base(f), s.Sample, opts, diff)
						}
						compared++
					}
				}
			}
		})
	}
	t.Logf("%d (sample, gene, mode) calls identical in single- and multi-sample files", compared)
}
