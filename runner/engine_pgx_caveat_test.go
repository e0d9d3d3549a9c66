package runner_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

// TestPGxMissingStar17Surfaced: a *17/*17 person's newer file lacks the
// *17 position. The matcher calls *1/*1 (PharmCAT semantics, unchanged)
// and the new result supersedes the old one, but its summary — what lists,
// cards and the clinical view show — says the call may be *1/*1 only
// because *17 could not be tested, and the output carries the caveat.
func TestPGxMissingStar17Surfaced(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(1)
	people[0].CYP2C19 = [2]string{"*17", "*17"}
	v := testenv.DemoVCF(t, people)
	p := consented(t, w, v, people[0].Code, demo.PGxAlgorithmID)
	ctx := context.Background()
	job := platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerGenotype}
	if _, err := w.Runner.Compute(ctx, job); err != nil {
		t.Fatal(err)
	}
	i := v.Row(t, "chr10", 94761900) // rs12248560, *17
	v.Rows = append(v.Rows[:i], v.Rows[i+1:]...)
	w.Ingest(t, v.Write(t, "newer.vcf"))
	if out, err := w.Runner.Compute(ctx, job); err != nil || out != runner.OutcomeComputed {
		t.Fatalf("Compute = %q, %v", out, err)
	}
	var cur *result.Result
	if err := w.Store.Read(ctx, func(tx platform.Tx) error {
		var err error
		cur, err = tx.CurrentResult(p.Person, demo.PGxAlgorithmID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const note = "1 of 12 CYP2C19 positions missing: rs12248560 (*17) — call may be *1/*1 only because *17 could not be tested"
	if want := "CYP2C19 *1/*1 — Normal Metabolizer (caution: " + note + ")"; cur.Summary != want {
		t.Errorf("summary\n got %q\nwant %q", cur.Summary, want)
	}
	if cur.Category != "Normal Metabolizer" {
		t.Errorf("category %q: the call's phenotype is unchanged", cur.Category)
	}
	var out runner.PGxOutput
	if err := json.Unmarshal(cur.Output, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Caveats) != 1 || out.Caveats[0] != note {
		t.Errorf("caveats %q", out.Caveats)
	}
	if rs := storedResults(t, w, p.Person); len(rs) != 2 || !strings.Contains(rs[0].Summary+rs[1].Summary, "*17/*17") {
		t.Errorf("results %d; want the old *17/*17 kept, superseded", len(rs))
	}
}
