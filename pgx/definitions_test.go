package pgx_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
)

const okGene = `{"gene":"G1","chromosome":"chr1","genomeBuild":"GRCh38.p14",
 "variants":[{"position":10,"ref":"A","alts":["G"]},{"position":20,"ref":"C","alts":["T"]}],
 "namedAlleles":[{"name":"*1","alleles":["A","C"],"reference":true},{"name":"*2","alleles":["G",null]}]}`

func TestLoadDefinitionsErrors(t *testing.T) {
	tests := []struct {
		name, file, body string
		wantField        string // "" when the error is not a *DefinitionError
		wantMsg          string
	}{
		{"bad JSON", "G1_translation.json", `{"gene":`, "", "invalid JSON"},
		{"wrong type", "G1_translation.json", `{"gene":"G1","chromosome":"chr1","variants":"x"}`, "variants", "where"},
		{"file name disagrees", "G2_translation.json", okGene, "gene", "does not match the file name"},
		{"no reference", "G1_translation.json", strings.Replace(okGene, `"reference":true`, `"reference":false`, 1), "namedAlleles", "no allele is flagged reference"},
		{"two references", "G1_translation.json", strings.Replace(okGene, `"alleles":["G",null]}`, `"alleles":["G",null],"reference":true}`, 1), "namedAlleles[1].reference", "both flagged"},
		{"allele count", "G1_translation.json", strings.Replace(okGene, `["G",null]`, `["G"]`, 1), "namedAlleles[1].alleles", "1 alleles for 2 variants"},
		{"partial reference", "G1_translation.json", strings.Replace(okGene, `["A","C"]`, `["A",null]`, 1), "namedAlleles[0].alleles", "must define every position"},
		{"bad base", "G1_translation.json", strings.Replace(okGene, `["G",null]`, `["Q",null]`, 1), "namedAlleles[1].alleles[0]", "not a base"},
		{"duplicate position", "G1_translation.json", strings.Replace(okGene, `"position":20`, `"position":10`, 1), "variants[1].position", "defined twice"},
		{"missing ref", "G1_translation.json", strings.Replace(okGene, `"ref":"C",`, ``, 1), "variants[1].ref", "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := pgx.LoadDefinitions(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q should name %s and say %q", err, tc.file, tc.wantMsg)
			}
			var de *pgx.DefinitionError
			if tc.wantField != "" && (!errors.As(err, &de) || de.Field != tc.wantField) {
				t.Errorf("error %#v: want field %q", err, tc.wantField)
			}
		})
	}
}

func TestLoadDefinitionsEmptyAndMissing(t *testing.T) {
	if _, err := pgx.LoadDefinitions(t.TempDir()); !errors.Is(err, pgx.ErrNoDefinitions) {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := pgx.LoadDefinitions(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestLoadDefinitionsValid(t *testing.T) {
	d := loadToy(t)
	g, ok := d.Gene("TOY")
	if !ok {
		t.Fatal("TOY missing")
	}
	if got := g.ReferenceAllele().Name; got != "*1" {
		t.Errorf("reference = %s", got)
	}
	// An indel keeps both coordinates: VCF-anchored and CPIC/HGVS.
	if v := g.Variants[3]; v.Position != 400 || v.CPICPosition != 401 {
		t.Errorf("indel coordinates = %d/%d", v.Position, v.CPICPosition)
	}
	if d.Version != "definitions toy-1" || d.Exemptions["TOY"] == nil {
		t.Errorf("version %q exemptions %v", d.Version, d.Exemptions)
	}
}

// TestLoadCorpusDefinitions reads PharmCAT's own definition files, which
// exercise IUPAC codes, multi-allelic sites, indels and repeats.
func TestLoadCorpusDefinitions(t *testing.T) {
	dir := testcorpus.Require(t, "pgx", "definitions")
	d, err := pgx.LoadDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := d.Gene("CYP2C19")
	if g == nil || g.ReferenceAllele().Name != "*38" {
		t.Fatalf("CYP2C19 reference allele should be *38")
	}
	for _, v := range g.Variants {
		if v.RSID == "rs12248560" && v.CPICToVCF["T"] != "T" {
			t.Errorf("cpicToVcfAlleleMap not loaded: %v", v.CPICToVCF)
		}
	}
	if len(d.Genes) < 10 {
		t.Errorf("only %d genes", len(d.Genes))
	}
}

func FuzzLoadDefinition(f *testing.F) {
	f.Add([]byte(okGene))
	f.Add([]byte(`{"gene":"G1","chromosome":"chr1","variants":[{"position":1,"ref":"A"}],"namedAlleles":[{"name":"*1","alleles":["R"],"reference":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "G1_translation.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := pgx.LoadDefinitions(dir)
		if err != nil {
			return
		}
		// Whatever loads must be callable without panicking.
		c := pgx.NewCaller(d, nil, pgx.Options{Mode: pgx.MatchAll, Combinations: true})
		for _, g := range d.Genes {
			s := pgx.NewSample("s")
			for i, v := range g.Variants {
				alt := v.Ref
				if len(v.Alts) > 0 {
					alt = v.Alts[0]
				}
				s.Set(g.Chromosome, v.Position, pgx.Call{Ref: v.Ref, Alleles: []string{v.Ref, alt}, Phased: i%2 == 0})
			}
			if _, err := c.CallSample(s, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
