package runner_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/runner"
)

// consentedFile is a world with two persons ingested from one file, the
// first consented to PGx: the stored file's path and her job.
func consentedFile(t *testing.T, b testenv.Backend) (*testenv.World, []demo.Person, string, platform.ComputeJob) {
	t.Helper()
	w := testenv.NewWorld(t, b.DSN(t))
	people := demo.Cohort(2)
	prep, _ := w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	p := w.SignIn(t, people[0].Code)
	w.Grant(t, p, demo.PGxAlgorithmID)
	return w, people, prep.Dataset.Path, platform.ComputeJob{Person: p.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerConsent}
}

// TestChangedGenotypeFile: a genotype file edited on disk after ingest
// gives nobody a result: the run fails, retryably, naming the file and
// both hashes, and writes nothing; with the file restored the next
// attempt computes.
func TestChangedGenotypeFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w, _, path, job := consentedFile(t, b)

		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Index(orig, []byte("\n#CHROM"))
		if body < 0 || bytes.HasPrefix(orig, []byte{0x1f, 0x8b}) {
			t.Fatalf("expected a plain-text VCF at %s", path)
		}
		edited := bytes.Clone(orig)
		i := bytes.IndexAny(edited[body+1:], "01")
		lineStart := bytes.LastIndexByte(edited[:body+1+i], '\n')
		// The first genotype digit of the first record's first sample.
		gt := lineStart + 1 + bytes.Index(edited[lineStart+1:], []byte("\tGT\t")) + 4
		if edited[gt] == '0' {
			edited[gt] = '1'
		} else {
			edited[gt] = '0'
		}
		// Edits that still parse, and edits that no longer do (which
		// must not be mistaken for a malformed file and cancelled).
		for _, e := range []struct {
			name string
			data []byte
		}{
			{"a genotype flipped", edited},
			{"truncated", orig[:len(orig)/2]},
			{"garbage appended", append(bytes.Clone(orig), "garbage"...)},
			{"emptied", nil},
		} {
			if err := os.WriteFile(path, e.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = w.Runner.Compute(ctx, job)
			var ce *runner.ChangedFileError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "was changed after ingest") || ce.Want != strings.SplitN(filepath.Base(path), ".", 2)[0] {
				t.Fatalf("%s: err = %v, want a ChangedFileError naming the file's content address", e.name, err)
			}
			if runner.IsPermanent(err) {
				t.Errorf("%s: a changed file is permanent: restoring it would not let the job finish", e.name)
			}
			if n := len(storedResults(t, w, job.Person)); n != 0 {
				t.Errorf("%s: %d results from the changed file, want none", e.name, n)
			}
		}

		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := w.Runner.Compute(ctx, job); err != nil || got != runner.OutcomeComputed {
			t.Fatalf("restored file: %v, %v; want computed", got, err)
		}
	})
}

// TestGenotypeFileReadFromTheStore: a dataset's file is read from the
// runner's genotype store by its content address, so a data directory
// moved elsewhere still computes; a file in neither place is a retryable
// error naming both.
func TestGenotypeFileReadFromTheStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w, people, path, job := consentedFile(t, b)

		moved := t.TempDir()
		name := filepath.Base(path)
		if err := os.Rename(path, filepath.Join(moved, name)); err != nil {
			t.Fatal(err)
		}
		w.Runner.GenotypeDir = moved
		if got, err := w.Runner.Compute(ctx, job); err != nil || got != runner.OutcomeComputed {
			t.Fatalf("moved store: %v, %v; want computed", got, err)
		}

		if err := os.Remove(filepath.Join(moved, name)); err != nil {
			t.Fatal(err)
		}
		q := w.SignIn(t, people[1].Code)
		w.Grant(t, q, demo.PGxAlgorithmID)
		_, err := w.Runner.Compute(ctx, platform.ComputeJob{Person: q.Person, AlgorithmID: demo.PGxAlgorithmID, VersionHash: w.PGx.Hash, Trigger: result.TriggerConsent})
		if err == nil || !strings.Contains(err.Error(), "is neither in the genotype store "+moved) || runner.IsPermanent(err) {
			t.Errorf("file gone: err = %v (permanent %v), want a retryable error naming the store", err, runner.IsPermanent(err))
		}
	})
}

// TestDatasetPathNotTrusted: a dataset's recorded path edited in SQL to
// point at another dataset's stored file does not give anyone results from
// that file: the runner opens the copy named by the dataset's file hash
// (which audit verify checks), and a path naming another file is refused
// by its hash when it is all there is.
func TestDatasetPathNotTrusted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w, _, path, job := consentedFile(t, b)
		other, _ := w.Ingest(t, testenv.DemoVCF(t, demo.Cohort(5)[2:]).Write(t, "other.vcf"))
		exec := func(q string, args ...any) {
			t.Helper()
			if b.Name != "sqlite" {
				q = strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1)
			}
			if _, err := w.Store.DB().ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := w.Runner.Compute(ctx, job); err != nil || got != runner.OutcomeComputed {
			t.Fatalf("honest: %v, %v", got, err)
		}
		exec(`UPDATE datasets SET path = ? WHERE path = ?`, other.Dataset.Path, path)

		// Only the path to go by: refused by the hash.
		dir := w.Runner.GenotypeDir
		w.Runner.GenotypeDir = ""
		_, err := w.Runner.Compute(ctx, job)
		var ce *runner.ChangedFileError
		if !errors.As(err, &ce) {
			t.Fatalf("path pointed at another file: err = %v, want a ChangedFileError", err)
		}
		// With the store: the dataset's own copy, by its hash — the same
		// input as before, so nothing new.
		w.Runner.GenotypeDir = dir
		if got, err := w.Runner.Compute(ctx, job); err != nil || got != runner.OutcomeExisting {
			t.Fatalf("with the store: %v, %v; want the existing result (the dataset's own file)", got, err)
		}
		if rs := storedResults(t, w, job.Person); len(rs) != 1 {
			t.Errorf("%d results, want the one honest result", len(rs))
		}
	})
}
