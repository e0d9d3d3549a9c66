package pgx

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/vcf"
)

// TestMissingNote: a *17/*17 sample whose *17 position is absent is
// called *1/*1 (PharmCAT semantics, unchanged); the note says why that
// call may be wrong.
func TestMissingNote(t *testing.T) {
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	const head = "##fileformat=VCFv4.2\n##reference=GRCh38\n##contig=<ID=chr10,assembly=GRCh38>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
	def, _ := b.Definitions.Gene("CYP2C19")
	var rows strings.Builder
	for _, v := range def.Variants {
		if v.RSID == "rs12248560" {
			continue // the *17 position: not in the file
		}
		gt := "0/0"
		if v.RSID == "rs3758581" {
			gt = "1/1" // *1 (the definitions' reference allele is *38)
		}
		rows.WriteString("chr10\t" + strconv.FormatInt(v.Position, 10) + "\t" + v.Label() + "\t" + v.Ref + "\t" + strings.Join(v.Alts, ",") + "\t.\tPASS\t.\tGT\t" + gt + "\n")
	}
	r, err := vcf.NewReader(strings.NewReader(head + rows.String()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewCaller(b.Definitions, b.Phenotypes, Options{Mode: MatchTop}).CallVCF(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Samples[0].Calls[0]
	if strings.Join(c.Diplotypes, ";") != "*1/*1" {
		t.Fatalf("diplotypes %v; the matcher's answer must not change", c.Diplotypes)
	}
	got := b.Definitions.MissingNote(c)
	want := "1 of " + strconv.Itoa(len(def.Variants)) + " CYP2C19 positions missing: rs12248560 (*17) — call may be *1/*1 only because *17 could not be tested"
	if got != want {
		t.Errorf("note\n got %q\nwant %q", got, want)
	}
	c.MissingPositions = nil
	if n := b.Definitions.MissingNote(c); n != "" {
		t.Errorf("nothing missing: %q", n)
	}
}
