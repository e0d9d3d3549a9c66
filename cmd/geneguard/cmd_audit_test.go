package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// auditCLI runs `geneguard audit ...` and returns exit code, stdout, stderr.
func auditCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"audit"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// seedAudit appends n events through the store, one transaction each. They
// are left pending: the commands sequence them.
func seedAudit(t *testing.T, dsn string, n int) {
	t.Helper()
	st := testenv.OpenStore(t, dsn)
	for i := 0; i < n; i++ {
		err := st.InTx(context.Background(), func(tx platform.Tx) error {
			return tx.Audit(platform.AuditEntry{Actor: "dr-tamm", Role: "physician", Person: fmt.Sprintf("P-%d", i%2), Action: "view", Object: "results", Purpose: "treatment"}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func tamperSQL(t *testing.T, dsn, q string, args ...any) {
	t.Helper()
	st := testenv.OpenStore(t, dsn)
	if st.Dialect() == sqlstore.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	if _, err := st.DB().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAuditCommand(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			data := t.TempDir()
			dsn := b.DSN(t)
			seedAudit(t, dsn, 6)

			code, out, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data)
			if code != 0 {
				t.Fatalf("checkpoint: exit %d: %s", code, errOut)
			}
			vkey, err := os.ReadFile(filepath.Join(data, auditVKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "verifier key: "+strings.TrimSpace(string(vkey))) || !strings.Contains(out, "6 events") {
				t.Errorf("checkpoint output:\n%s", out)
			}
			if fi, err := os.Stat(filepath.Join(data, auditKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("signing key file: %v %v", fi.Mode(), err)
			}
			seedAudit(t, dsn, 3)
			if code, out, errOut = auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 || strings.Contains(out, "created") {
				t.Fatalf("second checkpoint: exit %d: %s%s", code, out, errOut)
			}

			code, out, errOut = auditCLI(t, "verify", "--db", dsn, "--data", data)
			if code != 0 {
				t.Fatalf("verify: exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "audit log OK: 9 events, 2 checkpoints") {
				t.Errorf("verify output:\n%s", out)
			}

			// An index past the log is no event, not one waiting for a
			// checkpoint.
			if code, _, errOut := auditCLI(t, "receipt", "--db", dsn, "--data", data, "--seq", "999999"); code != 1 ||
				!strings.Contains(errOut, "no audit event 999999: the log has 9 events (indexes 0 to 8)") || strings.Contains(errOut, "checkpoint") {
				t.Errorf("receipt for a nonexistent event: exit %d: %s", code, errOut)
			}
			code, out, errOut = auditCLI(t, "receipt", "--db", dsn, "--data", data, "--seq", "4")
			if code != 0 {
				t.Fatalf("receipt: exit %d: %s", code, errOut)
			}
			var r audit.Receipt
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("receipt is not JSON: %v\n%s", err, out)
			}
			rfile := filepath.Join(t.TempDir(), "receipt.json")
			if err := os.WriteFile(rfile, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			// Offline: only the file and the published key.
			for _, key := range []string{filepath.Join(data, auditVKeyFile), strings.TrimSpace(string(vkey))} {
				code, out, errOut = auditCLI(t, "verify-receipt", "--file", rfile, "--key", key)
				if code != 0 || !strings.HasPrefix(out, "receipt OK: event 4 (view results by dr-tamm") {
					t.Errorf("verify-receipt --key %s: exit %d: %s%s", key, code, out, errOut)
				}
			}
			forged := r
			forged.Event = bytes.Replace(r.Event, []byte("dr-tamm"), []byte("dr-kask"), 1)
			fb, _ := json.Marshal(forged)
			ffile := filepath.Join(t.TempDir(), "forged.json")
			os.WriteFile(ffile, fb, 0o644)
			if code, _, errOut = auditCLI(t, "verify-receipt", "--file", ffile, "--key", string(vkey)); code != 1 || !strings.Contains(errOut, "receipt INVALID") {
				t.Errorf("forged receipt: exit %d: %s", code, errOut)
			}

			// Tamper: delete an event; verify names it and exits 1.
			tamperSQL(t, dsn, `DELETE FROM audit_events WHERE seq = 4`)
			code, out, errOut = auditCLI(t, "verify", "--db", dsn, "--data", data)
			if code != 1 || out != "" || !strings.Contains(errOut, "tampered at index 4") {
				t.Errorf("verify after delete: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if code, _, errOut = auditCLI(t, "receipt", "--db", dsn, "--data", data, "--seq", "4"); code != 1 {
				t.Errorf("receipt for a deleted event: exit %d: %s", code, errOut)
			}
			// Signing looks only at events after the last checkpoint (it
			// extends the signed tree, so it cannot sign a forked one);
			// finding damage before that is verify's job, and it still does.
			if code, _, errOut = auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 {
				t.Errorf("checkpoint with nothing new: exit %d: %s", code, errOut)
			}
			if code, _, _ = auditCLI(t, "verify", "--db", dsn, "--data", data); code != 1 {
				t.Errorf("verify after checkpoint: exit %d", code)
			}
			// The receipt handed out earlier still proves the event.
			if code, _, errOut = auditCLI(t, "verify-receipt", "--file", rfile, "--key", string(vkey)); code != 0 {
				t.Errorf("earlier receipt after tampering: exit %d: %s", code, errOut)
			}
		})
	}
}

// TestAuditVerifyDeletedCheckpoints: signed checkpoints deleted from the
// database (the events kept) fail verify when a checkpoint kept outside it
// is newer than every stored one.
func TestAuditVerifyDeletedCheckpoints(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			data := t.TempDir()
			dsn := b.DSN(t)
			for range 2 {
				seedAudit(t, dsn, 4)
				if code, _, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 {
					t.Fatal(errOut)
				}
			}
			want := "a checkpoint kept outside the database covers 8 events, but the latest stored checkpoint covers"
			tamperSQL(t, dsn, `DELETE FROM audit_checkpoints WHERE size = 8`)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code != 1 || !strings.Contains(errOut, want+" 4") {
				t.Errorf("newest checkpoint deleted: exit %d, want %q:\n%s%s", code, want, out, errOut)
			}
			tamperSQL(t, dsn, `DELETE FROM audit_checkpoints`)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code != 1 || !strings.Contains(errOut, want+" 0") {
				t.Errorf("every checkpoint deleted: exit %d, want %q:\n%s%s", code, want, out, errOut)
			}
		})
	}
}

// TestAuditCommandExternalCheckpoint: verify --from-checkpoint and the
// state file catch a rollback that the database alone hides.
func TestAuditCommandExternalCheckpoint(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			data := t.TempDir()
			dsn := b.DSN(t)
			seedAudit(t, dsn, 4)
			if code, _, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 {
				t.Fatal(errOut)
			}
			seedAudit(t, dsn, 4)
			if code, _, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 0 {
				t.Fatal(errOut)
			}
			kept := filepath.Join(t.TempDir(), "witness.checkpoint")
			cp, err := os.ReadFile(filepath.Join(data, auditStateFile))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(kept, cp, 0o644)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data, "--from-checkpoint", kept); code != 0 || !strings.Contains(out, "consistent with "+kept) {
				t.Fatalf("verify with an honest external checkpoint: exit %d: %s%s", code, out, errOut)
			}

			// Roll back: drop the newest checkpoint and the events it covered.
			tamperSQL(t, dsn, `DELETE FROM audit_checkpoints WHERE size = 8`)
			tamperSQL(t, dsn, `DELETE FROM audit_events WHERE seq >= 6`)
			if code, _, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data, "--state", "-"); code != 0 {
				t.Fatalf("the database alone should still verify: %s", errOut)
			} else if !strings.Contains(errOut, "warning: no checkpoint kept outside the database") {
				t.Errorf("verify with no outside checkpoint does not say what it cannot see: %q", errOut)
			}
			code, _, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data, "--state", "-", "--from-checkpoint", kept)
			if code != 1 || !strings.Contains(errOut, "tampered at index 6") {
				t.Errorf("verify --from-checkpoint after rollback: exit %d: %s", code, errOut)
			}
			if code, _, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code != 1 {
				t.Errorf("verify with the state file after rollback: exit %d: %s", code, errOut)
			}
			if code, _, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", data); code != 1 || !strings.Contains(errOut, "inconsistent") {
				t.Errorf("checkpoint after rollback: exit %d: %s", code, errOut)
			}
		})
	}
}

// TestAuditVerifyBeforeAnyCheckpoint: after only ingest and workers (which
// never sign), verify checks the log and the rows it records and says that
// nothing is signed yet; once a checkpoint is signed, a missing key is
// refused rather than the checkpoint skipped.
func TestAuditVerifyBeforeAnyCheckpoint(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 2)
			w.Grant(t, w.SignIn(t, people[0].Code), demo.PGxAlgorithmID)
			w.Drain(t)
			code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data)
			for _, want := range []string{"0 checkpoints", "results OK: 1 match", "datasets OK: 1 match", "no checkpoint is signed yet (no audit signing key in"} {
				if code != 0 || !strings.Contains(out, want) {
					t.Errorf("unsigned log: verify exit %d, want %q:\n%s%s", code, want, out, errOut)
				}
			}
			tamperSQL(t, dsn, `UPDATE results SET summary = 'edited'`)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code == 0 || !strings.Contains(errOut, "does not match its run event") {
				t.Errorf("unsigned log, result edited: verify exit %d:\n%s%s", code, out, errOut)
			}

			auditCheckpoint(t, dsn, data)
			if err := os.Remove(filepath.Join(data, auditKeyFile)); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code == 0 || !strings.Contains(errOut, auditStateFile+" holds a signed checkpoint, but: no audit signing key") {
				t.Errorf("key gone, state file kept: verify exit %d:\n%s%s", code, out, errOut)
			}
			if err := os.Remove(filepath.Join(data, auditStateFile)); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code == 0 || !strings.Contains(errOut, "the database holds signed checkpoints, but: no audit signing key") {
				t.Errorf("key and state file gone: verify exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestAuditCommandUsage(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "missing subcommand"},
		{[]string{"rewrite"}, 2, "unknown subcommand"},
		{[]string{"receipt", "--data", data}, 2, "--seq"},
		{[]string{"verify-receipt", "--file", "x.json"}, 2, "--key"},
		{[]string{"verify", "--data", data}, 1, "no database at"},
		{[]string{"verify-receipt", "--file", "x.json", "--key", "not-a-key"}, 1, ""},
	} {
		code, _, errOut := auditCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("audit %v: exit %d (want %d): %s", c.args, code, c.code, errOut)
		}
	}
}

func TestVKeyFromSKey(t *testing.T) {
	skey, vkey, err := audit.GenerateKey("geneguard.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	got, err := vkeyFromSKey(skey)
	if err != nil || got != vkey {
		t.Errorf("vkeyFromSKey = %q, %v; want %q", got, err, vkey)
	}
	if _, err := vkeyFromSKey(vkey); err == nil {
		t.Error("a vkey was accepted as an skey")
	}
}

// TestAuditKeyNotTakenOver: a data directory without a signing key cannot
// make one for a database whose checkpoints another directory signed (its
// key would make them unverifiable); it creates no file, and the directory
// that signed them goes on signing and verifying.
func TestAuditKeyNotTakenOver(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			own := t.TempDir()
			dsn := b.DSN(t)
			seedAudit(t, dsn, 3)
			auditCheckpoint(t, dsn, own)
			other := t.TempDir()
			code, out, errOut := auditCLI(t, "checkpoint", "--db", dsn, "--data", other)
			if code != 1 || !strings.Contains(errOut, "the database holds signed checkpoints, but "+other+" has no audit signing key") {
				t.Errorf("checkpoint from another data directory: exit %d:\n%s%s", code, out, errOut)
			}
			if left, _ := os.ReadDir(other); len(left) != 0 {
				t.Errorf("the refused checkpoint left %v", left)
			}
			seedAudit(t, dsn, 2)
			auditCheckpoint(t, dsn, own)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", own); code != 0 || !strings.Contains(out, "2 checkpoints") {
				t.Errorf("the signing directory after the refusal: verify exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}
