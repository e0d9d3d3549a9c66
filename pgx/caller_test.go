package pgx_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
	"github.com/google/go-cmp/cmp"
)

// cyp2c19VCF writes a VCF over the built-in CYP2C19 positions, all 0/0 for
// every sample except the given edits (rsID -> one GT per sample).
func cyp2c19VCF(t *testing.T, header string, samples []string, edits map[string][]string, extra string) string {
	t.Helper()
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	def, _ := b.Definitions.Gene("CYP2C19")
	var sb strings.Builder
	sb.WriteString("##fileformat=VCFv4.2\n" + header)
	sb.WriteString("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	sb.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + strings.Join(samples, "\t") + "\n")
	for _, v := range def.Variants {
		gts := edits[v.RSID]
		if gts == nil {
			gts = make([]string, len(samples))
			for i := range gts {
				gts[i] = "0/0"
			}
		}
		sb.WriteString(strings.Join([]string{"chr10", strconv.FormatInt(v.Position, 10), v.RSID, v.Ref, strings.Join(v.Alts, ","), ".", "PASS", ".", "GT", strings.Join(gts, "\t")}, "\t") + "\n")
	}
	sb.WriteString(extra)
	return sb.String()
}

func callText(t *testing.T, text string, opts pgx.Options) (*pgx.Result, error) {
	t.Helper()
	r, err := vcf.NewReader(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pgx.Builtin()
	return pgx.NewCaller(b.Definitions, b.Phenotypes, opts).CallVCF(context.Background(), r, nil)
}

func TestCallVCFMultiSample(t *testing.T) {
	text := cyp2c19VCF(t, "", []string{"A", "B", "C"}, map[string][]string{
		"rs3758581":  {"1/1", "1/1", "1/1"},
		"rs4244285":  {"0/1", "1/1", "0/0"},
		"rs12769205": {"0/1", "1/1", "0/0"},
		"rs12248560": {"0/0", "0/0", "1/1"},
	}, "")
	res, err := callText(t, text, pgx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Sample, Dip, Pheno string }
	var got []row
	for _, s := range res.Samples {
		for _, c := range s.Calls {
			got = append(got, row{s.Sample, strings.Join(c.Diplotypes, ";"), c.Phenotype})
		}
	}
	want := []row{
		{"A", "*1/*2", "Intermediate Metabolizer"},
		{"B", "*2/*2", "Poor Metabolizer"},
		{"C", "*17/*17", "Ultrarapid Metabolizer"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.DataVersion == "" || res.Samples[0].Calls[0].DataVersion != res.DataVersion {
		t.Errorf("data version not recorded: %q", res.DataVersion)
	}
}

func TestCallVCFSplitMultiallelicIsMissing(t *testing.T) {
	// A second line at rs4244285 (split multi-allelic): the position must be
	// dropped as missing, not read from either line.
	extra := "chr10\t94781859\trs4244285\tG\tC\t.\tPASS\t.\tGT\t0/0\n"
	text := cyp2c19VCF(t, "", []string{"A"}, map[string][]string{"rs3758581": {"1/1"}, "rs4244285": {"0/1"}, "rs12769205": {"0/1"}}, extra)
	res, err := callText(t, text, pgx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Samples[0].Calls[0]
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "several VCF lines") || !strings.Contains(strings.Join(c.MissingPositions, ","), "rs4244285") {
		t.Errorf("warnings %v missing %v", c.Warnings, c.MissingPositions)
	}
}

func TestCallVCFBuildMismatch(t *testing.T) {
	text := cyp2c19VCF(t, "##reference=GRCh37\n", []string{"A"}, nil, "")
	if _, err := callText(t, text, pgx.Options{}); !errors.Is(err, pgx.ErrBuild) {
		t.Fatalf("err = %v, want ErrBuild", err)
	}
}

func TestCallVCFCancelled(t *testing.T) {
	r, err := vcf.NewReader(strings.NewReader(cyp2c19VCF(t, "", []string{"A"}, nil, "")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, _ := pgx.Builtin()
	if _, err := pgx.NewCaller(b.Definitions, nil, pgx.Options{}).CallVCF(ctx, r, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
