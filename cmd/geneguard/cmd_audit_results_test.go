package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestAuditVerifyResults: a result row edited, re-timed, forged or deleted
// in SQL after the runner wrote it is caught by `audit verify`, which names
// the result and the index of the run event that recorded it.
func TestAuditVerifyResults(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 3)
			for _, p := range people[:2] {
				pr := w.SignIn(t, p.Code)
				w.Grant(t, pr, demo.PGxAlgorithmID)
				w.Grant(t, pr, demo.PRSAlgorithmID)
			}
			w.Drain(t)
			auditCheckpoint(t, dsn, data)
			verifyOK, verifyFails := auditVerifier(t, dsn, data, "results OK: 4 match")
			verifyOK("untouched")

			id := int64(testenv.Count(t, w.Store, `SELECT MIN(id) FROM results`))
			var seq uint64
			found := false
			for _, e := range testenv.AuditLog(t, w.Store) {
				if e.Action == "run" && e.Details["result"] == fmt.Sprint(id) {
					seq, found = e.Seq, true
					break
				}
			}
			if !found {
				t.Fatalf("no run event names result %d", id)
			}
			var person, summary, output string
			var created time.Time
			if err := w.Store.DB().QueryRowContext(context.Background(), fmt.Sprintf(`SELECT person_id, summary, output, created_at FROM results WHERE id = %d`, id)).Scan(&person, &summary, &output, &created); err != nil {
				t.Fatal(err)
			}
			mismatch := fmt.Sprintf("result %d does not match its run event at index %d", id, seq)

			tamperSQL(t, dsn, `UPDATE results SET summary = ? WHERE id = ?`, "*1/*1 (edited)", id)
			verifyFails("summary edited", mismatch)
			tamperSQL(t, dsn, `UPDATE results SET summary = ? WHERE id = ?`, summary, id)
			verifyOK("summary restored")

			tamperSQL(t, dsn, `UPDATE results SET output = ? WHERE id = ?`, strings.Replace(output, "{", `{"edited":true,`, 1), id)
			verifyFails("output edited", mismatch)
			tamperSQL(t, dsn, `UPDATE results SET output = ? WHERE id = ?`, output, id)
			verifyOK("output restored")

			tamperSQL(t, dsn, `UPDATE results SET person_id = ? WHERE id = ?`, w.Pseudo.Pseudonym(people[2].Code), id)
			verifyFails("re-filed under another person", mismatch)
			tamperSQL(t, dsn, `UPDATE results SET person_id = ? WHERE id = ?`, person, id)
			verifyOK("person restored")

			tamperSQL(t, dsn, `UPDATE results SET created_at = ? WHERE id = ?`, created.Add(-time.Hour), id)
			verifyFails("created_at moved", fmt.Sprintf("result %d does not match its run event at index %d: created_at", id, seq))
			tamperSQL(t, dsn, `UPDATE results SET created_at = ? WHERE id = ?`, created, id)
			verifyOK("created_at restored")

			tamperSQL(t, dsn, `INSERT INTO results (person_id, algorithm_id, version_hash, input_fingerprint, dataset_id, trigger_kind, summary, category, output, created_at, duration_ms, worker)
				SELECT person_id, algorithm_id, version_hash, 'forged', dataset_id, trigger_kind, 'forged', category, output, created_at, duration_ms, worker FROM results WHERE id = ?`, id)
			forged := int64(testenv.Count(t, w.Store, `SELECT MAX(id) FROM results`))
			verifyFails("forged row", fmt.Sprintf("result %d: no run event in the audit log names this result", forged))
			tamperSQL(t, dsn, `DELETE FROM results WHERE id = ?`, forged)
			verifyOK("forged row removed")

			tamperSQL(t, dsn, `DELETE FROM results WHERE id = ?`, id)
			verifyFails("row deleted", mismatch+": the run event names this result, but no such row is stored")
		})
	}
}

// auditWorld is a platform on backend b (an SQLite file in the data
// directory, or a PostgreSQL schema) with a demo cohort of n ingested:
// what the audit-verify tests tamper with.
func auditWorld(t *testing.T, b testenv.Backend, n int) (w *testenv.World, people []demo.Person, data, dsn string) {
	t.Helper()
	data = t.TempDir()
	dsn = filepath.Join(data, "geneguard.db")
	if b.Name != "sqlite" {
		dsn = b.DSN(t)
	}
	w = testenv.NewWorld(t, dsn)
	people = demo.Cohort(n)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	return w, people, data, dsn
}

// auditVerifier returns the two checks the tamper tests make with `audit
// verify`: ok(when) wants exit 0 and an output holding honest (fatal
// otherwise: later steps build on an honest log); fails(what, want) wants
// a failure whose message holds want.
func auditVerifier(t *testing.T, dsn, data, honest string) (ok func(when string), fails func(what, want string)) {
	ok = func(when string) {
		t.Helper()
		code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data)
		if code != 0 || !strings.Contains(out, honest) {
			t.Fatalf("%s: verify exit %d, want %q:\n%s%s", when, code, honest, out, errOut)
		}
	}
	fails = func(what, want string) {
		t.Helper()
		code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s: verify exit %d, want a failure saying %q:\n%s%s", what, code, want, out, errOut)
		}
	}
	return ok, fails
}

// auditCheckpoint signs a checkpoint through the CLI, failing the test if
// it cannot.
func auditCheckpoint(t *testing.T, dsn, data string) {
	t.Helper()
	if code, _, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 {
		t.Fatalf("checkpoint: exit %d: %s", code, errOut)
	}
}
