package demo

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/biogo/hts/bgzf"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/risk"
)

// Person is one synthetic demo person.
type Person struct {
	Code        identity.PersonalCode
	Name        string
	ConsentPGx  bool
	ConsentPRS  bool // the breast-cancer screening algorithm
	ConsentBRCA bool
	ConsentCAD  bool
	CYP2C19     [2]string // the star alleles their genotype was drawn from
	// BRCACarrier marks the one demo person who carries a listed
	// pathogenic BRCA1 variant, so the demo shows a referral.
	BRCACarrier bool
}

var givenNames = []string{"Mari", "Kati", "Liis", "Tiina", "Anu", "Kadri", "Maarja", "Piret", "Triin", "Eve", "Helen", "Kristi", "Reet", "Sirje", "Ülle", "Merike"}
var familyNames = []string{"Maasikas", "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel", "Lepik"}

// CYP2C19 haplotype frequencies used to draw the demo genotypes, rounded
// from CPIC's European frequency table (*2 ≈ 15%, *17 ≈ 21%); the rare
// alleles are over-represented so the demo shows them.
var cyp2c19Freq = []struct {
	allele string
	p      float64
}{{"*1", 0.58}, {"*2", 0.16}, {"*17", 0.21}, {"*3", 0.025}, {"*4", 0.025}}

// Cohort returns n synthetic persons (women born 1955–1990, since the
// breast-cancer service is the demo's second algorithm) with valid personal
// codes. About two in three have opted in to PGx, about half to the PRS.
func Cohort(n int) []Person {
	r := rand.New(rand.NewPCG(1918, 2))
	out := make([]Person, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		y := 55 + r.IntN(36)
		m := 1 + r.IntN(12)
		d := 1 + r.IntN(28)
		serial := 200 + r.IntN(700)
		first10 := fmt.Sprintf("4%02d%02d%02d%03d", y, m, d, serial)
		code := fmt.Sprintf("%s%d", first10, identity.CheckDigit(first10))
		if seen[code] {
			continue
		}
		seen[code] = true
		pc, err := identity.ParsePersonalCode(code)
		if err != nil {
			panic(err) // generated codes are valid by construction
		}
		p := Person{
			Code:       pc,
			Name:       givenNames[len(out)%len(givenNames)] + " " + familyNames[(len(out)/len(givenNames)+len(out))%len(familyNames)],
			ConsentPGx: r.Float64() < 0.67,
			ConsentPRS: r.Float64() < 0.5,
		}
		for k := 0; k < 2; k++ {
			x := r.Float64()
			for _, f := range cyp2c19Freq {
				if x < f.p {
					p.CYP2C19[k] = f.allele
					break
				}
				x -= f.p
			}
			if p.CYP2C19[k] == "" {
				p.CYP2C19[k] = "*1"
			}
		}
		out = append(out, p)
	}
	// Consents to the later algorithms come from their own stream, so the
	// people and genotypes above stay what they were.
	r2 := rand.New(rand.NewPCG(2026, 12))
	for i := range out {
		out[i].ConsentBRCA = r2.Float64() < 0.4
		out[i].ConsentCAD = r2.Float64() < 0.4
	}
	// The first person always shows every path: consented to everything.
	out[0].ConsentPGx, out[0].ConsentPRS, out[0].ConsentBRCA, out[0].ConsentCAD = true, true, true, true
	// The second carries a BRCA1 variant and has opted in to the breast
	// services, so the demo shows a referral that overrides the percentile.
	if len(out) > 1 {
		out[1].BRCACarrier, out[1].ConsentPRS, out[1].ConsentBRCA = true, true, true
	}
	return out
}

type record struct {
	chrom     int
	pos       int
	id        string
	ref       string
	alts      []string
	genotypes []string
}

// WriteVCF writes the cohort's genotypes as a bgzipped VCF (GRCh38, "chr"
// contigs): the CYP2C19 definition positions, drawn from each person's two
// star alleles, and the demo score's variants, drawn under Hardy–Weinberg
// at the score's frequencies. Sample IDs are personal codes.
func WriteVCF(path string, people []Person) error {
	bundle, err := pgx.Builtin()
	if err != nil {
		return err
	}
	def, ok := bundle.Definitions.Gene("CYP2C19")
	if !ok {
		return fmt.Errorf("demo: built-in definitions lack CYP2C19")
	}
	alleles := map[string]pgx.NamedAllele{}
	for _, a := range def.NamedAlleles {
		alleles[a.Name] = a
	}
	var recs []record
	for i, v := range def.Variants {
		rec := record{chrom: 10, pos: int(v.Position), id: v.RSID, ref: v.Ref, alts: v.Alts}
		for _, p := range people {
			var gt [2]int
			for k := 0; k < 2; k++ {
				a, ok := alleles[p.CYP2C19[k]]
				if !ok {
					return fmt.Errorf("demo: no CYP2C19 allele %s in the built-in definitions", p.CYP2C19[k])
				}
				gt[k] = alleleIndex(a.Alleles[i], v.Ref, v.Alts)
			}
			rec.genotypes = append(rec.genotypes, fmt.Sprintf("%d/%d", min(gt[0], gt[1]), max(gt[0], gt[1])))
		}
		recs = append(recs, rec)
	}
	brca, err := brcaSites()
	if err != nil {
		return err
	}
	for k, b := range brca {
		rec := record{chrom: b.chrom, pos: b.pos, id: ".", ref: b.ref, alts: []string{b.alt}}
		for _, p := range people {
			gt := "0/0"
			if p.BRCACarrier && k == 0 {
				gt = "0/1"
			}
			rec.genotypes = append(rec.genotypes, gt)
		}
		recs = append(recs, rec)
	}
	r := rand.New(rand.NewPCG(313, 4))
	for _, v := range demoVariants {
		// REF is the other allele, so the effect allele is ALT.
		rec := record{chrom: v.chrom, pos: v.pos, id: ".", ref: v.other, alts: []string{v.effect}}
		for range people {
			n := 0
			for k := 0; k < 2; k++ {
				if r.Float64() < v.freq {
					n++
				}
			}
			rec.genotypes = append(rec.genotypes, [...]string{"0/0", "0/1", "1/1"}[n])
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].chrom != recs[j].chrom {
			return recs[i].chrom < recs[j].chrom
		}
		return recs[i].pos < recs[j].pos
	})
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	bz := bgzf.NewWriter(f, 1)
	w := bufio.NewWriter(bz)
	if err := writeVCF(w, people, recs); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("demo: %w", err)
	}
	if err := bz.Close(); err != nil {
		f.Close()
		return fmt.Errorf("demo: %w", err)
	}
	return f.Close()
}

func writeVCF(w io.Writer, people []Person, recs []record) error {
	fmt.Fprintln(w, "##fileformat=VCFv4.2")
	fmt.Fprintln(w, "##source=geneguard demo (synthetic genotypes)")
	fmt.Fprintln(w, "##reference=GRCh38")
	for c := 1; c <= 22; c++ {
		fmt.Fprintf(w, "##contig=<ID=chr%d,assembly=GRCh38>\n", c)
	}
	fmt.Fprintln(w, `##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">`)
	fmt.Fprint(w, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")
	for _, p := range people {
		fmt.Fprintf(w, "\t%s", p.Code)
	}
	fmt.Fprintln(w)
	for _, r := range recs {
		_, err := fmt.Fprintf(w, "chr%d\t%d\t%s\t%s\t%s\t.\tPASS\t.\tGT\t%s\n", r.chrom, r.pos, r.id, r.ref, strings.Join(r.alts, ","), strings.Join(r.genotypes, "\t"))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

// alleleIndex maps a definition allele to its VCF allele index; a position
// the allele does not define carries the reference base.
func alleleIndex(a, ref string, alts []string) int {
	if a == "" || a == ref {
		return 0
	}
	for i, alt := range alts {
		if alt == a {
			return i + 1
		}
	}
	return 0
}

type site struct {
	chrom    int
	pos      int
	ref, alt string
}

// brcaSites reads the positions of the built-in BRCA list, so the demo VCF
// covers them (everyone reference except the one carrier).
func brcaSites() ([]site, error) {
	b, err := risk.DataFile(risk.BRCAPathogenicList)
	if err != nil {
		return nil, err
	}
	var out []site
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "gene\t") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			continue
		}
		c, err1 := strconv.Atoi(strings.TrimPrefix(f[1], "chr"))
		p, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("demo: BRCA list row %q", line)
		}
		out = append(out, site{c, p, f[3], f[4]})
	}
	return out, nil
}
