package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pgxTestVCF covers the built-in CYP2C19 positions: P1 is *1/*2, P2 misses
// rs28399504 so *1/*4 and *1/*17 tie, P3 carries an ALT the definition does
// not know.
const pgxTestVCF = `##fileformat=VCFv4.2
##contig=<ID=chr10,assembly=GRCh38>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	P1	P2	P3
chr10	94761900	rs12248560	C	T	.	PASS	.	GT	0/0	0/1	0/0
chr10	94762706	rs28399504	A	G	.	PASS	.	GT	0/0	./.	0/0
chr10	94775367	rs12769205	A	G	.	PASS	.	GT	0/1	0/0	0/0
chr10	94775416	rs41291556	T	C	.	PASS	.	GT	0/0	0/0	0/0
chr10	94775453	rs72552267	G	A	.	PASS	.	GT	0/0	0/0	0/0
chr10	94775489	rs17884712	G	A	.	PASS	.	GT	0/0	0/0	0/0
chr10	94780653	rs4986893	G	A	.	PASS	.	GT	0/0	0/0	0/0
chr10	94781858	rs6413438	C	T	.	PASS	.	GT	0/0	0/0	0/0
chr10	94781859	rs4244285	G	A	.	PASS	.	GT	0/1	0/0	0/0
chr10	94781999	rs72558186	T	A	.	PASS	.	GT	0/0	0/0	0/0
chr10	94842866	rs3758581	A	G,T	.	PASS	.	GT	1/1	1/1	1/2
chr10	94852738	rs56337013	C	T	.	PASS	.	GT	0/0	0/0	0/0
`

func pgxTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPGXCommandTSV(t *testing.T) {
	v := pgxTemp(t, "p.vcf", pgxTestVCF)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"pgx", "--vcf", v}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// The trailing warnings column says what must be read with the call:
	// P2's rs28399504 is no-called, so *4 rests on rs12248560 alone.
	want := "sample\tgene\tdiplotypes\tphenotype\twarnings\n" +
		"P1\tCYP2C19\t*1/*2\tIntermediate Metabolizer\t\n" +
		"P2\tCYP2C19\t*1/*4;*1/*17\tIntermediate Metabolizer;Rapid Metabolizer\t1 of 12 CYP2C19 positions missing: rs28399504 (*4) | 2 diplotypes tie at the top score; the data cannot tell them apart, so all are reported\n" +
		"P3\tCYP2C19\tNO_CALL\tn/a\trs3758581: allele T does not match the definition (expected G, found T in VCF)\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPGXCommandJSON(t *testing.T) {
	v := pgxTemp(t, "p.vcf", pgxTestVCF)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"pgx", "--vcf", v, "--format", "json", "--genes", "cyp2c19"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var doc struct {
		DataVersion string `json:"dataVersion"`
		Samples     []struct {
			Sample string `json:"sample"`
			Calls  []struct {
				Diplotypes   []string `json:"diplotypes"`
				Ambiguous    bool     `json:"ambiguous"`
				NoCallReason string   `json:"noCallReason"`
				DataVersion  string   `json:"dataVersion"`
			} `json:"calls"`
			Recommendations []struct {
				Drug, Phenotype, Strength string
				Ambiguous                 bool
			} `json:"recommendations"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if doc.DataVersion == "" || len(doc.Samples) != 3 {
		t.Fatalf("doc = %+v", doc)
	}
	p2 := doc.Samples[1]
	if !p2.Calls[0].Ambiguous || p2.Calls[0].DataVersion != doc.DataVersion {
		t.Errorf("P2 call = %+v", p2.Calls[0])
	}
	// Three drugs, two phenotypes each: every tied phenotype gets guidance.
	if len(p2.Recommendations) != 6 || !p2.Recommendations[0].Ambiguous {
		t.Errorf("P2 recommendations = %+v", p2.Recommendations)
	}
	if r := doc.Samples[2].Calls[0].NoCallReason; !strings.Contains(r, "undocumented") {
		t.Errorf("P3 no-call reason %q", r)
	}
}

func TestPGXCommandErrors(t *testing.T) {
	v := pgxTemp(t, "p.vcf", pgxTestVCF)
	bad := pgxTemp(t, "bad.vcf", pgxTestVCF+"chr10\t94852800\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/0\t0/7\n")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no vcf", []string{"pgx"}, 2, "--vcf is required"},
		{"bad mode", []string{"pgx", "--vcf", v, "--match-mode", "best"}, 2, "want top or all"},
		{"bad format", []string{"pgx", "--vcf", v, "--format", "xml"}, 2, "want tsv, json or html"},
		{"unknown gene", []string{"pgx", "--vcf", v, "--genes", "CYP2D6"}, 1, "CYP2D6"},
		{"missing file", []string{"pgx", "--vcf", v + ".nope"}, 1, "no such file"},
		{"missing definitions", []string{"pgx", "--vcf", v, "--definitions", t.TempDir()}, 1, "_translation.json"},
		{"malformed record", []string{"pgx", "--vcf", bad}, 1, "line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
				t.Errorf("exit %d stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.msg)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty on error: %q", out.String())
			}
		})
	}
}

// TestPGXCommandTSVMissingStar17: a *17/*17 person whose *17 position is
// absent is called *1/*1 (PharmCAT semantics); the TSV's warnings column
// says the call may be *1/*1 only because *17 could not be tested.
func TestPGXCommandTSVMissingStar17(t *testing.T) {
	var lines []string
	for _, l := range strings.Split(pgxTestVCF, "\n") {
		if strings.Contains(l, "rs12248560") {
			continue
		}
		lines = append(lines, l)
	}
	v := pgxTemp(t, "p.vcf", strings.Join(lines, "\n"))
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"pgx", "--vcf", v, "--format", "tsv"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	if rows[0] != "sample\tgene\tdiplotypes\tphenotype\twarnings" {
		t.Fatalf("header %q", rows[0])
	}
	for _, r := range rows[1:] {
		f := strings.Split(r, "\t")
		if len(f) != 5 {
			t.Fatalf("row %q: %d columns", r, len(f))
		}
		if f[0] == "P1" && (f[2] != "*1/*2" || !strings.Contains(f[4], "rs12248560 (*17)") || !strings.Contains(f[4], "only because *17 could not be tested")) {
			t.Errorf("P1 row %q: want *1/*2 with a warning that *17 was not tested", r)
		}
	}
}

// TestPGXCommandOutsideCallsBuiltin: with the built-in bundle, a CYP2C19
// outside call is translated by the bundle's function rules (not "not in
// the phenotype table"), a header line is not taken for a call, and a gene
// the bundle has no phenotype data for is refused saying exactly that and
// how to give a bundle that has it.
func TestPGXCommandOutsideCallsBuiltin(t *testing.T) {
	var lines []string
	for _, l := range strings.Split(pgxTestVCF, "\n") {
		if f := strings.Split(l, "\t"); len(f) > 10 {
			l = strings.Join(f[:10], "\t") // P1 only
		}
		lines = append(lines, l)
	}
	v := pgxTemp(t, "one.vcf", strings.Join(lines, "\n"))
	run1 := func(outside string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"pgx", "--vcf", v, "--outside-calls", pgxTemp(t, "o.tsv", outside)}, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run1("gene\tdiplotype\tphenotype\tactivity score\nCYP2C19\t*2/*17\t\t\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "P1\tCYP2C19\t*2/*17\tIntermediate Metabolizer\toutside call used in place of the call from the VCF (*1/*2)") {
		t.Errorf("outside call with a header line:\n%s", out)
	}
	code, _, errOut = run1("CYP2C19\t*1/*99\n")
	if code == 0 || !strings.Contains(errOut, "line 1: CYP2C19 *1/*99: *99 is not in the bundle's CYP2C19 allele function table") {
		t.Errorf("unknown allele: exit %d, %q", code, errOut)
	}
	code, out, errOut = run1("CYP2D6\t*1/*4\t\t\n")
	for _, want := range []string{"line 1: CYP2D6 outside calls cannot be translated", "built-in bundle", "no phenotype table for CYP2D6 (only for CYP2C19)", "--bundle DIR", "--definitions replaces allele definitions only"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("CYP2D6 with the built-in bundle: exit %d, stderr %q; want %q", code, errOut, want)
		}
	}
	if out != "" {
		t.Errorf("stdout after a refusal: %q", out)
	}
}

// TestPGXCommandUnstatedBuild: a VCF whose header names no genome build is
// read as the definitions' build, and the command says so on stderr (as
// score does) instead of assuming silently; the calls are unchanged.
func TestPGXCommandUnstatedBuild(t *testing.T) {
	v := pgxTemp(t, "p.vcf", strings.Replace(pgxTestVCF, "##contig=<ID=chr10,assembly=GRCh38>\n", "", 1))
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"pgx", "--vcf", v}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "does not state a genome build") || !strings.Contains(errOut.String(), "assumed GRCh38") {
		t.Errorf("stderr %q lacks the assumed-build warning", errOut.String())
	}
	if !strings.Contains(out.String(), "P1\tCYP2C19\t*1/*2\t") {
		t.Errorf("calls changed:\n%s", out.String())
	}
	// A header that states its build gets no such warning.
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"pgx", "--vcf", pgxTemp(t, "q.vcf", pgxTestVCF)}, &out, &errOut); code != 0 || strings.Contains(errOut.String(), "genome build") {
		t.Errorf("stated build: exit %d, stderr %q", code, errOut.String())
	}
}
