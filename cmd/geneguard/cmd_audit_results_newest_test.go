package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestAuditVerifyNewestResultDeleted: deleting the newest result row (the
// largest id, which verify reads as the end of the table) is caught too.
func TestAuditVerifyNewestResultDeleted(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w, people, data, dsn := auditWorld(t, b, 2)
			for _, p := range people {
				w.Grant(t, w.SignIn(t, p.Code), demo.PGxAlgorithmID)
			}
			w.Drain(t)
			auditCheckpoint(t, dsn, data)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code != 0 || !strings.Contains(out, "results OK: 2 match") {
				t.Fatalf("honest log: verify exit %d:\n%s%s", code, out, errOut)
			}
			id := int64(testenv.Count(t, w.Store, `SELECT MAX(id) FROM results`))
			var seq uint64
			found := false
			for _, e := range testenv.AuditLog(t, w.Store) {
				if e.Action == "run" && e.Details["result"] == fmt.Sprint(id) && !found {
					seq, found = e.Seq, true
				}
			}
			if !found {
				t.Fatalf("no run event names result %d", id)
			}
			tamperSQL(t, dsn, `DELETE FROM results WHERE id = ?`, id)
			want := fmt.Sprintf("result %d does not match its run event at index %d: the run event names this result, but no such row is stored", id, seq)
			if code, out, errOut := auditCLI(t, "verify", "--db", dsn, "--data", data); code == 0 || !strings.Contains(errOut, want) {
				t.Errorf("newest result deleted: verify exit %d, want a failure saying %q:\n%s%s", code, want, out, errOut)
			}
		})
	}
}
