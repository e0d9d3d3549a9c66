package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
)

// TestPGXCommandBundleOutsideCalls runs the command as an operator would:
// the CPIC/PharmCAT bundle folder, a single-sample VCF and a lab's CYP2D6
// outside call, and checks the JSON report end to end.
func TestPGXCommandBundleOutsideCalls(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	oc := pgxTemp(t, "outside.tsv", "# lab calls\nCYP2D6\t*4/*10\tIntermediate Metabolizer\t\n")
	var out, errOut bytes.Buffer
	args := []string{"pgx", "--bundle", corpus, "--vcf", filepath.Join(corpus, "vcf/generated/cyp2c19_s1s2.vcf"),
		"--outside-calls", oc, "--format", "json", "--drugs", "amitriptyline,clopidogrel,sertraline,nortriptyline"}
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var doc struct {
		DataVersion string `json:"dataVersion"`
		Samples     []struct {
			Calls []struct {
				Gene           string   `json:"gene"`
				Diplotypes     []string `json:"diplotypes"`
				Phenotype      string   `json:"phenotype"`
				ActivityScores []string `json:"activityScores"`
				OutsideCall    bool     `json:"outsideCall"`
				DataVersion    string   `json:"dataVersion"`
			} `json:"calls"`
			Recommendations []struct {
				Drug, Strength, Population, DataVersion string
				LookupKey                               map[string]string
			} `json:"recommendations"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(doc.DataVersion, "sha256:") || len(doc.Samples) != 1 {
		t.Fatalf("doc version %q, %d samples", doc.DataVersion, len(doc.Samples))
	}
	s := doc.Samples[0]
	calls := map[string]int{}
	for i, c := range s.Calls {
		calls[c.Gene] = i
		if c.DataVersion == "" {
			t.Errorf("%s: no data version", c.Gene)
		}
	}
	d6 := s.Calls[calls["CYP2D6"]]
	if !d6.OutsideCall || d6.Phenotype != "Intermediate Metabolizer" || strings.Join(d6.ActivityScores, "") != "0.25" {
		t.Errorf("CYP2D6 = %+v", d6)
	}
	if c := s.Calls[calls["CYP2C19"]]; strings.Join(c.Diplotypes, ";") != "*1/*2" || c.Phenotype != "Intermediate Metabolizer" {
		t.Errorf("CYP2C19 = %+v", c)
	}
	got := map[string][]string{}
	for _, r := range s.Recommendations {
		got[r.Drug] = append(got[r.Drug], r.Population+":"+r.Strength)
		if r.DataVersion == "" {
			t.Errorf("%s: no data version", r.Drug)
		}
	}
	want := map[string][]string{
		// CYP2D6 AS 0.25 with CYP2C19 IM: TCA grid "Optional".
		"amitriptyline": {"general:Optional"},
		"nortriptyline": {"general:Moderate"},
		"clopidogrel":   {"CVI ACS PCI:Strong", "CVI non-ACS non-PCI:", "NVI:Moderate"},
		// CYP2B6 is not called from this CYP2C19-only file: "No Result".
		"sertraline": {"general:Moderate"},
	}
	for drug, w := range want {
		if strings.Join(got[drug], ",") != strings.Join(w, ",") {
			t.Errorf("%s: %v, want %v", drug, got[drug], w)
		}
	}
}

func TestPGXCommandOutsideCallErrors(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	multi := pgxTemp(t, "m.vcf", pgxTestVCF)
	one := filepath.Join(corpus, "vcf/generated/cyp2c19_s1s2.vcf")
	for _, tc := range []struct {
		name, vcf, outside, msg string
		code                    int
	}{
		{"multi-sample", multi, "CYP2D6\t*1/*2\n", "describe one person, but the VCF has 3 samples", 2},
		{"xN", one, "CYP2D6\t*1xN/*2\n", "line 1: CYP2D6 *1xN/*2", 1},
		{"unknown gene", one, "FOO1\t*1/*2\n", "no phenotype table", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"pgx", "--bundle", corpus, "--vcf", tc.vcf, "--outside-calls", pgxTemp(t, "o.tsv", tc.outside)}
			if code := run(context.Background(), args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.msg) || out.Len() != 0 {
				t.Errorf("exit %d stderr %q stdout %d bytes; want %d and %q", code, errOut.String(), out.Len(), tc.code, tc.msg)
			}
		})
	}
}
