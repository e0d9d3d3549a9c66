package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestAuditVerifyDatasets: a genotype dataset edited, re-mapped (a column
// re-filed under another person), forged or deleted in SQL, or whose ingest
// event was deleted from the unsigned end of the log, is caught by `audit
// verify`, which names the dataset and the index of its ingest event.
func TestAuditVerifyDatasets(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 3)
			auditCheckpoint(t, dsn, data)
			verifyOK, verifyFails := auditVerifier(t, dsn, data, "datasets OK: 1 match")
			ingestEvent := func(id int64) uint64 {
				t.Helper()
				for _, e := range testenv.AuditLog(t, w.Store) {
					if e.Action == "ingest" && e.Object == fmt.Sprintf("dataset %d", id) {
						return e.Seq
					}
				}
				t.Fatalf("no ingest event names dataset %d", id)
				return 0
			}
			verifyOK("untouched")

			id := int64(testenv.Count(t, w.Store, `SELECT MIN(id) FROM datasets`))
			mismatch := fmt.Sprintf("dataset %d does not match its ingest event at index %d", id, ingestEvent(id))
			var build, file string
			var created time.Time
			if err := w.Store.DB().QueryRowContext(context.Background(), fmt.Sprintf(`SELECT build, file_sha256, created_at FROM datasets WHERE id = %d`, id)).Scan(&build, &file, &created); err != nil {
				t.Fatal(err)
			}

			tamperSQL(t, dsn, `UPDATE datasets SET build = ? WHERE id = ?`, "GRCh37", id)
			verifyFails("build edited", mismatch+`: build "GRCh37", but the event records "`+build+`"`)
			tamperSQL(t, dsn, `UPDATE datasets SET build = ? WHERE id = ?`, build, id)
			verifyOK("build restored")

			// file_sha256 finds earlier mappings of the same file, so it
			// decides whose results leave view on a re-mapping.
			tamperSQL(t, dsn, `UPDATE datasets SET file_sha256 = ? WHERE id = ?`, strings.Repeat("0", 64), id)
			verifyFails("file hash edited", mismatch+": file sha256")
			tamperSQL(t, dsn, `UPDATE datasets SET file_sha256 = ? WHERE id = ?`, file, id)
			tamperSQL(t, dsn, `UPDATE datasets SET records = records + 1 WHERE id = ?`, id)
			verifyFails("records edited", mismatch+": records")
			tamperSQL(t, dsn, `UPDATE datasets SET records = records - 1 WHERE id = ?`, id)
			verifyOK("file hash and records restored")

			tamperSQL(t, dsn, `UPDATE datasets SET created_at = ? WHERE id = ?`, created.Add(-time.Hour), id)
			verifyFails("created_at moved", mismatch+": created_at")
			tamperSQL(t, dsn, `UPDATE datasets SET created_at = ? WHERE id = ?`, created, id)
			verifyOK("created_at restored")

			// The first column's genotypes re-filed under the third person.
			first := w.Pseudo.Pseudonym(people[0].Code)
			tamperSQL(t, dsn, `UPDATE dataset_samples SET person_id = ? WHERE dataset_id = ? AND person_id = ?`, w.Pseudo.Pseudonym(people[2].Code), id, first)
			verifyFails("column re-filed", mismatch+": its sample mapping hashes to")
			tamperSQL(t, dsn, `UPDATE dataset_samples SET person_id = ? WHERE dataset_id = ? AND sample_index = (SELECT MIN(sample_index) FROM dataset_samples WHERE dataset_id = ?)`, first, id, id)
			verifyOK("mapping restored")

			tamperSQL(t, dsn, `INSERT INTO datasets (sha256, file_sha256, path, build, samples, records, source, created_at)
				SELECT 'forged', 'forged', path, build, samples, records, source, created_at FROM datasets WHERE id = ?`, id)
			forged := int64(testenv.Count(t, w.Store, `SELECT MAX(id) FROM datasets`))
			verifyFails("forged dataset", fmt.Sprintf("dataset %d: no ingest event in the audit log records this dataset", forged))
			tamperSQL(t, dsn, `DELETE FROM datasets WHERE id = ?`, forged)
			verifyOK("forged dataset removed")

			// A second file ingested after the checkpoint: its ingest
			// event is the newest, not yet signed. Deleting it from the
			// log leaves a dataset no event records.
			w.Ingest(t, testenv.DemoVCF(t, demo.Cohort(5)[3:]).Write(t, "more.vcf"))
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code != 0 || !strings.Contains(out, "datasets OK: 2 match") {
				t.Fatalf("second dataset: verify exit %d:\n%s%s", code, out, errOut)
			}
			newest := int64(testenv.Count(t, w.Store, `SELECT MAX(id) FROM datasets`))
			tamperSQL(t, dsn, `DELETE FROM audit_events WHERE seq = ?`, ingestEvent(newest))
			verifyFails("newest ingest event deleted", fmt.Sprintf("dataset %d: no ingest event in the audit log records this dataset", newest))

			// Its row gone too, nothing shows: an unsigned tail cut off
			// whole is what only the next checkpoint catches.
			tamperSQL(t, dsn, `DELETE FROM dataset_samples WHERE dataset_id = ?`, newest)
			tamperSQL(t, dsn, `DELETE FROM datasets WHERE id = ?`, newest)
			verifyOK("newest dataset and its event cut off")

			tamperSQL(t, dsn, `DELETE FROM dataset_samples WHERE dataset_id = ?`, id)
			tamperSQL(t, dsn, `DELETE FROM datasets WHERE id = ?`, id)
			verifyFails("dataset deleted", mismatch+": the ingest event records this dataset, but no such row is stored: deleted")
		})
	}
}

// TestAuditVerifyMappingAlteredWhileRunning: a sample mapping altered in
// SQL while a computation ran (so one person's result came from another's
// column) and then put back still fails verify: each run event records
// the column it read, and results are checked against the verified
// mapping.
func TestAuditVerifyMappingAlteredWhileRunning(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 2)
			auditCheckpoint(t, dsn, data)
			verifyOK, verifyFails := auditVerifier(t, dsn, data, "datasets OK: 1 match")
			verifyOK("honest")
			p0, p1 := w.Pseudo.Pseudonym(people[0].Code), w.Pseudo.Pseudonym(people[1].Code)
			var c0 int
			if err := w.Store.DB().QueryRowContext(context.Background(), `SELECT sample_index FROM dataset_samples WHERE person_id = '`+p0+`'`).Scan(&c0); err != nil || c0 > 1 {
				t.Fatalf("the first person's column: %d, %v", c0, err)
			}
			mapping := func(atC0, other string) {
				t.Helper()
				tamperSQL(t, dsn, `UPDATE dataset_samples SET person_id = CASE sample_index WHEN ? THEN ? ELSE ? END WHERE sample_index IN (0, 1)`, c0, atC0, other)
			}
			mapping(p1, p0) // the two persons' columns exchanged
			w.Grant(t, w.SignIn(t, people[0].Code), demo.PGxAlgorithmID)
			w.Drain(t)
			mapping(p0, p1) // and put back
			verifyFails("mapping altered while a result was computed, then put back",
				fmt.Sprintf("computed from column %d of dataset 1, but the dataset's verified mapping gives the person column %d: the mapping was altered while it ran", 1-c0, c0))
		})
	}
}

// TestAuditVerifyGenotypeFiles: `audit verify --genotypes` hashes every
// stored genotype file against its dataset's file hash and names a file
// changed after ingest.
func TestAuditVerifyGenotypeFiles(t *testing.T) {
	w, _, data, dsn := auditWorld(t, testenv.Backends(t)[0], 2)
	verify := func() (int, string, string) {
		return auditCLI(t, "verify", "--genotypes", "--db", dsn, "--data", data)
	}
	if code, out, errOut := verify(); code != 0 || !strings.Contains(out, "genotype files OK: 1 hash to their dataset's file hash") {
		t.Fatalf("honest files: exit %d:\n%s%s", code, out, errOut)
	}
	var path string
	if err := w.Store.DB().QueryRowContext(context.Background(), `SELECT path FROM datasets`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(bytes.Clone(orig), "x"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := verify(); code != 1 || !strings.Contains(errOut, "dataset 1: genotype file "+path+" was changed after ingest") {
		t.Errorf("changed file: exit %d:\n%s%s", code, out, errOut)
	}
}
