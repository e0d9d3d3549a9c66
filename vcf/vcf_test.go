package vcf_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/vcf"
)

const good = `##fileformat=VCFv4.2
##contig=<ID=chr10,length=133797422>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage, alt">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	S1	S2	S3
chr10	94761900	rs12248560	C	T	.	PASS	.	GT:DS	0/1:0.9	1|1:2	./.:.
10	94781859	rs4244285	G	A,C	.	PASS	.	GT	0|2	.	1
`

func TestReadGood(t *testing.T) {
	for _, gz := range []bool{false, true} {
		in := []byte(good)
		if gz {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(in)
			w.Close()
			in = b.Bytes()
		}
		r, err := vcf.NewReader(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		h := r.Header()
		if diff := cmp.Diff([]string{"S1", "S2", "S3"}, h.Samples); diff != "" {
			t.Errorf("samples (-want +got):\n%s", diff)
		}
		if h.Build != "GRCh38" {
			t.Errorf("build = %q, want GRCh38 from the contig length", h.Build)
		}
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		var got []vcf.Genotype
		for i := 0; i < rec.NumSamples(); i++ {
			g, err := rec.Genotype(i)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, g)
		}
		want := []vcf.Genotype{{Alleles: []int{0, 1}}, {Alleles: []int{1, 1}, Phased: true}, {Alleles: []int{-1, -1}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("genotypes (-want +got):\n%s", diff)
		}
		if ds, ok := rec.Dosage(0); !ok || ds != 0.9 {
			t.Errorf("DS = %v %v, want 0.9", ds, ok)
		}
		if _, ok := rec.Dosage(2); ok {
			t.Errorf("DS of '.' should be missing")
		}
		rec, err = r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if vcf.NormalizeChrom(rec.Chrom) != "10" || rec.Line != 7 {
			t.Errorf("chrom/line = %s/%d", rec.Chrom, rec.Line)
		}
		g, _ := rec.Genotype(2)
		if diff := cmp.Diff(vcf.Genotype{Alleles: []int{1}, Phased: true}, g); diff != "" {
			t.Errorf("haploid (-want +got):\n%s", diff)
		}
		if _, err := r.Read(); err != io.EOF {
			t.Errorf("want io.EOF, got %v", err)
		}
	}
}

func TestMalformed(t *testing.T) {
	hdr := "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"empty", "", 0, "empty file"},
		{"not vcf", "hello\n", 1, "not a VCF"},
		{"no chrom line", "##fileformat=VCFv4.2\n1\t2\n", 2, "no #CHROM line"},
		{"duplicate sample", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tA\n", 2, "appears twice"},
		{"short row", hdr + "1\t5\t.\tA\tG\t.\t.\t.\tGT\n", 3, "9 tab-separated columns, header says 10"},
		{"bad pos", hdr + "1\tx\t.\tA\tG\t.\t.\t.\tGT\t0/1\n", 3, "POS"},
		{"bad ref", hdr + "1\t5\t.\tAX\tG\t.\t.\t.\tGT\t0/1\n", 3, "REF"},
		{"allele index", hdr + "1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/2\n", 3, "refers to allele 2"},
		{"triploid", hdr + "1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1/1\n", 3, "ploidy 3"},
		{"bad dosage", hdr + "1\t5\t.\tA\tG\t.\t.\t.\tGT:DS\t0/1:3.5\n", 3, "DS"},
		{"late fault", hdr + "1\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\n1\t6\t.\tA\tG\t.\t.\t.\tGT\tx/1\n", 4, "bad allele"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := readAll(c.in)
			var ve *vcf.Error
			if !errors.As(err, &ve) {
				t.Fatalf("want *vcf.Error, got %v", err)
			}
			if ve.Line != c.line || !strings.Contains(ve.Msg, c.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", ve.Line, ve.Msg, c.line, c.msg)
			}
		})
	}
}

func readAll(in string) error {
	r, err := vcf.NewReader(strings.NewReader(in))
	if err != nil {
		return err
	}
	for {
		if _, err := r.Read(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestNormalizeChrom(t *testing.T) {
	for in, want := range map[string]string{"chr10": "10", "10": "10", "chrM": "MT", "MT": "MT", "chrX": "X", "chr": "chr"} {
		if got := vcf.NormalizeChrom(in); got != want {
			t.Errorf("NormalizeChrom(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(good))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readAll(string(data)) // must not panic
	})
}
