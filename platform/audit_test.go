package platform_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

func newTestAuditor(t *testing.T, log platform.AuditLog) *platform.Auditor {
	t.Helper()
	skey, vkey, err := audit.GenerateKey("geneguard.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := platform.NewAuditor(log, vkey, s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuditorReceipts: the patient's access-log page gets a receipt for
// each event about them once a checkpoint covers it; it verifies offline
// with the published key; nobody gets a receipt for someone else's event.
func TestAuditorReceipts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		alice, bob := w.SignIn(t, people[0].Code), w.SignIn(t, people[1].Code)
		w.Grant(t, alice, demo.PGxAlgorithmID)
		w.Drain(t)
		a := newTestAuditor(t, w.Store)

		trail, err := w.Service.AuditTrail(ctx, alice, alice.Person)
		if err != nil {
			t.Fatal(err)
		}
		last := trail[len(trail)-1].Seq
		if _, err := a.Receipt(ctx, alice, last); platform.ErrorCode(err) != platform.CodeNotFound || !errors.Is(err, platform.ErrNotCheckpointed) {
			t.Errorf("receipt before any checkpoint: %v, want not_found, not yet checkpointed", err)
		}
		// Someone else's event, not yet signed, reads like any event not
		// in her log: it must not confirm that it exists.
		bobFirst, err := w.Service.AuditTrail(ctx, bob, bob.Person)
		if err != nil || len(bobFirst) == 0 {
			t.Fatalf("bob's trail: %v %v", bobFirst, err)
		}
		if _, err := a.Receipt(ctx, alice, bobFirst[0].Seq); errors.Is(err, platform.ErrNotCheckpointed) || platform.ErrorMessage(err) != fmt.Sprintf("no event %d in your access log", bobFirst[0].Seq) {
			t.Errorf("alice asking for bob's unsigned event: %v", err)
		}
		if _, _, err := a.Checkpoint(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for _, e := range trail {
			r, err := a.Receipt(ctx, alice, e.Seq)
			if err != nil {
				t.Fatalf("receipt %d (%s): %v", e.Seq, e.Action, err)
			}
			if err := audit.VerifyReceipt(r, a.VerifierKey()); err != nil {
				t.Errorf("receipt %d does not verify offline: %v", e.Seq, err)
			}
		}
		bobTrail, err := w.Service.AuditTrail(ctx, bob, bob.Person)
		if err != nil {
			t.Fatal(err)
		}
		bobSeq := bobTrail[0].Seq
		if _, err := a.Receipt(ctx, alice, bobSeq); platform.ErrorCode(err) != platform.CodeNotFound {
			t.Errorf("alice asking for bob's event: %v, want not_found", err)
		}
		// An index past the log reads to a patient like someone else's
		// event: the log's size is not theirs to learn.
		if _, err := a.Receipt(ctx, alice, 999999); platform.ErrorCode(err) != platform.CodeNotFound || platform.ErrorMessage(err) != "no event 999999 in your access log" {
			t.Errorf("alice asking for an event past the log: %v", err)
		}
		if _, err := a.Receipt(ctx, testenv.Governance, 999999); platform.ErrorCode(err) != platform.CodeNotFound || !strings.Contains(platform.ErrorMessage(err), "no audit event 999999: the log has") {
			t.Errorf("governance asking for an event past the log: %v", err)
		}
		if _, err := a.Receipt(ctx, identity.Principal{Subject: "dr-tamm", Role: identity.RolePhysician}, bobSeq); platform.ErrorCode(err) != platform.CodeForbidden {
			t.Errorf("physician asking for a receipt: %v, want forbidden", err)
		}
		if _, err := a.Receipt(ctx, testenv.Governance, bobSeq); err != nil {
			t.Errorf("governance receipt: %v", err)
		}
		sum, err := a.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Events == 0 || sum.Unsigned() != 0 || sum.Checkpoints != 1 {
			t.Errorf("summary %+v", sum)
		}
	})
}

// TestAuditorRollback: a checkpoint kept outside the database (here the
// operator's copy of the last one signed) exposes a database whose newest
// checkpoint was removed and whose later events were rewritten, which the
// stored data alone can no longer show.
func TestAuditorRollback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		a := newTestAuditor(t, w.Store)
		cp1, c1, err := a.Checkpoint(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		people := demo.Cohort(2)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		w.SignIn(t, people[0].Code)
		cp2, c2, err := a.Checkpoint(ctx, cp1)
		if err != nil {
			t.Fatalf("honest checkpoint refused: %v", err)
		}
		if _, _, err := a.Checkpoint(ctx, cp2); err != nil {
			t.Fatalf("re-checkpoint with nothing new: %v", err)
		}

		// The DBA rewrites the ingest event (with a fresh leaf hash) and
		// deletes the checkpoint that covered it.
		seq := c2.Size - 2
		var canon []byte
		for r, err := range w.Store.AuditRows(ctx, seq, seq+1) {
			if err != nil {
				t.Fatal(err)
			}
			canon = r.Canonical
		}
		edited := bytes.Replace(canon, []byte(`"ingest"`), []byte(`"export"`), 1)
		if bytes.Equal(edited, canon) {
			t.Fatalf("event %d is not the ingest: %s", seq, canon)
		}
		e, err := audit.ParseCanonical(edited)
		if err != nil {
			t.Fatal(err)
		}
		q := `UPDATE audit_events SET canonical = ?, leaf_hash = ?, action = 'export' WHERE seq = ?`
		d := `DELETE FROM audit_checkpoints WHERE size = ?`
		if w.Store.Dialect() == "postgres" {
			q = `UPDATE audit_events SET canonical = $1, leaf_hash = $2, action = 'export' WHERE seq = $3`
			d = `DELETE FROM audit_checkpoints WHERE size = $1`
		}
		if _, err := w.Store.DB().ExecContext(ctx, q, edited, audit.LeafHash(e), int64(seq)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Store.DB().ExecContext(ctx, d, int64(c2.Size)); err != nil {
			t.Fatal(err)
		}

		if _, err := a.Verify(ctx); err != nil {
			t.Logf("stored data alone: %v", err)
		} else {
			t.Log("stored data alone: verifies (the rewrite is after the last stored checkpoint)")
		}
		if _, _, err := a.Checkpoint(ctx, cp2); !errors.Is(err, platform.ErrInconsistent) {
			t.Errorf("checkpoint after rollback: %v, want ErrInconsistent", err)
		}
		_, err = a.Verify(ctx, cp2)
		var te *audit.TamperError
		if !errors.As(err, &te) {
			t.Fatalf("verify against the kept checkpoint: %v, want *audit.TamperError", err)
		}
		if te.Index != c1.Size {
			// Only cp1 still matches, so the damage lies in [size1, size2).
			t.Errorf("tamper index %d, want %d", te.Index, c1.Size)
		}
	})
}

// TestRunCheckpoints: the server's loop signs as events arrive and hands
// each new checkpoint out for keeping.
func TestRunCheckpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	a := newTestAuditor(t, w.Store)
	signed := make(chan []byte, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RunCheckpoints(ctx, time.Millisecond, nil, func(n []byte) { signed <- n }, func(err error) { t.Error(err) })
	}()
	n := <-signed
	cp, err := audit.OpenCheckpoint(n, a.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	w.SignIn(t, demo.Cohort(1)[0].Code)
	for cp2 := cp; cp2.Size == cp.Size; {
		if cp2, err = audit.OpenCheckpoint(<-signed, a.Verifier()); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
}

// TestAuditorWithoutKeyRefusesExternal: an auditor made without a verifier
// key (nothing signed yet) refuses an outside checkpoint it cannot open,
// instead of failing deep inside the signature check.
func TestAuditorWithoutKeyRefusesExternal(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	a, err := platform.NewAuditor(w.Store, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), []byte("some checkpoint")); !errors.Is(err, platform.ErrNoVerifierKey) {
		t.Errorf("verify with an outside checkpoint and no key: %v, want ErrNoVerifierKey", err)
	}
	if _, err := a.Verify(context.Background()); err != nil {
		t.Errorf("verify with no key and nothing signed: %v", err)
	}
}
