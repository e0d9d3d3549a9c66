package pgx_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/vcf"
)

// TestCallFileEqualsCallVCF: the fast byte reader (CallFile) gives the same
// result as the generic vcf.Reader path (CallVCF) on every corpus VCF —
// generated, PharmCAT static and reader edge cases — in top, all and
// combination modes, and on a merged multi-sample gzip file.
func TestCallFileEqualsCallVCF(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	b := corpusBundle(t)
	var files []string
	filepath.WalkDir(filepath.Join(corpus, "vcf"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".vcf") || strings.HasSuffix(p, ".vcf.gz")) {
			files = append(files, p)
		}
		return nil
	})
	merged := filepath.Join(t.TempDir(), "merged.vcf.gz")
	var gen []string
	for _, f := range files {
		if strings.Contains(f, "/generated/") {
			gen = append(gen, f)
		}
	}
	mergeVCFs(t, gen, merged)
	files = append(files, merged)
	compared := 0
	for _, opts := range []pgx.Options{{Mode: pgx.MatchTop}, {Mode: pgx.MatchAll}, {Mode: pgx.MatchTop, Combinations: true}} {
		c := pgx.NewCaller(b.Definitions, b.Phenotypes, opts)
		for _, f := range files {
			r, err := vcf.Open(f)
			if err != nil {
				continue // files the vcf package refuses are the reader tests' business
			}
			want, werr := c.CallVCF(context.Background(), r, nil)
			r.Close()
			got, gerr := c.CallFile(context.Background(), f, nil)
			if (werr == nil) != (gerr == nil) {
				t.Errorf("%s %v: CallVCF err %v, CallFile err %v", f, opts, werr, gerr)
				continue
			}
			if werr != nil {
				continue
			}
			if !reflect.DeepEqual(want, got) {
				for i := range want.Samples {
					for k := range want.Samples[i].Calls {
						if !reflect.DeepEqual(want.Samples[i].Calls[k], got.Samples[i].Calls[k]) {
							t.Errorf("%s %v %s: CallVCF %+v\nCallFile %+v", f, opts, want.Samples[i].Sample, want.Samples[i].Calls[k], got.Samples[i].Calls[k])
						}
					}
				}
				t.Errorf("%s %v: results differ", f, opts)
			}
			compared++
		}
	}
	t.Logf("%d file×mode results identical", compared)
}

// TestCallFileErrors: a bad GT at a definition position is an error on the
// fast path too.
func TestCallFileErrors(t *testing.T) {
	b := corpusBundle(t)
	def, _ := b.Definitions.Gene("CYP2C19")
	v := def.Variants[0]
	for _, tc := range []struct{ gt, msg string }{
		{"0/3", "refers to allele 3"},
		{"0/x", "bad allele"},
		{"0/1/1", "ploidy 3"},
		{"0/1\t0/0", "11 tab-separated columns, header says 10"},
		{"0/1:5,7\t", "11 tab-separated columns, header says 10"},
	} {
		text := "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n" +
			def.Chromosome + "\t" + strconv.FormatInt(v.Position, 10) + "\t.\t" + v.Ref + "\t" + strings.Join(v.Alts, ",") + "\t.\tPASS\t.\tGT\t" + tc.gt + "\n"
		p := filepath.Join(t.TempDir(), "bad.vcf")
		os.WriteFile(p, []byte(text), 0o644)
		_, err := pgx.NewCaller(b.Definitions, nil, pgx.Options{}).CallFile(context.Background(), p, []string{"CYP2C19"})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("GT %s: err %v, want %q", tc.gt, err, tc.msg)
		}
	}
}
