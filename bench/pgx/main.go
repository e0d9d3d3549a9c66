// Command pgx-bench measures `pgx.Caller.CallFile` (`CallVCF` with
// -generic) on a synthetic biobank VCF and compares it with plain
// decompression of the same file. Each timed run uses a fresh Caller, as one
// `geneguard pgx` run would; the fastest run counts. Wall time and CPU time
// are printed for both sides: on a shared machine the CPU ratio moves less.
//
// It writes a bgzipped VCF of -samples samples over every allele-defining
// position of the definitions (the corpus's eleven genes when present, else
// the built-in CYP2C19), then times `zcat FILE > /dev/null` and a call of
// every gene for every sample in the same run and prints samples per second
// and the ratio.
//
// The cohort: each sample carries two named alleles per gene drawn
// independently from approximate European-ancestry haplotype frequencies
// (alleleFreqs: CYP2C19 *2 15% and *17 21%, CYP2C9 *2 13% and *3 8%,
// UGT1A1 *80+*28 30%, VKORC1 rs9923231 T 39%, DPYD HapB3 2.4% and *2A 0.8%,
// ...), rare named alleles sharing 0.2% per gene; 0.75% of genotypes are
// missing (./.), at a rate that varies from site to site.
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
	"syscall"
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
	fmt.Printf("wrote %s: %d samples x %d positions (%d genes), %.1f MB bgzipped, %.2f%% genotypes missing, in %v\n",
		out, n, positions, len(defs.Genes), float64(st.Size())/1e6, 100*missingFraction, time.Since(t0).Round(time.Millisecond))

	zcat, zcatCPU := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range runs {
		d, cpu, err := timeZcat(out)
		if err != nil {
			return err
		}
		zcat, zcatCPU = min(zcat, d), min(zcatCPU, cpu)
	}
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			profile.Close()
		}()
	}
	call, callCPU := time.Duration(1<<63-1), time.Duration(1<<63-1)
	var res *pgx.Result
	for range runs {
		runtime.GC()
		start, startCPU := time.Now(), cpuTime()
		// A fresh Caller each run: its caches start cold, as in one
		// `geneguard pgx` run over a cohort file.
		caller := pgx.NewCaller(defs, nil, pgx.Options{Mode: pgx.MatchTop})
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
		call, callCPU = min(call, time.Since(start)), min(callCPU, cpuTime()-startCPU)
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
	fmt.Printf("zcat FILE > /dev/null : %8.3f s  (CPU %.3f s)\n", zcat.Seconds(), zcatCPU.Seconds())
	fmt.Printf("pgx %s, all genes: %8.3f s  (CPU %.3f s; %d gene calls: %d called, %d of them tied, %d not called)\n", map[bool]string{true: "CallVCF", false: "CallFile"}[generic], call.Seconds(), callCPU.Seconds(), called+nocall, called, tied, nocall)
	fmt.Printf("samples/second        : %8.0f\n", float64(n)/call.Seconds())
	fmt.Printf("ratio to zcat         : %8.2f  (target <= 3; CPU time ratio %.2f, telling on a busy machine)\n", call.Seconds()/zcat.Seconds(), callCPU.Seconds()/zcatCPU.Seconds())
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

func timeZcat(path string) (wall, cpu time.Duration, err error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	defer null.Close()
	cmd := exec.Command("zcat", path)
	cmd.Stdout = null
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("zcat: %w", err)
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	missing := 0
	genes := defs.GeneNames()
	// Each sample's two alleles per gene: index into NamedAlleles.
	picks := map[string][][2]int{}
	for _, g := range genes {
		def, _ := defs.Gene(g)
		for i, v := range def.Variants {
			sites = append(sites, site{chrom: def.Chromosome, pos: v.Position, rsid: v.RSID, ref: v.Ref, alts: v.Alts, gene: g, variant: i})
		}
		draw := alleleSampler(def)
		p := make([][2]int, n)
		for s := range p {
			p[s] = [2]int{draw(rng.Float64()), draw(rng.Float64())}
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
		// Call rate varies by site: the missing rate is exponential with
		// mean missingRate, capped at 5% (a site worse than that would fail
		// QC and be dropped from a real release).
		miss := min(0.05, rng.ExpFloat64()*missingRate)
		for s := range n {
			if rng.Float64() < miss {
				missing++
				buf[1], buf[3] = '.', '.'
			} else {
				buf[1] = index(def.NamedAlleles[p[s][0]].Alleles[st.variant])
				buf[3] = index(def.NamedAlleles[p[s][1]].Alleles[st.variant])
			}
			w.Write(buf)
		}
		w.WriteString("\n")
	}
	missingFraction = float64(missing) / float64(n*len(sites))
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

// missingRate is the mean fraction of genotypes written as ./. (0.5-1% is
// typical of a genotyped or imputed-and-hard-called biobank release).
const missingRate = 0.0075

// missingFraction is the fraction of ./. genotypes actually written.
var missingFraction float64

// rareShare is the haplotype frequency shared evenly by the named alleles
// that alleleFreqs does not list: rare alleles turn up, as in a real
// cohort, without any one of them being common.
const rareShare = 0.002

// alleleFreqs are approximate haplotype frequencies in people of European
// ancestry, rounded from the CPIC/PharmGKB allele frequency tables (a
// national biobank is mostly of one ancestry; the point is a realistic mix
// of common, uncommon and rare diplotypes, not exact figures). Per gene,
// the allele marked "" gets what the others leave: the most common
// haplotype, which for CYP2C19 is *1, not the definition's reference *38,
// and for CYP3A5 is *3. DPYD's named alleles are single variants, so a
// strand carries at most one of them here.
var alleleFreqs = map[string]map[string]float64{
	"CYP2C19": {"*1": 0, "*2": 0.147, "*3": 0.002, "*17": 0.215, "*38": 0.01},
	"CYP2C9":  {"*1": 0, "*2": 0.127, "*3": 0.076, "*5": 0.0005, "*6": 0.0005, "*8": 0.002, "*11": 0.002},
	"CYP2B6":  {"*1": 0, "*2": 0.05, "*4": 0.03, "*5": 0.09, "*6": 0.235, "*9": 0.002, "*18": 0.0005, "*22": 0.02},
	"CYP3A5":  {"*3": 0, "*1": 0.075, "*6": 0.003, "*7": 0.001},
	"CYP4F2":  {"*1": 0, "*2": 0.10, "*3": 0.20, "*4": 0.08},
	"SLCO1B1": {"*1": 0, "*37": 0.23, "*15": 0.15, "*5": 0.02, "*14": 0.03, "*20": 0.03},
	"TPMT":    {"*1": 0, "*2": 0.002, "*3A": 0.034, "*3B": 0.0003, "*3C": 0.004},
	"NUDT15":  {"*1": 0, "*2": 0.001, "*3": 0.002, "*4": 0.0005, "*5": 0.0005, "*6": 0.001},
	"UGT1A1":  {"*1": 0, "*80+*28": 0.30, "*80": 0.02, "*28": 0.01, "*6": 0.001, "*36": 0.001, "*37": 0.001, "*80+*37": 0.001},
	"VKORC1":  {"rs9923231 reference (C)": 0, "rs9923231 variant (T)": 0.39},
	"DPYD": {"Reference": 0, "c.85T>C (*9A)": 0.17, "c.1627A>G (*5)": 0.18, "c.496A>G": 0.09,
		"c.2194G>A (*6)": 0.05, "c.1896T>C": 0.02, "c.1601G>A (*4)": 0.02,
		"c.1129-5923C>G, c.1236G>A (HapB3)": 0.024, "c.1905+1G>A (*2A)": 0.008,
		"c.2846A>T": 0.005, "c.1679T>G (*13)": 0.0007},
}

// alleleSampler returns a function from a uniform [0,1) draw to the index
// of a named allele of def, following alleleFreqs (a gene it does not list
// gets 90% reference and the rest spread evenly).
func alleleSampler(def *pgx.GeneDefinition) func(u float64) int {
	freqs := alleleFreqs[def.Gene]
	main := -1
	for i, a := range def.NamedAlleles {
		if f, ok := freqs[a.Name]; ok && f == 0 {
			main = i
		}
	}
	if main < 0 {
		for i, a := range def.NamedAlleles {
			if a.Reference {
				main = i
			}
		}
	}
	rare := rareShare
	if freqs == nil {
		rare = 0.1
	}
	nRare := 0
	for i, a := range def.NamedAlleles {
		if _, ok := freqs[a.Name]; !ok && i != main {
			nRare++
		}
	}
	p := make([]float64, len(def.NamedAlleles))
	left := 1.0
	for i, a := range def.NamedAlleles {
		f, ok := freqs[a.Name]
		switch {
		case i == main:
			continue
		case !ok:
			f = rare / float64(nRare)
		}
		p[i] = f
		left -= f
	}
	p[max(main, 0)] += left
	cum := make([]float64, len(p))
	sum := 0.0
	for i, f := range p {
		sum += f
		cum[i] = sum
	}
	return func(u float64) int {
		i := sort.SearchFloat64s(cum, u*sum)
		return min(i, len(cum)-1)
	}
}
