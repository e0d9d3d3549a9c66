package prs_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/geneguard/geneguard/prs"
)

const harmonised = `###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring for additional information
#format_version=2.0
##POLYGENIC SCORE (PGS) INFORMATION
#pgs_id=PGS999999
#pgs_name=TINY_BC
#genome_build=GRCh37	
#variants_number=4
##HARMONIZATION DETAILS
#HmPOS_build=GRCh38
#HmPOS_date=2022-07-29
#HmPOS_match_chr={""True"": null, ""False"": null}
chr_name	chr_position	effect_allele	other_allele	effect_weight	allelefrequency_effect	is_dominant	is_recessive	hm_source	hm_rsID	hm_chr	hm_pos	hm_inferOtherAllele
1	100880328	T	A	0.0373	0.4097			liftover		1	100414772	
1	110198129	c	CAAA	4.58E-02	0.7755	True	False	liftover		chr1	109655507	
2	5	G		-0.5	0.1	False	TRUE	liftover		2	6	A
3	7	G		1				Unknown				
`

func TestParseScoringFile(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   string
		want *prs.Score
	}{
		{
			name: "harmonised v2 uses hm columns and HmPOS_build",
			in:   harmonised,
			want: &prs.Score{
				ID: "PGS999999", Name: "TINY_BC", Source: "f", FormatVersion: "2.0",
				GenomeBuild: "GRCh37", HarmonisedBuild: "GRCh38", Build: "GRCh38",
				Variants: []prs.Variant{
					{Line: 13, Chrom: "1", Pos: 100414772, EffectAllele: "T", OtherAllele: "A", Weight: 0.0373, Effect: prs.Additive, Freq: 0.4097},
					{Line: 14, Chrom: "1", Pos: 109655507, EffectAllele: "C", OtherAllele: "CAAA", Weight: 0.0458, Effect: prs.Dominant, Freq: 0.7755},
					{Line: 15, Chrom: "2", Pos: 6, EffectAllele: "G", OtherAllele: "A", Weight: -0.5, Effect: prs.Recessive, Freq: 0.1},
					{Line: 16, EffectAllele: "G", Weight: 1, Effect: prs.Additive, Freq: nan, NoPosReason: "no harmonised position (hm_source=Unknown)"},
				},
			},
		},
		{
			name: "custom minimal file, other allele optional, name as ID",
			in:   "#pgs_name=mine\n#genome_build=hg19\nchr_name\tchr_position\teffect_allele\teffect_weight\nchrX\t10\tA\t-1e-3\n",
			want: &prs.Score{
				ID: "mine", Name: "mine", Source: "f", GenomeBuild: "GRCh37", Build: "GRCh37",
				Variants: []prs.Variant{{Line: 4, Chrom: "X", Pos: 10, EffectAllele: "A", Weight: -1e-3, Effect: prs.Additive, Freq: nan}},
			},
		},
		{
			name: "no header at all, ID from the file name, weight from OR",
			in:   "chr_name\tchr_position\teffect_allele\tother_allele\tOR\n5\t1\tA\tC/G\t2\n",
			want: &prs.Score{
				ID: "f", Source: "f",
				Variants: []prs.Variant{{Line: 2, Chrom: "5", Pos: 1, EffectAllele: "A", Weight: math.Log(2), Effect: prs.Additive, Freq: nan}},
			},
		},
		{
			name: "omicspred alias, CRLF, trailing tabs",
			in:   "#omicspred_id=OPGS1\r\n#genome_build=NR\t\t\r\nrsid\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\t\r\nrs1\t7\t9\tT\tC\t-0.5\r\n",
			want: &prs.Score{
				ID: "OPGS1", Source: "f",
				Variants: []prs.Variant{{Line: 4, Chrom: "7", Pos: 9, EffectAllele: "T", OtherAllele: "C", Weight: -0.5, Effect: prs.Additive, Freq: nan}},
			},
		},
	}
	opts := []cmp.Option{cmpopts.EquateNaNs(), cmpopts.IgnoreFields(prs.Score{}, "Header")}
	for _, tc := range tests {
		for _, gz := range []bool{false, true} {
			in := []byte(tc.in)
			if gz {
				in = gzipped(t, in)
			}
			got, err := prs.ParseScoringFile(bytes.NewReader(in), "f")
			if err != nil {
				t.Fatalf("%s (gzip %v): %v", tc.name, gz, err)
			}
			if diff := cmp.Diff(tc.want, got, append(opts, cmp.AllowUnexported())...); diff != "" {
				t.Errorf("%s (gzip %v) (-want +got):\n%s", tc.name, gz, diff)
			}
		}
	}
}

func TestParseScoringFileErrors(t *testing.T) {
	const cols = "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n"
	tests := []struct {
		name string
		in   string
		line int
		want []string // substrings of the message
	}{
		{"legacy v1 header", "### PGS CATALOG\n# PGS ID = PGS000004\n" + cols, 2, []string{"legacy", "v1", "format 2.0"}},
		{"legacy v1 column", "chr_name\tchr_position\teffect_allele\treference_allele\teffect_weight\n1\t1\tA\tG\t1\n", 1, []string{"reference_allele", "v1"}},
		{"format version", "#format_version=1.0\n" + cols, 1, []string{"format_version", "2.0"}},
		{"haplotype row", "chr_name\tchr_position\teffect_allele\teffect_weight\tis_haplotype\n1\t1\tA\t1\tFALSE\n6\t2\tHLA-A*03:01\t1\tTRUE\n", 3, []string{"haplotype", "HLA-A*03:01"}},
		{"diplotype row", "chr_name\tchr_position\teffect_allele\teffect_weight\tis_diplotype\n6\t2\tA\t1\tTrue\n", 2, []string{"diplotype"}},
		{"interaction row", "chr_name\tchr_position\teffect_allele\teffect_weight\tis_interaction\n6\t2\tA\t1\tTrue\n", 2, []string{"interaction"}},
		{"named allele", cols + "6\t2\tHLA-DQB1_30_Y\t\t1\n", 2, []string{"not a nucleotide", "HLA"}},
		{"non-numeric weight", cols + "1\t5\tA\tG\t0.1\n1\t6\tA\tG\tabc\n", 3, []string{"effect_weight", `"abc"`, "not a finite number"}},
		{"empty weight", cols + "1\t5\tA\tG\t\n", 2, []string{"effect_weight is empty"}},
		{"bad position", cols + "1\t-5\tA\tG\t1\n", 2, []string{"position", `"-5"`}},
		{"bad frequency", "chr_name\tchr_position\teffect_allele\teffect_weight\tallelefrequency_effect\n1\t5\tA\t1\t1.5\n", 2, []string{"allelefrequency_effect", "1.5"}},
		{"dominant and recessive", "chr_name\tchr_position\teffect_allele\teffect_weight\tis_dominant\tis_recessive\n1\t5\tA\t1\tTrue\tTrue\n", 2, []string{"both is_dominant and is_recessive"}},
		{"missing columns", "chr_name\teffect_allele\n1\tA\n", 1, []string{"missing required column(s) chr_position, effect_weight"}},
		{"rsID only", "#pgs_id=PGS000001\nrsID\tchr_name\teffect_allele\teffect_weight\nrs1\t1\tA\t1\n", 2, []string{"chr_position", "PGS000001_hmPOS_GRCh38.txt.gz"}},
		{"plink2 score file", "ID\teffect_allele\tw\n1:1:A:G\tA\t1\n", 1, []string{"plink2 --score"}},
		{"normalised intermediate", "chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\teffect_type\taccession\n", 1, []string{"intermediate"}},
		{"genotype weights", "chr_name\tchr_position\teffect_allele\tdosage_0_weight\tdosage_1_weight\tdosage_2_weight\n", 1, []string{"non-additive"}},
		{"unknown build", "#genome_build=hg17\n" + cols, 1, []string{"genome_build", "hg17"}},
		{"no rows", "#pgs_id=x\n" + cols, 0, []string{"no variant rows"}},
		{"empty", "", 0, []string{"no column header"}},
		{"all positions failed", "#HmPOS_build=GRCh38\nchr_name\tchr_position\teffect_allele\teffect_weight\thm_source\thm_chr\thm_pos\n\t\tA\t1\tUnknown\t\t\n", 0, []string{"none of the 1 rows", "hm_source=Unknown"}},
		{"short row", cols + "1\t5\n", 2, []string{"2 tab-separated fields"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := prs.ParseScoringFile(strings.NewReader(tc.in), "s.txt")
			var pe *prs.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *prs.ParseError", err)
			}
			if pe.File != "s.txt" || pe.Line != tc.line {
				t.Errorf("at %s:%d, want s.txt:%d", pe.File, pe.Line, tc.line)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func FuzzParseScoringFile(f *testing.F) {
	f.Add([]byte(harmonised))
	f.Add([]byte("chr_name\tchr_position\teffect_allele\teffect_weight\n1\t1\tA\t1\n"))
	f.Add([]byte("# PGS ID = x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := prs.ParseScoringFile(bytes.NewReader(in), "fuzz")
		if err != nil {
			var pe *prs.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if len(s.Variants) == 0 || s.ID == "" {
			t.Fatalf("accepted a score with %d variants and ID %q", len(s.Variants), s.ID)
		}
		for _, v := range s.Variants {
			if v.EffectAllele == "" || math.IsNaN(v.Weight) || math.IsInf(v.Weight, 0) {
				t.Fatalf("accepted bad row %+v", v)
			}
		}
	})
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
