// Command pgx-bench measures `pgx.CallVCF` on a synthetic biobank VCF and
// compares it with plain decompression of the same file.
//
// It writes a bgzipped VCF of -samples samples over every allele-defining
// position of the definitions (the corpus's eleven genes when present, else
// the built-in CYP2C19), each sample carrying two named alleles per gene drawn
// with the reference allele most common and a little missing data, then
// times `zcat FILE > /dev/null` and a call of every gene for every sample in
// the same run and prints samples per second and the ratio.
//
// usage: go run ./bench/pgx [-samples 10000] [-definitions DIR] [-out FILE] [-runs 3]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/biogo/hts/bgzf"
	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

func main() {
	samples := flag.Int("samples", 10000, "number of samples")
	defsDir := flag.String("definitions", "", "definitions folder (default: the corpus's, else built-in)")
	out := flag.String("out", filepath.Join(os.TempDir(), "gg-pgx-bench.vcf.gz"), "VCF to write (kept for inspection)")
	runs := flag.Int("runs", 3, "timed runs of each side; the fastest counts")
	seed := flag.Uint64("seed", 7, "random seed")
	flag.BoolVar(&generic, "generic", false, "time CallVCF on vcf.Reader instead of CallFile")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the CallVCF runs to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgx-bench:", err)
			os.Exit(1)
		}
		profile = f
	}
	if err := run(*samples, *defsDir, *out, *runs, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "pgx-bench:", err)
		os.Exit(1)
	}
}

func run(n int, defsDir, out string, runs int, seed uint64) error {
	defs, err := loadDefs(defsDir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	positions, err := writeVCF(out, defs, n, seed)
	if err != nil {
		return err
	}
	st, _ := os.Stat(out)
	fmt.Printf("wrote %s: %d samples x %d positions (%d genes), %.1f MB bgzipped, in %v\n",
		out, n, positions, len(defs.Genes), float64(st.Size())/1e6, time.Since(t0).Round(time.Millisecond))

	zcat := time.Duration(1<<63 - 1)
	for range runs {
		d, err := timeZcat(out)
		if err != nil {
			return err
		}
		zcat = min(zcat, d)
	}
	caller := pgx.NewCaller(defs, nil, pgx.Options{Mode: pgx.MatchTop})
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			profile.Close()
		}()
	}
	call := time.Duration(1<<63 - 1)
	var res *pgx.Result
	for range runs {
		start := time.Now()
		var err error
		if generic {
			var r *vcf.Reader
			if r, err = vcf.Open(out); err != nil {
				return err
			}
			res, err = caller.CallVCF(context.Background(), r, nil)
			r.Close()
		} else {
			res, err = caller.CallFile(context.Background(), out, nil)
		}
		if err != nil {
			return err
		}
		call = min(call, time.Since(start))
	}
	called, nocall, tied := 0, 0, 0
	for _, s := range res.Samples {
		for _, c := range s.Calls {
			switch {
			case !c.Called():
				nocall++
			case len(c.Diplotypes) > 1:
				tied++
				called++
			default:
				called++
			}
		}
	}
	fmt.Printf("CPUs %d (GOMAXPROCS %d)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("zcat FILE > /dev/null : %8.3f s\n", zcat.Seconds())
	fmt.Printf("pgx %s, all genes: %8.3f s  (%d gene calls: %d called, %d of them tied, %d not called)\n", map[bool]string{true: "CallVCF", false: "CallFile"}[generic], call.Seconds(), called+nocall, called, tied, nocall)
	fmt.Printf("samples/second        : %8.0f\n", float64(n)/call.Seconds())
	fmt.Printf("ratio to zcat         : %8.2f  (target <= 3)\n", call.Seconds()/zcat.Seconds())
	return nil
}

// generic times the vcf.Reader path.
var generic bool

// profile, when set, receives a CPU profile of the CallVCF runs.
var profile *os.File

func loadDefs(dir string) (*pgx.Definitions, error) {
	if dir == "" {
		if c := testcorpus.Dir(); c != "" {
			dir = filepath.Join(c, "pgx", "definitions")
		}
	}
	if dir != "" {
		return pgx.LoadDefinitions(dir)
	}
	b, err := pgx.Builtin()
	if err != nil {
		return nil, err
	}
	return b.Definitions, nil
}

func timeZcat(path string) (time.Duration, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := exec.Command("zcat", path)
	cmd.Stdout = null
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("zcat: %w", err)
	}
	return time.Since(start), nil
}

type site struct {
	chrom   string
	pos     int64
	rsid    string
	ref     string
	alts    []string
	gene    string
	variant int
}

// writeVCF writes the synthetic cohort and returns the number of positions.
func writeVCF(path string, defs *pgx.Definitions, n int, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var sites []site
	genes := defs.GeneNames()
	// Each sample's two alleles per gene: index into NamedAlleles.
	picks := map[string][][2]int{}
	for _, g := range genes {
		def, _ := defs.Gene(g)
		for i, v := range def.Variants {
			sites = append(sites, site{chrom: def.Chromosome, pos: v.Position, rsid: v.RSID, ref: v.Ref, alts: v.Alts, gene: g, variant: i})
		}
		ref := 0
		for i, a := range def.NamedAlleles {
			if a.Reference {
				ref = i
			}
		}
		p := make([][2]int, n)
		pick := func() int {
			// About 70% reference; the rest spread over the first
			// dozen named alleles (the common ones in definition order).
			if rng.Float64() < 0.7 {
				return ref
			}
			return rng.IntN(min(12, len(def.NamedAlleles)))
		}
		for s := range p {
			p[s] = [2]int{pick(), pick()}
		}
		picks[g] = p
	}
	sort.Slice(sites, func(i, j int) bool {
		if sites[i].chrom != sites[j].chrom {
			return chromOrder(sites[i].chrom) < chromOrder(sites[j].chrom)
		}
		return sites[i].pos < sites[j].pos
	})
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw := bgzf.NewWriter(f, runtime.GOMAXPROCS(0))
	w := bufio.NewWriterSize(zw, 1<<20)
	fmt.Fprintln(w, "##fileformat=VCFv4.2")
	fmt.Fprintln(w, "##source=geneguard bench/pgx synthetic cohort")
	fmt.Fprintln(w, "##reference=GRCh38")
	fmt.Fprintln(w, `##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">`)
	w.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")
	for s := range n {
		w.WriteString("\tS" + strconv.Itoa(s+1))
	}
	w.WriteString("\n")
	for _, st := range sites {
		def, _ := defs.Gene(st.gene)
		alt := "."
		if len(st.alts) > 0 {
			alt = strings.Join(st.alts, ",")
		}
		w.WriteString(strings.Join([]string{st.chrom, strconv.FormatInt(st.pos, 10), orDot(st.rsid), st.ref, alt, ".", "PASS", ".", "GT"}, "\t"))
		refAllele := ""
		for _, a := range def.NamedAlleles {
			if a.Reference {
				refAllele = a.Alleles[st.variant]
			}
		}
		index := func(allele string) byte {
			if allele == "" || allele == refAllele {
				return '0'
			}
			for k, a := range st.alts {
				if a == allele && k < 9 {
					return byte('1' + k)
				}
			}
			return '0' // IUPAC codes and the like: keep reference
		}
		p := picks[st.gene]
		buf := []byte{'\t', '0', '/', '0'}
		for s := range n {
			if rng.IntN(1000) == 0 {
				buf[1], buf[3] = '.', '.'
			} else {
				buf[1] = index(def.NamedAlleles[p[s][0]].Alleles[st.variant])
				buf[3] = index(def.NamedAlleles[p[s][1]].Alleles[st.variant])
			}
			w.Write(buf)
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return len(sites), f.Close()
}

func orDot(s string) string {
	if s == "" {
		return "."
	}
	return s
}

func chromOrder(c string) int {
	c = vcf.NormalizeChrom(c)
	if n, err := strconv.Atoi(c); err == nil {
		return n
	}
	return 100 + int(c[0])
}
