package pgx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/vcf"
)

// testDefinitions returns the corpus's definitions, else the built-in ones.
func testDefinitions(t *testing.T) *Definitions {
	t.Helper()
	if d := testcorpus.Dir(); d != "" {
		defs, err := LoadDefinitions(d + "/pgx/definitions")
		if err != nil {
			t.Fatal(err)
		}
		return defs
	}
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return b.Definitions
}

// randomCohortVCF writes a VCF of n samples over every definition position
// of defs. Each sample takes, per gene, one of a few diplotypes drawn from
// the named alleles (so that many samples share genotypes, as in a cohort),
// then each genotype is perturbed with probability noise: missing, partial,
// haploid, phased with or without a phase set, an ALT the definition does
// not know, or a heterozygous call contradicted by AD.
func randomCohortVCF(defs *Definitions, n int, noise float64, rng *rand.Rand) string {
	type line struct {
		chrom string
		pos   int64
		v     *Variant
		def   *GeneDefinition
		vi    int
	}
	var lines []line
	seen := map[Locus]bool{}
	for _, g := range defs.GeneNames() {
		def := defs.Genes[g]
		for vi := range def.Variants {
			l := Locus{vcf.NormalizeChrom(def.Chromosome), def.Variants[vi].Position}
			if seen[l] {
				continue
			}
			seen[l] = true
			lines = append(lines, line{def.Chromosome, def.Variants[vi].Position, &def.Variants[vi], def, vi})
		}
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].chrom != lines[j].chrom {
			return lines[i].chrom < lines[j].chrom
		}
		return lines[i].pos < lines[j].pos
	})
	// Per gene, a few diplotypes; per sample, one of them.
	pool := map[string][][2]int{}
	pick := map[string][]int{}
	for _, g := range defs.GeneNames() {
		def := defs.Genes[g]
		for range 4 {
			pool[g] = append(pool[g], [2]int{rng.IntN(len(def.NamedAlleles)), rng.IntN(len(def.NamedAlleles))})
		}
		pool[g] = append(pool[g], [2]int{0, 0})
		for range n {
			pick[g] = append(pick[g], rng.IntN(len(pool[g])))
		}
	}
	var sb strings.Builder
	sb.WriteString("##fileformat=VCFv4.2\n##reference=GRCh38\n")
	sb.WriteString("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	sb.WriteString("##FORMAT=<ID=PS,Number=1,Type=Integer,Description=\"Phase set\">\n")
	sb.WriteString("##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Depths\">\n")
	sb.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")
	for i := range n {
		sb.WriteString("\tS" + strconv.Itoa(i))
	}
	sb.WriteString("\n")
	for _, l := range lines {
		alts := append([]string(nil), l.v.Alts...)
		if len(alts) == 0 {
			alts = []string{"A"}
			if strings.EqualFold(l.v.Ref, "A") {
				alts = []string{"C"}
			}
		}
		// An extra ALT no definition knows.
		extra := "G"
		for _, b := range []string{"G", "T", "C", "A"} {
			if !strings.EqualFold(b, l.v.Ref) && !strings.Contains(strings.Join(alts, ","), b) {
				extra = b
			}
		}
		alts = append(alts, extra)
		ref := l.def.ReferenceAllele().Alleles[l.vi]
		index := func(a string) int {
			for k, x := range alts[:len(alts)-1] {
				if x == a {
					return k + 1
				}
			}
			_ = ref
			return 0
		}
		fmt.Fprintf(&sb, "%s\t%d\t.\t%s\t%s\t.\tPASS\t.\tGT:PS:AD", l.chrom, l.pos, l.v.Ref, strings.Join(alts, ","))
		for i := range n {
			d := pool[l.def.Gene][pick[l.def.Gene][i]]
			a := index(l.def.NamedAlleles[d[0]].Alleles[l.vi])
			b := index(l.def.NamedAlleles[d[1]].Alleles[l.vi])
			gt := fmt.Sprintf("%d/%d:.:.", a, b)
			if rng.Float64() < noise {
				switch rng.IntN(8) {
				case 0:
					gt = "./.:.:."
				case 1:
					gt = fmt.Sprintf("./%d:.:.", rng.IntN(2))
				case 2:
					gt = fmt.Sprintf("%d:.:.", rng.IntN(2))
				case 3:
					gt = fmt.Sprintf("%d|%d:%d:.", a, 1-min(b, 1), 100+rng.IntN(2))
				case 4:
					gt = fmt.Sprintf("%d|%d:.:.", 1-min(a, 1), b)
				case 5:
					gt = fmt.Sprintf("%d/%d:.:.", a, len(alts))
				case 6:
					gt = "0/1:.:0,7"
				default:
					gt = "0/1:.:5,7"
				}
			}
			sb.WriteString("\t" + gt)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// TestClassesShareExactly: two samples share a class exactly when their
// genotype codes and phase sets agree at every read position of the gene
// and neither has reader notes of its own there; each class's
// representative is its first sample.
func TestClassesShareExactly(t *testing.T) {
	defs := testDefinitions(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 3 {
		text := randomCohortVCF(defs, 150, []float64{0.01, 0.05, 0.3}[trial], rng)
		r, err := vcf.NewReader(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		want := map[Locus]*Variant{}
		for _, g := range defs.GeneNames() {
			addPositions(want, defs.Genes[g])
		}
		tb, err := readTable(context.Background(), r, want)
		if err != nil {
			t.Fatal(err)
		}
		c := NewCaller(defs, nil, Options{})
		for _, g := range defs.GeneNames() {
			p := c.plan(tb, defs.Genes[g])
			cls, reps := p.classes(len(tb.samples))
			noted := func(i int) bool {
				for _, m := range p.noted {
					if len(m[i]) > 0 {
						return true
					}
				}
				return false
			}
			same := func(i, j int) bool {
				if noted(i) || noted(j) {
					return i == j
				}
				for _, col := range p.cols {
					if col == nil {
						continue
					}
					if col.gts[i] != col.gts[j] {
						return false
					}
					pi, oki := col.ps[i]
					pj, okj := col.ps[j]
					if oki != okj || pi != pj {
						return false
					}
				}
				return true
			}
			for i := range cls {
				if cls[i] < 0 || int(cls[i]) >= len(reps) {
					t.Fatalf("%s: sample %d in class %d of %d", g, i, cls[i], len(reps))
				}
				for j := range i {
					if (cls[i] == cls[j]) != same(i, j) {
						t.Fatalf("%s trial %d: samples %d and %d: same class %v, same inputs %v", g, trial, j, i, cls[i] == cls[j], same(i, j))
					}
				}
			}
			for k, rep := range reps {
				if rep < 0 || cls[rep] != int32(k) {
					t.Fatalf("%s: class %d has representative %d", g, k, rep)
				}
				for i := range rep {
					if cls[i] == int32(k) {
						t.Fatalf("%s: class %d: sample %d comes before its representative %d", g, k, i, rep)
					}
				}
			}
		}
	}
}

// TestCallTableEqualsUnshared: callTable, which calls one sample per class,
// gives every sample the call it gets alone, in top, all and combination
// modes, on random cohorts.
func TestCallTableEqualsUnshared(t *testing.T) {
	defs := testDefinitions(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for trial, opts := range []Options{{Mode: MatchTop}, {Mode: MatchAll}, {Mode: MatchTop, Combinations: true}} {
		text := randomCohortVCF(defs, 120, []float64{0.02, 0.1, 0.05}[trial], rng)
		r, err := vcf.NewReader(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		want := map[Locus]*Variant{}
		gs := defs.GeneNames()
		for _, g := range gs {
			addPositions(want, defs.Genes[g])
		}
		tb, err := readTable(context.Background(), r, want)
		if err != nil {
			t.Fatal(err)
		}
		c := NewCaller(defs, nil, opts)
		res, err := c.callTable(context.Background(), tb, gs)
		if err != nil {
			t.Fatal(err)
		}
		alone := NewCaller(defs, nil, opts)
		shared := 0
		for k, g := range gs {
			p := alone.plan(tb, defs.Genes[g])
			cls, reps := p.classes(len(tb.samples))
			shared += len(cls) - len(reps)
			for i := range tb.samples {
				got := res.Samples[i].Calls[k]
				want := alone.callGeneFrom(p.def, tableSource{&p, i}, nil, nil)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%v %s sample %d:\nshared %+v\nalone  %+v", opts, g, i, got, want)
				}
			}
		}
		if shared == 0 {
			t.Errorf("%v: no sample shared a call; the test does not exercise sharing", opts)
		}
	}
}

// TestPipelineEqualsCompleteTable: calling genes while the file is read
// (CallVCF, CallFile) gives the result calling the complete table gives,
// also when the file is unsorted and positions come back on later lines
// (duplicates, a REF mismatch followed by a good record, a record with new
// per-sample notes), which make genes already called dirty.
func TestPipelineEqualsCompleteTable(t *testing.T) {
	defs := testDefinitions(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 4 {
		text := randomCohortVCF(defs, 60, 0.05, rng)
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		var head, body []string
		for _, l := range lines {
			if strings.HasPrefix(l, "#") {
				head = append(head, l)
			} else {
				body = append(body, l)
			}
		}
		if trial > 0 {
			rng.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
		}
		// Lines coming back: exact duplicates, a first copy with a wrong
		// REF (discarded, so the later copy is the position's record), and
		// copies without a base ALT.
		for range 3 * trial {
			i := rng.IntN(len(body))
			f := strings.Split(body[i], "\t")
			switch rng.IntN(3) {
			case 0:
				body = append(body, body[i])
			case 1:
				bad := slices.Clone(f)
				bad[3] = map[bool]string{true: "C", false: "A"}[f[3] == "A"]
				body[i] = strings.Join(bad, "\t")
				body = append(body, strings.Join(f, "\t"))
			default:
				g := slices.Clone(f)
				g[4] = "<*>"
				body = append(body, strings.Join(g, "\t"))
			}
		}
		text = strings.Join(append(head, body...), "\n") + "\n"
		path := filepath.Join(t.TempDir(), "cohort.vcf")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		gs := defs.GeneNames()
		want := map[Locus]*Variant{}
		for _, g := range gs {
			addPositions(want, defs.Genes[g])
		}
		for _, opts := range []Options{{Mode: MatchTop}, {Mode: MatchAll, Combinations: true}} {
			r, err := vcf.NewReader(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			tb, err := readTable(context.Background(), r, want)
			if err != nil {
				t.Fatal(err)
			}
			complete, err := NewCaller(defs, nil, opts).callTable(context.Background(), tb, gs)
			if err != nil {
				t.Fatal(err)
			}
			r, _ = vcf.NewReader(strings.NewReader(text))
			viaVCF, err := NewCaller(defs, nil, opts).CallVCF(context.Background(), r, nil)
			if err != nil {
				t.Fatal(err)
			}
			viaFile, err := NewCaller(defs, nil, opts).CallFile(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]*Result{"CallVCF": viaVCF, "CallFile": viaFile} {
				if !reflect.DeepEqual(complete, got) {
					for i := range complete.Samples {
						for k := range complete.Samples[i].Calls {
							if !reflect.DeepEqual(complete.Samples[i].Calls[k], got.Samples[i].Calls[k]) {
								t.Fatalf("trial %d %v %s: sample %d gene %s:\ncomplete %+v\ngot      %+v", trial, opts, name, i, gs[k], complete.Samples[i].Calls[k], got.Samples[i].Calls[k])
							}
						}
					}
					t.Fatalf("trial %d %v %s: results differ", trial, opts, name)
				}
			}
		}
	}
}
