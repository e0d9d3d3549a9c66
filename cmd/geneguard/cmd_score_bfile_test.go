package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/risk"
)

// The PLINK 1 form of scoreTestVCF: A1 = ALT, A2 = REF. Variant 1: P1 het
// (10), P2 missing (01) → byte 0b0110 = 0x06. Variant 2: P1 A1/A1 (00),
// P2 het (10) → 0b1000 = 0x08.
func TestScoreCommandBfile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g")
	os.WriteFile(p+".bed", []byte{0x6c, 0x1b, 0x01, 0x06, 0x08}, 0o644)
	os.WriteFile(p+".bim", []byte("1\tv1\t0\t100\tA\tG\n1\tv2\t0\t200\tT\tC\n"), 0o644)
	os.WriteFile(p+".fam", []byte("P1 P1 0 0 2 -9\nP2 P2 0 0 2 -9\n"), 0o644)
	s := writeTemp(t, "s.txt", scoreTestFile)
	ref := filepath.Join(dir, "reference.json")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"score", "--bfile", p, "--scores", s, "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// Same sums as the VCF path (TestScoreCommand).
	want := "sample\tpgs_id\tsum\tvariants_matched\tvariants_total\nP1\tPGS000123\t0.1\t2\t3\nP2\tPGS000123\t0.3\t2\t3\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// Only P1 is complete: one score cannot make a distribution.
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"score", "--bfile", p, "--scores", s, "-q", "--reference-out", ref, "--reference-cohort", "two people"}, &out, &errOut); code == 0 || out.Len() != 0 ||
		!strings.Contains(errOut.String(), "1 complete scores; need at least 2") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(ref); err == nil {
		t.Error("reference written from one complete score")
	}
	if code := run(context.Background(), []string{"score", "--bfile", p, "--scores", s, "-q", "--missing", "freq", "--reference-out", ref, "--reference-cohort", "two people"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	r, err := risk.ParseReference(b)
	if err != nil {
		t.Fatal(err)
	}
	// Sums 0.1 and 0.35 (P2's missing call imputed at 2×0.25×0.1).
	if r.N != 2 || r.VariantsScored != 2 || r.Cohort != "two people" || r.Policy != "freq" || abs(r.Mean-0.225) > 1e-12 || abs(r.SD-0.1767766952966369) > 1e-12 {
		t.Errorf("reference %+v", r)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestScoreCommandUsage(t *testing.T) {
	s := writeTemp(t, "s.txt", scoreTestFile)
	v := writeTemp(t, "g.vcf", scoreTestVCF)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--scores", s}, "--vcf and --scores are required"},
		{[]string{"--scores", s, "--vcf", v, "--bfile", "x"}, "--vcf FILE or --bfile PREFIX, not both"},
		{[]string{"--scores", s, "--vcf", v, "--reference-out", "r.json"}, "--reference-cohort"},
		{[]string{"--scores", s, "--bfile", "/nonexistent/x"}, "no such file"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append([]string{"score"}, c.args...), &out, &errOut); code == 0 || !strings.Contains(errOut.String(), c.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut.String(), c.want)
		}
	}
}
