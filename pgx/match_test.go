package pgx_test

import (
	"strings"
	"testing"

	"github.com/geneguard/geneguard/pgx"
	"github.com/google/go-cmp/cmp"
)

// gt is a VCF-style genotype for one rsID: "0/1", "1|0", "1|0:PS=7",
// "0/." ... Indices refer to REF followed by the definition's ALTs.
type gt = string

// missing marks a position left out of the sample entirely.
const missing = "-"

// buildSample mimics PharmCAT's TestVcfBuilder: every definition position
// of gene is written 0/0 unless edits say otherwise.
func buildSample(t *testing.T, def *pgx.GeneDefinition, edits map[string]gt) *pgx.Sample {
	t.Helper()
	s := pgx.NewSample("S1")
	used := map[string]bool{}
	for _, v := range def.Variants {
		g := "0/0"
		if e, ok := edits[v.RSID]; ok {
			g = e
			used[v.RSID] = true
		}
		if g == missing {
			continue
		}
		s.Set(def.Chromosome, v.Position, parseGT(t, v, g))
	}
	for rs := range edits {
		if !used[rs] {
			t.Fatalf("edit for %s: not a position of %s", rs, def.Gene)
		}
	}
	return s
}

func parseGT(t *testing.T, v pgx.Variant, g string) pgx.Call {
	t.Helper()
	c := pgx.Call{Ref: v.Ref}
	g, ps, _ := strings.Cut(g, ":PS=")
	c.PhaseSet = ps
	sep := "/"
	if strings.Contains(g, "|") {
		sep, c.Phased = "|", true
	}
	alleles := append([]string{v.Ref}, v.Alts...)
	for _, tok := range strings.Split(g, sep) {
		switch {
		case tok == ".":
			c.Alleles = append(c.Alleles, "")
		case len(tok) == 1 && tok[0] >= '0' && tok[0] <= '9' && int(tok[0]-'0') < len(alleles):
			c.Alleles = append(c.Alleles, alleles[tok[0]-'0'])
		default:
			c.Alleles = append(c.Alleles, tok) // a literal allele (undocumented ALT)
		}
	}
	return c
}

func builtinCaller(t *testing.T, opts pgx.Options) (*pgx.Caller, *pgx.GeneDefinition) {
	t.Helper()
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	def, _ := b.Definitions.Gene("CYP2C19")
	return pgx.NewCaller(b.Definitions, b.Phenotypes, opts), def
}

func TestMatchBuiltinCYP2C19(t *testing.T) {
	tests := []struct {
		name      string
		mode      pgx.MatchMode
		edits     map[string]gt
		want      []string
		phenotype string // "" when ambiguous or no call
		ambiguous bool
		noCall    string // substring of the reason
		warning   string // substring of one warning
		mutate    func(*pgx.Sample)
	}{
		{name: "all reference is *38/*38, not *1/*1", edits: nil,
			want: []string{"*38/*38"}, phenotype: "Normal Metabolizer"},
		{name: "rs3758581 G/G gives *1/*1", edits: map[string]gt{"rs3758581": "1/1"},
			want: []string{"*1/*1"}, phenotype: "Normal Metabolizer"},
		{name: "*1/*2 unphased", edits: map[string]gt{"rs3758581": "1/1", "rs12769205": "0/1", "rs4244285": "0/1"},
			want: []string{"*1/*2"}, phenotype: "Intermediate Metabolizer"},
		{name: "*2/*2 poor", edits: map[string]gt{"rs3758581": "1/1", "rs12769205": "1/1", "rs4244285": "1/1"},
			want: []string{"*2/*2"}, phenotype: "Poor Metabolizer"},
		{name: "*1/*4 beats *4/*17 in top mode", edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "0/1", "rs28399504": "0/1"},
			want: []string{"*1/*4"}, phenotype: "Intermediate Metabolizer"},
		{name: "all mode keeps *4/*17 too", mode: pgx.MatchAll, edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "0/1", "rs28399504": "0/1"},
			want: []string{"*1/*4", "*4/*17"}, phenotype: "Intermediate Metabolizer"},
		{name: "missing rs28399504 is not reference: tie *1/*4 and *1/*17", edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "0/1", "rs28399504": missing},
			want: []string{"*1/*4", "*1/*17"}, ambiguous: true},
		{name: "./. counts as missing too", edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "0/1", "rs28399504": "./."},
			want: []string{"*1/*4", "*1/*17"}, ambiguous: true},
		{name: "homozygous with missing position: all pairs of tied alleles", edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "1/1", "rs28399504": missing},
			want: []string{"*4/*4", "*4/*17", "*17/*17"}, ambiguous: true},
		{name: "missing rs3758581 ties *1 with *38", edits: map[string]gt{"rs3758581": missing, "rs12248560": "0/1", "rs28399504": "0/1"},
			want: []string{"*1/*4", "*4/*38"}, phenotype: "Intermediate Metabolizer"},
		{name: "0/. is read as missing", edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "0/1", "rs28399504": "0/."},
			want: []string{"*1/*4", "*1/*17"}, ambiguous: true},
		{name: "phased trans *2/*17", edits: map[string]gt{"rs3758581": "1|1", "rs12248560": "1|0", "rs12769205": "0|1", "rs4244285": "0|1"},
			want: []string{"*2/*17"}, phenotype: "Intermediate Metabolizer"},
		{name: "phased cis *2 and *17: no single allele fits", edits: map[string]gt{"rs3758581": "1|1", "rs12248560": "1|0", "rs12769205": "1|0", "rs4244285": "1|0"},
			noCall: "no pair of defined alleles"},
		{name: "different phase sets are unphased relative to each other",
			edits: map[string]gt{"rs3758581": "1/1", "rs12248560": "1|0:PS=1", "rs12769205": "1|0:PS=2", "rs4244285": "1|0:PS=2"},
			want:  []string{"*2/*17"}, phenotype: "Intermediate Metabolizer"},
		{name: "undocumented ALT is no call", edits: map[string]gt{"rs3758581": "G/T"},
			noCall: "undocumented variation"},
		{name: "REF mismatch drops the position with a warning", edits: map[string]gt{"rs3758581": "1/1", "rs4986893": "0/1"},
			mutate: func(s *pgx.Sample) {
				l := pgx.Locus{Chrom: "10", Pos: 94780653}
				c := s.Calls[l]
				c.Ref = "GA" // another representation: its allele strings cannot be compared
				s.Calls[l] = c
			},
			want: []string{"*1/*1"}, phenotype: "Normal Metabolizer", warning: "does not match the definition"},
		{name: "no positions at all", edits: map[string]gt{
			"rs12248560": missing, "rs28399504": missing, "rs12769205": missing, "rs41291556": missing, "rs72552267": missing, "rs17884712": missing,
			"rs4986893": missing, "rs6413438": missing, "rs4244285": missing, "rs72558186": missing, "rs3758581": missing, "rs56337013": missing},
			noCall: "no allele-defining position"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == "" {
				mode = pgx.MatchTop
			}
			c, def := builtinCaller(t, pgx.Options{Mode: mode})
			s := buildSample(t, def, tc.edits)
			if tc.mutate != nil {
				tc.mutate(s)
			}
			calls, err := c.CallSample(s, []string{"CYP2C19"})
			if err != nil {
				t.Fatal(err)
			}
			got := calls[0]
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got.Diplotypes); diff != "" {
				t.Errorf("diplotypes (-want +got):\n%s\nwarnings: %v; no call: %s", diff, got.Warnings, got.NoCallReason)
			}
			if got.Phenotype != tc.phenotype || got.Ambiguous != tc.ambiguous {
				t.Errorf("phenotype %q ambiguous %v, want %q %v (%v)", got.Phenotype, got.Ambiguous, tc.phenotype, tc.ambiguous, got.Phenotypes)
			}
			if tc.noCall == "" && got.NoCallReason != "" || !strings.Contains(got.NoCallReason, tc.noCall) {
				t.Errorf("no-call reason %q, want it to contain %q", got.NoCallReason, tc.noCall)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(got.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", got.Warnings, tc.warning)
			}
			if got.DataVersion == "" {
				t.Error("no data version recorded")
			}
		})
	}
}

func loadToy(t *testing.T) *pgx.Definitions {
	t.Helper()
	d, err := pgx.LoadDefinitions("testdata/toy")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMatchToy(t *testing.T) {
	tests := []struct {
		name   string
		opts   pgx.Options
		edits  map[string]gt
		want   []string
		noCall string
		warn   string
	}{
		{name: "reference", edits: nil, want: []string{"*1/*1"}},
		{name: "sub-alleles reported at named-allele level", edits: map[string]gt{"rs400": "0/1"}, want: []string{"*1/*5"}},
		{name: "indel alleles compared as VCF strings", edits: map[string]gt{"rs400": "1/1"}, want: []string{"*5/*5"}},
		{name: "cis pair is no call by default", edits: map[string]gt{"rs100": "0|1", "rs200": "0|1"}, noCall: "no pair"},
		{name: "cis pair is a combination in research mode", opts: pgx.Options{Combinations: true},
			edits: map[string]gt{"rs100": "0|1", "rs200": "0|1"}, want: []string{"*1/[*2 + *3]"}},
		{name: "unexplained variant becomes a partial", opts: pgx.Options{Combinations: true},
			edits: map[string]gt{"rs200": "0|1", "rs300": "0|1"}, want: []string{"*1/[*3 + g.300G>A]"}},
		{name: "combinations are not tried when a normal call exists", opts: pgx.Options{Combinations: true},
			edits: map[string]gt{"rs100": "0/1", "rs200": "0/1"}, want: []string{"*2/*3"}},
		{name: "haploid calls give a single haplotype", edits: map[string]gt{"rs100": "1", "rs200": "0", "rs300": "0", "rs400": "0"}, want: []string{"*2"}},
		{name: "missing AMP tier-1 position warns", edits: map[string]gt{"rs100": missing}, want: []string{"*1/*1"}, warn: "AMP tier-1"},
	}
	defs := loadToy(t)
	def, _ := defs.Gene("TOY")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pgx.NewCaller(defs, nil, tc.opts)
			calls, err := c.CallSample(buildSample(t, def, tc.edits), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := calls[0]
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got.Diplotypes); diff != "" {
				t.Errorf("diplotypes (-want +got):\n%s\nno call: %s", diff, got.NoCallReason)
			}
			if !strings.Contains(got.NoCallReason, tc.noCall) || (tc.noCall == "" && got.NoCallReason != "") {
				t.Errorf("no-call reason %q, want %q", got.NoCallReason, tc.noCall)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(got.Warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q lack %q", got.Warnings, tc.warn)
			}
		})
	}
}

func TestUnknownGene(t *testing.T) {
	c := pgx.NewCaller(loadToy(t), nil, pgx.Options{})
	if _, err := c.CallSample(pgx.NewSample("x"), []string{"CYP2D6"}); err == nil || !strings.Contains(err.Error(), "CYP2D6") {
		t.Fatalf("err = %v, want unknown gene", err)
	}
}
