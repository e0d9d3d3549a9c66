package pgx_test

import (
	"context"
	"github.com/geneguard/geneguard/vcf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
	"github.com/google/go-cmp/cmp"
)

func corpusBundle(t *testing.T) *pgx.Bundle {
	t.Helper()
	b, err := pgx.LoadBundle(testcorpus.Require(t, "pgx"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyed is a one-diplotype call whose lookup key is key (a phenotype, or an
// activity score for CYP2D6).
func keyed(gene, key string) pgx.GeneCall {
	return pgx.GeneCall{Gene: gene, Diplotypes: []string{"a/b"}, Phenotypes: []string{key}, LookupKeys: []string{key}, DataVersion: "v"}
}

func TestImportedBundleVersioned(t *testing.T) {
	b := corpusBundle(t)
	v := b.Definitions.Version
	for _, want := range []string{"sha256:", "definitions 2025-11-05", "phenotypes 2", "guidelines 2024-03-25"} {
		if !strings.Contains(v, want) {
			t.Errorf("version %q lacks %q", v, want)
		}
	}
	if b.Phenotypes.Version != v || b.Guidance.Version != v {
		t.Errorf("parts carry different versions")
	}
	if _, ok := b.Phenotypes.Genes["CYP2D6"]; !ok {
		t.Errorf("CYP2D6 table (phenotypes/cpic-dpwg-2024-03/cpic_CYP2D6.json.gz) not loaded")
	}
	want := "amitriptyline,citalopram,clopidogrel,escitalopram,fluvoxamine,nortriptyline,paroxetine,sertraline,venlafaxine,vortioxetine"
	if got := strings.Join(b.Guidance.Drugs(), ","); got != want {
		t.Errorf("drugs %s", got)
	}
}

// TestImportedGuidanceStrengths checks lookups against the strengths stated
// in design/facts-pgx-cpic.md (our own reading of the 2023 SSRI, 2016 TCA
// and 2022 clopidogrel guidelines). "" is "no recommendation".
func TestImportedGuidanceStrengths(t *testing.T) {
	b := corpusBundle(t)
	const (
		UM, RM, NM, IM = "Ultrarapid Metabolizer", "Rapid Metabolizer", "Normal Metabolizer", "Intermediate Metabolizer"
		LIM, PM, LPM   = "Likely Intermediate Metabolizer", "Poor Metabolizer", "Likely Poor Metabolizer"
	)
	tests := []struct {
		drug  string
		calls []pgx.GeneCall
		want  []string // strength per recommendation (per population for clopidogrel)
	}{
		{"citalopram", []pgx.GeneCall{keyed("CYP2C19", UM)}, []string{"Strong"}},
		{"escitalopram", []pgx.GeneCall{keyed("CYP2C19", RM)}, []string{"Optional"}},
		{"citalopram", []pgx.GeneCall{keyed("CYP2C19", NM)}, []string{"Strong"}},
		{"escitalopram", []pgx.GeneCall{keyed("CYP2C19", LIM)}, []string{"Moderate"}},
		{"citalopram", []pgx.GeneCall{keyed("CYP2C19", LPM)}, []string{"Strong"}},
		{"citalopram", []pgx.GeneCall{keyed("CYP2C19", pgx.Indeterminate)}, []string{""}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2C19", PM)}, []string{"Moderate"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2C19", IM), keyed("CYP2B6", NM)}, []string{"Moderate"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2B6", RM)}, []string{"Strong"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2B6", RM), keyed("CYP2C19", NM)}, []string{"Moderate"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2B6", IM)}, []string{"Optional"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2B6", PM), keyed("CYP2C19", NM)}, []string{"Optional"}},
		{"sertraline", []pgx.GeneCall{keyed("CYP2B6", PM), keyed("CYP2C19", PM)}, []string{"Optional"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "2.0"), keyed("CYP2C19", NM)}, []string{"Strong"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "1.0"), keyed("CYP2C19", NM)}, []string{"Moderate"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "0.0"), keyed("CYP2C19", NM)}, []string{"Strong"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "3.0"), keyed("CYP2C19", NM)}, []string{"Strong"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "2.0"), keyed("CYP2C19", PM)}, []string{"Moderate"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2D6", "1.0"), keyed("CYP2C19", IM)}, []string{"Optional"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2C19", RM)}, []string{"Optional"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2C19", PM)}, []string{"Moderate"}},
		{"amitriptyline", []pgx.GeneCall{keyed("CYP2C19", NM)}, []string{"Strong"}},
		{"nortriptyline", []pgx.GeneCall{keyed("CYP2D6", "0.5")}, []string{"Moderate"}},
		{"nortriptyline", []pgx.GeneCall{keyed("CYP2D6", "1.0")}, []string{"Optional"}},
		{"nortriptyline", []pgx.GeneCall{keyed("CYP2D6", "0.0")}, []string{"Strong"}},
		{"nortriptyline", []pgx.GeneCall{keyed("CYP2D6", "≥3.0")}, []string{"Strong"}},
		{"nortriptyline", []pgx.GeneCall{keyed("CYP2D6", "n/a")}, []string{""}},
		{"paroxetine", []pgx.GeneCall{keyed("CYP2D6", "3.0")}, []string{"Moderate"}},
		{"paroxetine", []pgx.GeneCall{keyed("CYP2D6", "1.25")}, []string{"Strong"}},
		{"paroxetine", []pgx.GeneCall{keyed("CYP2D6", "0.5")}, []string{"Optional"}},
		{"paroxetine", []pgx.GeneCall{keyed("CYP2D6", "0.0")}, []string{"Moderate"}},
		{"fluvoxamine", []pgx.GeneCall{keyed("CYP2D6", "3.0")}, []string{""}},
		{"fluvoxamine", []pgx.GeneCall{keyed("CYP2D6", "2.0")}, []string{"Strong"}},
		{"fluvoxamine", []pgx.GeneCall{keyed("CYP2D6", "1.0")}, []string{"Moderate"}},
		{"fluvoxamine", []pgx.GeneCall{keyed("CYP2D6", "0.0")}, []string{"Optional"}},
		{"venlafaxine", []pgx.GeneCall{keyed("CYP2D6", "3.0")}, []string{""}},
		{"venlafaxine", []pgx.GeneCall{keyed("CYP2D6", "0.25")}, []string{""}},
		{"venlafaxine", []pgx.GeneCall{keyed("CYP2D6", "2.25")}, []string{"Strong"}},
		{"venlafaxine", []pgx.GeneCall{keyed("CYP2D6", "0.0")}, []string{"Optional"}},
		{"vortioxetine", []pgx.GeneCall{keyed("CYP2D6", "≥4.0")}, []string{"Optional"}},
		{"vortioxetine", []pgx.GeneCall{keyed("CYP2D6", "1.5")}, []string{"Strong"}},
		{"vortioxetine", []pgx.GeneCall{keyed("CYP2D6", "0.75")}, []string{"Moderate"}},
		{"vortioxetine", []pgx.GeneCall{keyed("CYP2D6", "0.0")}, []string{"Moderate"}},
		{"clopidogrel", []pgx.GeneCall{keyed("CYP2C19", NM)}, []string{"CVI ACS PCI Strong", "CVI non-ACS non-PCI Strong", "NVI Strong"}},
		{"clopidogrel", []pgx.GeneCall{keyed("CYP2C19", LIM)}, []string{"CVI ACS PCI Strong", "CVI non-ACS non-PCI ", "NVI Moderate"}},
		{"clopidogrel", []pgx.GeneCall{keyed("CYP2C19", PM)}, []string{"CVI ACS PCI Strong", "CVI non-ACS non-PCI Moderate", "NVI Moderate"}},
		{"clopidogrel", []pgx.GeneCall{keyed("CYP2C19", UM)}, []string{"CVI ACS PCI Strong", "CVI non-ACS non-PCI ", "NVI "}},
		{"clopidogrel", []pgx.GeneCall{keyed("CYP2C19", pgx.Indeterminate)}, []string{"CVI ACS PCI ", "CVI non-ACS non-PCI ", "NVI "}},
	}
	for _, tc := range tests {
		recs, err := b.Guidance.Recommend(tc.calls, tc.drug)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			s := r.Strength
			if r.Population != "" && r.Population != "general" {
				s = r.Population + " " + s
			}
			got = append(got, s)
			if r.Text == "" || r.DataVersion == "" || r.Source == "" {
				t.Errorf("%s: incomplete recommendation %+v", tc.drug, r)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tc.drug, tc.calls, diff)
		}
	}
}

func TestImportedGuidanceAmbiguousAndUntested(t *testing.T) {
	b := corpusBundle(t)
	tie := pgx.GeneCall{Gene: "CYP2C19", Diplotypes: []string{"*1/*4", "*1/*17"},
		Phenotypes: []string{"Intermediate Metabolizer", "Rapid Metabolizer"}, LookupKeys: []string{"Intermediate Metabolizer", "Rapid Metabolizer"}, Ambiguous: true}
	recs, err := b.Guidance.Recommend([]pgx.GeneCall{tie}, "clopidogrel")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d recommendations, want 2 phenotypes × 3 populations", len(recs))
	}
	for _, r := range recs {
		if !r.Ambiguous || len(r.Diplotypes) != 1 {
			t.Errorf("tied call not marked: %+v", r)
		}
	}
	// Sertraline with CYP2B6 absent takes the "No Result" rows and says so.
	recs, _ = b.Guidance.Recommend([]pgx.GeneCall{keyed("CYP2C19", "Poor Metabolizer")}, "sertraline")
	if len(recs) != 1 || recs[0].LookupKey["CYP2B6"] != pgx.NoResult || !strings.Contains(recs[0].Note, "CYP2B6 not tested") {
		t.Errorf("sertraline without CYP2B6: %+v", recs)
	}
	// A single-gene guideline whose gene was not called says so plainly.
	recs, _ = b.Guidance.Recommend([]pgx.GeneCall{{Gene: "CYP2C19", NoCallReason: "undocumented variation"}}, "citalopram")
	if len(recs) != 1 || recs[0].Strength != "" || !strings.Contains(recs[0].Text, "not called (undocumented variation)") {
		t.Errorf("no-call: %+v", recs)
	}
}

// TestImportedBundleEndToEnd calls a corpus VCF with the imported bundle:
// phenotypes come from the CPIC table and every result records the bundle
// version.
func TestImportedBundleEndToEnd(t *testing.T) {
	b := corpusBundle(t)
	corpus := testcorpus.Require(t, "pgx")
	c := pgx.NewCaller(b.Definitions, b.Phenotypes, pgx.Options{})
	res := callWith(t, c, filepath.Join(corpus, "vcf/generated/cyp2c19_s1s2.vcf"))
	var got pgx.GeneCall
	for _, gc := range res.Samples[0].Calls {
		if gc.Gene == "CYP2C19" {
			got = gc
		}
		if gc.DataVersion != b.Definitions.Version {
			t.Errorf("%s data version %q", gc.Gene, gc.DataVersion)
		}
	}
	if got.Phenotype != "Intermediate Metabolizer" {
		t.Fatalf("CYP2C19 %v %q", got.Diplotypes, got.Phenotype)
	}
	recs, err := b.Guidance.Recommend(res.Samples[0].Calls, "clopidogrel")
	if err != nil || len(recs) != 3 {
		t.Fatalf("clopidogrel: %v %+v", err, recs)
	}
	if !strings.Contains(recs[0].DataVersion, "sha256:") {
		t.Errorf("recommendation version %q", recs[0].DataVersion)
	}
}

// TestLoadBundleFSImportedLayout is how the runner gets an algorithm
// version's files: the CPIC/PharmCAT layout must load from any fs.FS.
func TestLoadBundleFSImportedLayout(t *testing.T) {
	corpus := testcorpus.Require(t, "pgx")
	m := fstest.MapFS{}
	for _, sub := range []string{"definitions", "phenotypes", "phenotypes/cpic-dpwg-2024-03", "guidelines"} {
		ents, err := os.ReadDir(filepath.Join(corpus, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(corpus, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[sub+"/"+e.Name()] = &fstest.MapFile{Data: data}
		}
	}
	b, err := pgx.LoadBundleFS(m, "pgx-cpic@2024.03#abc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Definitions.Version, "pgx-cpic@2024.03#abc pgx-bundle sha256:") || len(b.Guidance.Guidelines) != 9 {
		t.Errorf("version %q, %d guidelines", b.Definitions.Version, len(b.Guidance.Guidelines))
	}
}

func callWith(t *testing.T, c *pgx.Caller, path string) *pgx.Result {
	t.Helper()
	r, err := vcf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := c.CallVCF(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
