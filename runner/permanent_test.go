package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

// grch37 is the demo VCF relabelled GRCh37: every built-in bundle is on
// GRCh38, so every engine refuses it.
func grch37(t *testing.T, people []demo.Person) string {
	v := testenv.DemoVCF(t, people)
	for i, m := range v.Meta {
		v.Meta[i] = strings.ReplaceAll(m, "GRCh38", "GRCh37")
	}
	return v.Write(t, "cohort37.vcf")
}

// TestPermanentFailureCancelled: a job that can only fail (genotypes on a
// build the bundle is not for) is cancelled after its first attempt, not
// retried, and counted once in usage as a failed run.
func TestPermanentFailureCancelled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		w.SkipTodaysAgePass(t)
		// Without the ingest-time build check, the jobs reach the runner.
		w.Service.SetBuildChecker(nil)
		people := demo.Cohort(1)
		p, err := w.Service.SignIn(ctx, string(people[0].Code), "patient")
		if err != nil {
			t.Fatal(err)
		}
		w.Grant(t, p, demo.PGxAlgorithmID)
		w.Ingest(t, grch37(t, people))
		w.Drain(t)
		jobs := testenv.Jobs(t, w.Store)
		if len(jobs) == 0 {
			t.Fatal("no jobs queued")
		}
		for _, j := range jobs {
			if j.State != "cancelled" || j.Attempt != 1 {
				t.Errorf("job %s: state %s after %d attempts; want cancelled after 1", j.AlgorithmID, j.State, j.Attempt)
			}
		}
		if errs := strings.Join(testenv.JobErrors(t, w.Store), " "); !strings.Contains(errs, "genome build mismatch") {
			t.Errorf("job errors do not say why: %s", errs)
		}
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM runs WHERE outcome = ?`, platform.RunFailed); n != len(jobs) {
			t.Errorf("%d failed runs recorded for %d jobs; want one each", n, len(jobs))
		}
		if rs := storedResults(t, w, p.Person); len(rs) != 0 {
			t.Errorf("results from a mismatched build: %+v", rs)
		}
		// Called directly, the runner says the failure is permanent.
		_, err = w.Runner.Compute(ctx, platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerConsent})
		if !runner.IsPermanent(err) {
			t.Errorf("build mismatch: %v; want a permanent error", err)
		}
		// A version that does not exist will not appear on a retry either.
		_, err = w.Runner.Compute(ctx, platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: strings.Repeat("0", 64), Trigger: result.TriggerConsent})
		if !runner.IsPermanent(err) {
			t.Errorf("unknown version: %v; want a permanent error", err)
		}
	})
}

// TestTransientNotPermanent: context and file-system errors may not recur.
func TestTransientNotPermanent(t *testing.T) {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, errors.New("database is locked")} {
		if runner.IsPermanent(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("%v: permanent", err)
		}
	}
	if !runner.IsPermanent(fmt.Errorf("job: %w", &runner.PermanentError{Err: errors.New("malformed")})) {
		t.Error("wrapped PermanentError not recognised")
	}
}
