package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/pgx"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

func forEachBackend(t *testing.T, test func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

func storedResults(t *testing.T, w *testenv.World, person string) []result.Result {
	t.Helper()
	var rs []result.Result
	if err := w.Store.Read(context.Background(), func(tx platform.Tx) error {
		var err error
		rs, err = tx.AllResults(person)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rs
}

// runEvents counts the run audit events by their outcome detail
// ("new-result", "unchanged").
func runEvents(t *testing.T, w *testenv.World) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, e := range testenv.AuditLog(t, w.Store) {
		if e.Action == "run" {
			n[e.Details["outcome"]]++
		}
	}
	return n
}

// consented ingests people, signs in people[0] and gives consent to alg.
func consented(t *testing.T, w *testenv.World, vcf *testenv.VCF, code identity.PersonalCode, alg string) identity.Principal {
	t.Helper()
	w.Ingest(t, vcf.Write(t, "cohort.vcf"))
	p := w.SignIn(t, code)
	w.Grant(t, p, alg)
	return p
}

// TestComputeTwice is a job retried after its worker died between the
// result write and the queue's acknowledgement: the second run finds the
// result by (person, version, input) and writes nothing, not even an
// audit event.
func TestComputeTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		p := consented(t, w, testenv.DemoVCF(t, people), people[0].Code, demo.PGxAlgorithmID)
		job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerConsent}
		ctx := context.Background()
		for i, want := range []runner.Outcome{runner.OutcomeComputed, runner.OutcomeExisting, runner.OutcomeExisting} {
			got, err := w.Runner.Compute(ctx, job)
			if err != nil || got != want {
				t.Fatalf("run %d: Compute = %q, %v; want %q", i+1, got, err, want)
			}
		}
		if n := len(storedResults(t, w, p.Person)); n != 1 {
			t.Errorf("%d stored results, want 1", n)
		}
		// Every run is audited; one of them made the result.
		if diff := cmp.Diff(map[string]int{"new-result": 1, "unchanged": 2}, runEvents(t, w)); diff != "" {
			t.Errorf("run audit events by outcome (-want +got):\n%s", diff)
		}
	})
}

// TestComputeTwinsConcurrently is a job rescued while its first worker is
// still alive: runs race. Exactly one computes the result; the others find
// it, whatever the interleaving.
func TestComputeTwinsConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		p := consented(t, w, testenv.DemoVCF(t, people), people[0].Code, demo.PRSAlgorithmID)
		job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PRSAlgorithmID, VersionHash: w.PRS.Hash, Trigger: result.TriggerConsent}
		var wg sync.WaitGroup
		outs := make([]runner.Outcome, 4)
		errs := make([]error, 4)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = w.Runner.Compute(context.Background(), job)
			}()
		}
		wg.Wait()
		computed := 0
		for i := range outs {
			switch {
			case errs[i] != nil:
				t.Errorf("twin %d: %v", i, errs[i])
			case outs[i] == runner.OutcomeComputed:
				computed++
			case outs[i] != runner.OutcomeExisting:
				t.Errorf("twin %d: outcome %q", i, outs[i])
			}
		}
		if computed != 1 {
			t.Errorf("%d twins computed, want exactly 1 (outcomes %v)", computed, outs)
		}
		if n := len(storedResults(t, w, p.Person)); n != 1 {
			t.Errorf("%d stored results, want 1", n)
		}
		if diff := cmp.Diff(map[string]int{"new-result": 1, "unchanged": len(outs) - 1}, runEvents(t, w)); diff != "" {
			t.Errorf("run audit events by outcome (-want +got):\n%s", diff)
		}
	})
}

// TestNewDatasetSameGenotypes: the input fingerprint covers only what the
// algorithm sees, so a new file (other samples, other column order, other
// unrelated records) with the person's same genotypes at the declared loci
// recomputes to the existing result.
func TestNewDatasetSameGenotypes(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(3)
	p := consented(t, w, testenv.DemoVCF(t, people), people[0].Code, demo.PGxAlgorithmID)
	w.Drain(t)
	first := storedResults(t, w, p.Person)

	reordered := []demo.Person{people[2], people[0]}
	vcf := testenv.DemoVCF(t, reordered)
	vcf.AddFiller(10)
	if _, jobs := w.Ingest(t, vcf.Write(t, "second.vcf")); jobs != 1 {
		t.Fatalf("second dataset queued %d jobs, want 1 (the consented person)", jobs)
	}
	job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerGenotype}
	if out, err := w.Runner.Compute(context.Background(), job); err != nil || out != runner.OutcomeExisting {
		t.Errorf("Compute on the new dataset = %q, %v; want %q", out, err, runner.OutcomeExisting)
	}
	if diff := cmp.Diff(first, storedResults(t, w, p.Person)); diff != "" {
		t.Errorf("stored results changed (-before +after):\n%s", diff)
	}
}

// TestPGx is the prescription path: the built-in CYP2C19 algorithm calls
// the diplotype, names the metabolizer phenotype and gives CPIC guidance
// for each drug its manifest lists.
func TestPGx(t *testing.T) {
	cases := []struct {
		alleles   [2]string
		diplotype string
		phenotype string
	}{
		{[2]string{"*1", "*1"}, "*1/*1", "Normal Metabolizer"},
		{[2]string{"*1", "*2"}, "*1/*2", "Intermediate Metabolizer"},
		{[2]string{"*2", "*2"}, "*2/*2", "Poor Metabolizer"},
		{[2]string{"*1", "*17"}, "*1/*17", "Rapid Metabolizer"},
		{[2]string{"*17", "*17"}, "*17/*17", "Ultrarapid Metabolizer"},
		{[2]string{"*2", "*17"}, "*2/*17", "Intermediate Metabolizer"},
	}
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(len(cases))
	for i, c := range cases {
		people[i].CYP2C19 = c.alleles
	}
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	ctx := context.Background()
	for i, c := range cases {
		t.Run(c.diplotype, func(t *testing.T) {
			p := w.SignIn(t, people[i].Code)
			w.Grant(t, p, demo.PGxAlgorithmID)
			job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerPrescription}
			if out, err := w.Runner.Compute(ctx, job); err != nil || out != runner.OutcomeComputed {
				t.Fatalf("Compute = %q, %v", out, err)
			}
			rs := storedResults(t, w, p.Person)
			if len(rs) != 1 {
				t.Fatalf("%d results", len(rs))
			}
			r := rs[0]
			if want := "CYP2C19 " + c.diplotype + " — " + c.phenotype; r.Summary != want || r.Category != c.phenotype {
				t.Errorf("summary %q, category %q; want %q, %q", r.Summary, r.Category, want, c.phenotype)
			}
			var out runner.PGxOutput
			if err := json.Unmarshal(r.Output, &out); err != nil {
				t.Fatal(err)
			}
			drugs := map[string]bool{}
			for _, rec := range out.Recommendations {
				if rec.Text == "" || rec.Phenotype != c.phenotype {
					t.Errorf("recommendation %+v: want text for %s", rec, c.phenotype)
				}
				drugs[rec.Drug] = true
			}
			if diff := cmp.Diff(map[string]bool{"citalopram": true, "escitalopram": true, "sertraline": true}, drugs); diff != "" {
				t.Errorf("drugs with guidance (-want +got):\n%s", diff)
			}
			if r.Trigger != result.TriggerPrescription || r.VersionHash != w.PGx.Hash || r.Worker != "test-worker" || r.InputFingerprint == "" {
				t.Errorf("provenance: trigger %q, version %s, worker %q, fingerprint %q", r.Trigger, algorithm.ShortHash(r.VersionHash), r.Worker, r.InputFingerprint)
			}
		})
	}
}

// TestPRS: the demo score places a consented person on the reference
// distribution with a percentile and a screening category; a person
// missing a genotype at a score variant is Indeterminate, with no number.
func TestPRS(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(2)
	vcf := testenv.DemoVCF(t, people)
	// people[1] has no call at the first score variant (off chr10).
	for i, r := range vcf.Rows {
		if r[0] != "chr10" {
			vcf.Rows[i][9+vcf.Sample(t, string(people[1].Code))] = "./."
			break
		}
	}
	w.Ingest(t, vcf.Write(t, "cohort.vcf"))
	ctx := context.Background()
	compute := func(code identity.PersonalCode) (result.Result, runner.PRSOutput) {
		t.Helper()
		p := w.SignIn(t, code)
		w.Grant(t, p, demo.PRSAlgorithmID)
		job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PRSAlgorithmID, VersionHash: w.PRS.Hash, Trigger: result.TriggerConsent}
		if out, err := w.Runner.Compute(ctx, job); err != nil || out != runner.OutcomeComputed {
			t.Fatalf("Compute = %q, %v", out, err)
		}
		rs := storedResults(t, w, p.Person)
		if len(rs) != 1 {
			t.Fatalf("%d results", len(rs))
		}
		var out runner.PRSOutput
		if err := json.Unmarshal(rs[0].Output, &out); err != nil {
			t.Fatal(err)
		}
		return rs[0], out
	}

	r, out := compute(people[0].Code)
	categories := map[string]bool{"near population risk": true, "moderately increased risk": true, "high risk": true}
	a := out.Assessment
	if !categories[r.Category] || a.Category != r.Category || a.Percentile <= 0 || a.Percentile >= 100 || a.RelativeRisk <= 0 || a.Advice == "" {
		t.Errorf("category %q, assessment %+v: want a model category with a percentile in (0, 100)", r.Category, a)
	}
	if want := fmt.Sprintf("percentile %.0f", a.Percentile); !strings.Contains(r.Summary, want) {
		t.Errorf("summary %q does not say %q", r.Summary, want)
	}
	if out.Matched != 40 || out.Total != 40 || out.Missing != 0 || out.RefSD <= 0 {
		t.Errorf("scored %d of %d, %d missing, reference sd %v; want all 40, none missing", out.Matched, out.Total, out.Missing, out.RefSD)
	}

	r, out = compute(people[1].Code)
	if r.Category != "Indeterminate" {
		t.Errorf("category with a missing genotype: %q, want Indeterminate", r.Category)
	}
	if want := "not interpretable — 1 of 40 scored genotypes are missing"; !strings.Contains(r.Summary, want) {
		t.Errorf("summary %q does not say %q", r.Summary, want)
	}
	if diff := cmp.Diff(runner.PRSOutput{}.Assessment, out.Assessment, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("an Indeterminate result carries an assessment (-want +got):\n%s", diff)
	}
	if out.Missing != 1 {
		t.Errorf("output says %d missing, want 1", out.Missing)
	}
}

// TestMalformedBundle: a PRS version whose scoring file or model is broken
// fails the job with an error that names the file, the line and the
// problem, and writes no result and no audit event.
func TestMalformedBundle(t *testing.T) {
	score := strings.SplitAfter(string(demo.DemoScore()), "\n")
	header := -1
	for i, l := range score {
		if strings.HasPrefix(l, "chr_name\t") {
			header = i
		}
	}
	if header < 0 {
		t.Fatal("demo score has no column header")
	}
	row := header + 20 // a row deep in the file
	lineNo := row + 1
	edit := func(f func(fields []string) []string) []byte {
		out := append([]string(nil), score...)
		fields := strings.Split(strings.TrimSuffix(out[row], "\n"), "\t")
		out[row] = strings.Join(f(fields), "\t") + "\n"
		return []byte(strings.Join(out, ""))
	}
	prs, err := demo.PRSAlgorithm()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files map[string][]byte
		want  []string // substrings of the error
	}{
		{"weight not a number", map[string][]byte{
			runner.PRSScoreFile: edit(func(f []string) []string { f[4] = "0.0x1"; return f }),
			runner.PRSModelFile: prs.Files[runner.PRSModelFile],
		}, []string{fmt.Sprintf("scoring file score.txt:%d", lineNo), `effect_weight "0.0x1" is not a finite number`}},
		{"frequency out of range", map[string][]byte{
			runner.PRSScoreFile: edit(func(f []string) []string { f[5] = "1.7"; return f }),
			runner.PRSModelFile: prs.Files[runner.PRSModelFile],
		}, []string{fmt.Sprintf("score.txt:%d", lineNo), `allelefrequency_effect "1.7" is not a frequency`}},
		{"row cut short", map[string][]byte{
			runner.PRSScoreFile: edit(func(f []string) []string { return f[:2] }),
			runner.PRSModelFile: prs.Files[runner.PRSModelFile],
		}, []string{fmt.Sprintf("score.txt:%d", lineNo), "2 tab-separated fields, the column header has 6"}},
		{"no scoring file", map[string][]byte{
			runner.PRSModelFile: prs.Files[runner.PRSModelFile],
		}, []string{"prs bundle has no score.txt"}},
		{"model not JSON", map[string][]byte{
			runner.PRSScoreFile: prs.Files[runner.PRSScoreFile],
			runner.PRSModelFile: []byte(`{"odds_ratio_per_sd": 1.6,`),
		}, []string{"invalid risk model"}},
		{"model without categories", map[string][]byte{
			runner.PRSScoreFile: prs.Files[runner.PRSScoreFile],
			runner.PRSModelFile: []byte(`{"odds_ratio_per_sd": 1.6, "categories": []}`),
		}, []string{"invalid risk model: no categories"}},
	}
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(1)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	p := w.SignIn(t, people[0].Code)
	ctx := context.Background()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := prs.Manifest
			m.ID = fmt.Sprintf("prs-broken-%d", i)
			v, err := algorithm.New(m, c.files, "provider")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Service.RegisterAlgorithm(ctx, identity.System, v); err != nil {
				t.Fatal(err)
			}
			if err := w.Service.Activate(ctx, identity.System, v.Hash); err != nil {
				t.Fatal(err)
			}
			w.Grant(t, p, m.ID)
			before := len(testenv.AuditLog(t, w.Store))
			out, err := w.Runner.Compute(ctx, platform.ComputeJob{Person: p.Person, AlgorithmID: m.ID, VersionHash: v.Hash, Trigger: result.TriggerConsent})
			if err == nil {
				t.Fatalf("Compute = %q, nil; want an error", out)
			}
			for _, s := range append([]string{m.ID}, c.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if rs := storedResults(t, w, p.Person); len(rs) != 0 {
				t.Errorf("stored results %+v, want none", rs)
			}
			if after := len(testenv.AuditLog(t, w.Store)); after != before {
				t.Errorf("a failed run appended %d audit events", after-before)
			}
			// The failure is in the bundle, not the input: it will fail
			// the same way every time.
			if _, err2 := w.Runner.Compute(ctx, platform.ComputeJob{Person: p.Person, AlgorithmID: m.ID, VersionHash: v.Hash, Trigger: result.TriggerConsent}); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second run: %v; want the same error", err2)
			}
		})
	}
}

// TestExtract: the algorithm sees one sample, named SAMPLE, at its
// declared loci only, with the header lines that say the build.
func TestExtract(t *testing.T) {
	people := demo.Cohort(3)
	vcf := testenv.DemoVCF(t, people)
	vcf.AddFiller(5)
	path := vcf.Write(t, "cohort.vcf")
	b, err := pgx.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	def, _ := b.Definitions.Gene("CYP2C19")
	loci := map[runner.Locus]bool{}
	for _, v := range def.Variants {
		loci[runner.Locus{Chrom: "10", Pos: int(v.Position)}] = true
	}
	idx := vcf.Sample(t, string(people[1].Code))
	got, err := runner.Extract(path, idx, loci)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	want.WriteString("##fileformat=VCFv4.2\n")
	for _, m := range vcf.Meta {
		if strings.HasPrefix(m, "##reference=") || strings.HasPrefix(m, "##contig=") || strings.HasPrefix(m, "##FORMAT=") {
			want.WriteString(m + "\n")
		}
	}
	want.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE\n")
	for _, r := range vcf.Rows {
		if r[0] == "chr10" {
			want.WriteString(strings.Join(append(append(r[:7:7], ".", r[8]), r[9+idx]), "\t") + "\n")
		}
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("Extract (-want +got):\n%s", diff)
	}
	if _, err := runner.Extract(path, 3, loci); err == nil || !strings.Contains(err.Error(), "sample index 3 out of range (3 samples)") {
		t.Errorf("Extract with a bad index: %v", err)
	}
}

// TestRunEventRecordsResultHash: every run event carries the content hash
// of the result row as stored, also when the run found the result (another
// trigger, which the stored row does not have) rather than wrote it.
func TestRunEventRecordsResultHash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		p := consented(t, w, testenv.DemoVCF(t, people), people[0].Code, demo.PGxAlgorithmID)
		ctx := context.Background()
		for i, trig := range []result.Trigger{result.TriggerConsent, result.TriggerManual} {
			job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: trig}
			if _, err := w.Runner.Compute(ctx, job); err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
		}
		rs := storedResults(t, w, p.Person)
		if len(rs) != 1 {
			t.Fatalf("%d stored results, want 1", len(rs))
		}
		want := rs[0].ContentHash()
		var n int
		for _, e := range testenv.AuditLog(t, w.Store) {
			if e.Action != "run" {
				continue
			}
			n++
			if e.Details["result"] != fmt.Sprint(rs[0].ID) || e.Details["result_sha256"] != want {
				t.Errorf("run event %d (%s): result %s, result_sha256 %s; want %d, %s", e.Seq, e.Details["outcome"], e.Details["result"], e.Details["result_sha256"], rs[0].ID, want)
			}
		}
		if n != 2 {
			t.Errorf("%d run events, want 2", n)
		}
	})
}
