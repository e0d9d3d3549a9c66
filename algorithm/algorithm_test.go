package algorithm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/algorithm"
)

// TestManifestRules: a manifest as `algorithm submit` reads it (ParseManifest,
// then New) is registered only when it is well-formed and says truthfully
// what the algorithm reads; every refusal wraps ErrInvalid and names the
// field and what is allowed.
func TestManifestRules(t *testing.T) {
	// pgx, prs and monogenic manifests as the README and the built-ins
	// write them; each case edits one field of the prs one.
	const (
		pgx = `{"id": "pgx-cyp2c19-antidepressants", "version": "geneguard-builtin-2025.12.1", "kind": "pgx",
			"title": "CYP2C19", "purpose": "Reads your CYP2C19 gene.", "inputs": {"genotypes": true},
			"drugs": ["citalopram", "sertraline"]}`
		monogenic = `{"id": "monogenic-brca1-example", "version": "1", "kind": "monogenic",
			"title": "BRCA1", "purpose": "Looks for listed BRCA1 variants.", "inputs": {"genotypes": true}}`
	)
	prs := func(edit string) string {
		return `{"id": "prs-breast-cancer-demo", "version": "demo-1", "kind": "prs", "title": "Breast cancer",
			"purpose": "Adds up many small differences.", ` + edit + `}`
	}
	okInputs := `"inputs": {"genotypes": true, "attributes": ["age", "sex"]}`
	for _, c := range []struct {
		name     string
		manifest string
		want     string // "" = accepted; else a substring of the refusal
	}{
		{"pgx", pgx, ""},
		{"monogenic", monogenic, ""},
		{"prs with age milestones", prs(okInputs + `, "age_milestones": [0, 40, 50, 130]`), ""},
		{"prs without attributes", prs(`"inputs": {"genotypes": true}`), ""},
		{"id with dots and underscores", strings.Replace(monogenic, "monogenic-brca1-example", "m.brca_1-x", 1), ""},
		{"id of 64 characters", strings.Replace(monogenic, "monogenic-brca1-example", strings.Repeat("a", 64), 1), ""},

		{"genotypes false", prs(`"inputs": {"genotypes": false}`), `inputs.genotypes is false, but the prs engine reads genotypes: declare "genotypes": true`},
		{"genotypes undeclared", prs(`"inputs": {"attributes": ["age"]}`), `inputs.genotypes is false, but the prs engine reads genotypes`},
		{"no inputs (pgx)", strings.Replace(pgx, `"inputs": {"genotypes": true},`, ``, 1), `inputs.genotypes is false, but the pgx engine reads genotypes`},
		{"genotypes false (monogenic)", strings.Replace(monogenic, `"genotypes": true`, `"genotypes": false`, 1), `the monogenic engine reads genotypes`},

		{"blank purpose", strings.Replace(prs(okInputs), "Adds up many small differences.", "   ", 1), "manifest has no purpose"},
		{"empty purpose", strings.Replace(prs(okInputs), "Adds up many small differences.", "", 1), "manifest has no purpose"},
		{"blank title", strings.Replace(prs(okInputs), "Breast cancer", `\t \u00a0 `, 1), "manifest has no title (required, not blank)"},
		{"blank version", strings.Replace(prs(okInputs), `"demo-1"`, `" "`, 1), "manifest has no version (required, not blank)"},
		{"blank id", strings.Replace(prs(okInputs), "prs-breast-cancer-demo", "  ", 1), "manifest has no id (required, not blank)"},
		{"unknown kind", strings.Replace(prs(okInputs), `"prs"`, `"gwas"`, 1), `kind "gwas" is not one of pgx, prs, monogenic`},

		{"unknown attribute", prs(`"inputs": {"genotypes": true, "attributes": ["shoe_size"]}`), `inputs.attributes: "shoe_size" is not an attribute the runner supplies; allowed: age, sex`},
		{"attribute in upper case", prs(`"inputs": {"genotypes": true, "attributes": ["Age"]}`), `"Age" is not an attribute the runner supplies; allowed: age, sex`},
		{"attribute twice", prs(`"inputs": {"genotypes": true, "attributes": ["age", "sex", "age"]}`), `inputs.attributes: "age" is listed twice`},

		{"drugs on monogenic", strings.Replace(monogenic, `"inputs"`, `"drugs": ["tamoxifen"], "inputs"`, 1), "drugs are for pgx algorithms only (a prescription triggers them); this one is monogenic"},
		{"drugs on prs", prs(okInputs + `, "drugs": ["tamoxifen"]`), "drugs are for pgx algorithms only"},

		{"milestones without age", prs(`"inputs": {"genotypes": true, "attributes": ["sex"]}, "age_milestones": [50]`), `age_milestones need the "age" attribute in inputs.attributes`},
		{"milestones without attributes", prs(`"inputs": {"genotypes": true}, "age_milestones": [50]`), `age_milestones need the "age" attribute`},
		{"negative milestone", prs(okInputs + `, "age_milestones": [-5]`), "age_milestones: -5 is not an age from 0 to 130"},
		{"milestone 500", prs(okInputs + `, "age_milestones": [40, 500]`), "age_milestones: 500 is not an age from 0 to 130"},
		{"milestone 131", prs(okInputs + `, "age_milestones": [131]`), "age_milestones: 131 is not an age from 0 to 130"},
		{"milestone twice", prs(okInputs + `, "age_milestones": [40, 50, 40]`), "age_milestones: 40 is listed twice"},

		{"id with space, slash and dots", strings.Replace(monogenic, "monogenic-brca1-example", "Bad Id/../x", 1), `id "Bad Id/../x": use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"id in upper case", strings.Replace(monogenic, "monogenic-brca1-example", "BRCA", 1), `id "BRCA": use 1-64 lower-case`},
		{"id starting with a dot", strings.Replace(monogenic, "monogenic-brca1-example", "..", 1), `id "..": use 1-64`},
		{"id starting with a dash", strings.Replace(monogenic, "monogenic-brca1-example", "-x", 1), `id "-x": use 1-64`},
		{"id of 65 characters", strings.Replace(monogenic, "monogenic-brca1-example", strings.Repeat("a", 65), 1), `: use 1-64`},
		{"id with a non-ASCII letter", strings.Replace(monogenic, "monogenic-brca1-example", "pärilik", 1), `id "pärilik": use 1-64`},

		{"trailing object", pgx + `{"id": "other"}`, "data after the manifest object (which ends at byte"},
		{"trailing garbage", monogenic + ` ]`, "data after the manifest object"},
		{"trailing whitespace", monogenic + " \n\t\n", ""},
		{"unknown field", strings.Replace(monogenic, `"inputs"`, `"input": {}, "inputs"`, 1), `unknown field "input"`},
		{"not an object", `[]`, "cannot unmarshal array"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := algorithm.ParseManifest([]byte(c.manifest))
			var v *algorithm.Version
			if err == nil {
				v, err = algorithm.New(m, map[string][]byte{"f": []byte("x")}, "provider")
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused a valid manifest: %v", err)
			case c.want == "":
				if v.Hash == "" || v.Status != algorithm.StatusDraft {
					t.Errorf("New = %+v; want a draft with a hash", v)
				}
			case err == nil:
				t.Fatalf("accepted; want a refusal saying %q", c.want)
			case !strings.Contains(err.Error(), c.want) || !errors.Is(err, algorithm.ErrInvalid):
				t.Errorf("refusal %q; want ErrInvalid saying %q", err, c.want)
			case v != nil:
				t.Errorf("refused, yet New returned a version")
			}
		})
	}
}
