package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// auditDialects are the databases the audit tests run on: SQLite always,
// PostgreSQL when GENEGUARD_TEST_POSTGRES is set.
func auditDialects(t *testing.T) []string {
	if os.Getenv("GENEGUARD_TEST_POSTGRES") == "" {
		t.Log("GENEGUARD_TEST_POSTGRES not set: PostgreSQL variant skipped")
		return []string{"sqlite"}
	}
	return []string{"sqlite", "postgres"}
}

// openAuditStore opens a fresh, migrated store: an SQLite file in a temp
// dir, or a new PostgreSQL schema (dropped at cleanup) selected through
// search_path in the DSN.
func openAuditStore(t *testing.T, dialect string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "audit.db")
	if dialect == "postgres" {
		base := os.Getenv("GENEGUARD_TEST_POSTGRES")
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		rand.Read(b)
		schema := "gg_audit_" + hex.EncodeToString(b)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close()
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type auditKeys struct {
	signer *audit.Signer
	v      note.Verifier
	vkey   string
}

func newAuditKeys(t testing.TB, origin string) auditKeys {
	t.Helper()
	skey, vkey, err := audit.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return auditKeys{signer: s, v: v, vkey: vkey}
}

// auditAppend appends n events through the store's real append path, one
// transaction each as the platform's actions do, then sequences them as
// the periodic sequencer would.
func auditAppend(t testing.TB, s *sqlstore.Store, n int) {
	t.Helper()
	auditQueue(t, s, n)
	auditSequence(t, s)
}

// auditQueue appends n events, one transaction each, leaving them pending.
func auditQueue(t testing.TB, s *sqlstore.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := s.InTx(context.Background(), func(tx platform.Tx) error {
			return tx.Audit(platform.AuditEntry{
				Actor: "dr-tamm", Role: "physician", Person: fmt.Sprintf("P-%d", i%3),
				Action: "view", Object: "results", Purpose: "treatment",
			}, map[string]string{"i": fmt.Sprint(i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func auditSequence(t testing.TB, s *sqlstore.Store) {
	t.Helper()
	if _, err := s.SequenceAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// auditAppendBulk appends n events in one transaction (fast, for big
// logs) and sequences them.
func auditAppendBulk(t testing.TB, s *sqlstore.Store, n int) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx platform.Tx) error {
		for i := 0; i < n; i++ {
			if err := tx.Audit(platform.AuditEntry{Actor: "runner", Role: "system", Person: fmt.Sprintf("P-%d", i%5), Action: "run", Object: "cyp2c19"}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	auditSequence(t, s)
}

func auditSign(t testing.TB, s *sqlstore.Store, k auditKeys) audit.Checkpoint {
	t.Helper()
	n, err := s.SignCheckpoint(context.Background(), k.signer, k.v)
	if err != nil {
		t.Fatalf("sign checkpoint: %v", err)
	}
	cp, err := audit.OpenCheckpoint(n, k.v)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// exec runs a statement written with '?' placeholders on either dialect.
func auditExec(t *testing.T, s *sqlstore.Store, q string, args ...any) {
	t.Helper()
	if s.Dialect() == sqlstore.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	res, err := s.DB().ExecContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s: no row affected", q)
	}
}

func auditCanonicalAt(t *testing.T, s *sqlstore.Store, seq uint64) []byte {
	t.Helper()
	for r, err := range s.AuditRows(context.Background(), seq, seq+1) {
		if err != nil {
			t.Fatal(err)
		}
		return r.Canonical
	}
	t.Fatalf("no row %d", seq)
	return nil
}

// leafOnly hides the store's NodeHashes so proofs are computed from leaves.
type auditLeafOnly struct{ s *sqlstore.Store }

func (l auditLeafOnly) LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	return l.s.LeafHashes(ctx, from, to)
}

func TestAuditSignVerifyReceipt(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")

			if cp := auditSign(t, s, k); cp.Size != 0 {
				t.Fatalf("empty log signed size %d", cp.Size)
			}
			auditAppend(t, s, 10)
			if cp := auditSign(t, s, k); cp.Size != 10 {
				t.Fatalf("size %d, want 10", cp.Size)
			}
			auditAppend(t, s, 7)
			n1, err := s.SignCheckpoint(ctx, k.signer, k.v)
			if err != nil {
				t.Fatal(err)
			}
			n2, err := s.SignCheckpoint(ctx, k.signer, k.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(n1, n2) {
				t.Error("signing with nothing new did not return the latest checkpoint")
			}
			cps, err := s.Checkpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) != 3 {
				t.Fatalf("%d checkpoints stored, want 3 (sizes 0, 10, 17)", len(cps))
			}

			sum, err := s.VerifyAudit(ctx, k.v)
			if err != nil {
				t.Fatalf("verify intact log: %v", err)
			}
			leaves, err := s.LeafHashes(ctx, 0, 17)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Events != 17 || sum.Checkpoints != 3 || sum.Latest.Size != 17 || !bytes.Equal(sum.Root, audit.Root(leaves)) || !bytes.Equal(sum.Latest.Root, sum.Root) {
				t.Errorf("summary %+v", sum)
			}

			r, err := s.Receipt(ctx, 5, k.v)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back audit.Receipt
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyReceipt(back, k.vkey); err != nil {
				t.Errorf("receipt does not verify offline: %v", err)
			}
			other := newAuditKeys(t, "geneguard.test/audit")
			if err := audit.VerifyReceipt(back, other.vkey); err == nil {
				t.Error("receipt verified under another key")
			}

			auditAppend(t, s, 1)
			if _, err := s.Receipt(ctx, 17, k.v); platform.ErrorCode(err) != platform.CodeNotFound {
				t.Errorf("receipt for an event no checkpoint covers: %v, want not_found", err)
			}
			if sum, err := s.VerifyAudit(ctx, k.v); err != nil || sum.Unsigned() != 1 {
				t.Errorf("verify with an unsigned tail: %+v, %v", sum, err)
			}
		})
	}
}

// TestAuditProofsFromStoredNodes checks that proofs served from the stored
// subtree hashes equal proofs computed from every leaf, at checkpoint
// sizes and past the last checkpoint (nodes not stored yet).
// A receipt for an index past the log says there is no such event and
// how many there are; one for an event that exists (sequenced or still
// pending) but is not signed yet says to wait for the next checkpoint.
// Before, both said "not covered by a signed checkpoint yet", sending an
// operator who mistyped an index to wait for ever.
func TestAuditReceiptNoSuchEvent(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			type want struct {
				seq             uint64
				notCheckpointed bool   // errors.Is ErrNotCheckpointed, else ErrNotFound
				message         string // contained in the error
			}
			check := func(stage string, cases []want) {
				t.Helper()
				for _, c := range cases {
					_, err := s.Receipt(ctx, c.seq, k.v)
					if platform.ErrorCode(err) != platform.CodeNotFound || errors.Is(err, platform.ErrNotCheckpointed) != c.notCheckpointed ||
						errors.Is(err, platform.ErrNotFound) == c.notCheckpointed || !strings.Contains(platform.ErrorMessage(err), c.message) {
						t.Errorf("%s: receipt %d: %v, want not_found %q (not checkpointed: %v)", stage, c.seq, err, c.message, c.notCheckpointed)
					}
				}
			}
			check("empty log", []want{{0, false, "no audit event 0: the log has no events yet"}})
			auditAppend(t, s, 3)
			check("no checkpoint", []want{
				{2, true, "no audit checkpoint has been signed yet"},
				{3, false, "no audit event 3: the log has 3 events (indexes 0 to 2)"},
			})
			auditSign(t, s, k)
			auditAppend(t, s, 2)
			auditQueue(t, s, 1)
			check("signed 3 of 5, 1 pending", []want{
				{3, true, "audit event 3 is not covered by a signed checkpoint yet (the latest covers 3 events)"},
				{5, true, "audit event 5 is not covered by a signed checkpoint yet"},
				{6, false, "no audit event 6: the log has 5 events (indexes 0 to 4) and 1 being sealed"},
				{999999, false, "no audit event 999999: the log has 5 events"},
			})
			if _, err := s.Receipt(ctx, 2, k.v); err != nil {
				t.Errorf("receipt for a signed event: %v", err)
			}
		})
	}
}

func TestAuditProofsFromStoredNodes(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			var sizes []uint64
			for _, n := range []int{300, 220, 250, 1} {
				auditAppendBulk(t, s, n)
				sizes = append(sizes, auditSign(t, s, k).Size)
			}
			auditAppendBulk(t, s, 300) // 1071 events, last 300 unsigned
			sizes = append(sizes, 1071)
			for _, size := range sizes {
				for _, idx := range []uint64{0, 1, 255, 256, 511, 512, 700, size / 2, size - 1} {
					if idx >= size {
						continue
					}
					got, err := audit.InclusionProof(ctx, s, idx, size)
					if err != nil {
						t.Fatalf("inclusion %d/%d: %v", idx, size, err)
					}
					want, err := audit.InclusionProof(ctx, auditLeafOnly{s}, idx, size)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("inclusion %d/%d (-want +got):\n%s", idx, size, diff)
					}
				}
				for _, s1 := range sizes {
					if s1 == 0 || s1 >= size {
						continue
					}
					got, err := audit.ConsistencyProof(ctx, s, s1, size)
					if err != nil {
						t.Fatal(err)
					}
					want, err := audit.ConsistencyProof(ctx, auditLeafOnly{s}, s1, size)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("consistency %d→%d (-want +got):\n%s", s1, size, diff)
					}
				}
			}
			for _, seq := range []uint64{0, 300, 769} {
				r, err := s.Receipt(ctx, seq, k.v)
				if err != nil {
					t.Fatal(err)
				}
				if err := audit.VerifyReceipt(r, k.vkey); err != nil {
					t.Error(err)
				}
			}
			if _, err := s.VerifyAudit(ctx, k.v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// tamperLog is 14 events with checkpoints at 4, 8 and 12; 12 and 13 are
// appended after the last checkpoint.
func auditTamperLog(t *testing.T, d string) (*sqlstore.Store, auditKeys) {
	s := openAuditStore(t, d)
	k := newAuditKeys(t, "geneguard.test/audit")
	for range 3 {
		auditAppend(t, s, 4)
		auditSign(t, s, k)
	}
	auditAppend(t, s, 2)
	return s, k
}

func TestAuditTamperEvents(t *testing.T) {
	leaf := func(b []byte) []byte { return audit.LeafHash(auditParse(b)) }
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *sqlstore.Store)
		index  uint64
	}{
		{"edit canonical bytes", func(t *testing.T, s *sqlstore.Store) {
			c := bytes.Replace(auditCanonicalAt(t, s, 5), []byte(`"dr-tamm"`), []byte(`"dr-kask"`), 1)
			auditExec(t, s, `UPDATE audit_events SET canonical = ? WHERE seq = 5`, c)
		}, 5},
		{"edit canonical bytes and leaf hash", func(t *testing.T, s *sqlstore.Store) {
			// Only the checkpoint at 8 can tell; the damage lies in [4, 8).
			c := bytes.Replace(auditCanonicalAt(t, s, 5), []byte(`"dr-tamm"`), []byte(`"dr-kask"`), 1)
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 5`, c, leaf(c))
		}, 4},
		{"edit the seq inside the bytes and rehash", func(t *testing.T, s *sqlstore.Store) {
			c := bytes.Replace(auditCanonicalAt(t, s, 6), []byte(`"seq":6`), []byte(`"seq":60`), 1)
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 6`, c, leaf(c))
		}, 6},
		{"re-file under another person", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `UPDATE audit_events SET person_id = 'P-9' WHERE seq = 7`)
		}, 7},
		{"change the action column", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `UPDATE audit_events SET action = 'login' WHERE seq = 3`)
		}, 3},
		{"delete", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq = 6`)
		}, 6},
		{"delete the first", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq = 0`)
		}, 0},
		{"delete the signed tail", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq >= 10`)
		}, 10},
		{"reorder by swapping seq", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `UPDATE audit_events SET seq = -1 WHERE seq = 2`)
			auditExec(t, s, `UPDATE audit_events SET seq = 2 WHERE seq = 3`)
			auditExec(t, s, `UPDATE audit_events SET seq = 3 WHERE seq = -1`)
		}, 2},
		{"reorder by swapping contents", func(t *testing.T, s *sqlstore.Store) {
			a, b := auditCanonicalAt(t, s, 9), auditCanonicalAt(t, s, 10)
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 9`, b, leaf(b))
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 10`, a, leaf(a))
		}, 9},
		{"renumber to close a deletion", func(t *testing.T, s *sqlstore.Store) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq = 4`)
			for i := 5; i < 14; i++ {
				auditExec(t, s, `UPDATE audit_events SET seq = ? WHERE seq = ?`, i-1, i)
			}
		}, 4},
	}
	for _, d := range auditDialects(t) {
		for _, c := range cases {
			t.Run(d+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				s, k := auditTamperLog(t, d)
				before, err := s.Receipt(ctx, c.index, k.v)
				if err != nil {
					t.Fatal(err)
				}
				c.tamper(t, s)

				_, err = s.VerifyAudit(ctx, k.v)
				var te *audit.TamperError
				if !errors.As(err, &te) {
					t.Fatalf("verify after tampering: %v, want *audit.TamperError", err)
				}
				if te.Index != c.index {
					t.Errorf("tamper reported at index %d, want %d (%v)", te.Index, c.index, err)
				}
				// A receipt handed out before the tampering still proves
				// the original event offline.
				if err := audit.VerifyReceipt(before, k.vkey); err != nil {
					t.Errorf("earlier receipt: %v", err)
				}
			})
		}
	}
}

func auditParse(b []byte) audit.Event {
	e, err := audit.ParseCanonical(b)
	if err != nil {
		panic(err)
	}
	return e
}

func TestAuditReceiptAfterTampering(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s, k := auditTamperLog(t, d)
			r, err := s.Receipt(ctx, 5, k.v)
			if err != nil {
				t.Fatal(err)
			}
			// The patient's copy, edited: the event bytes no longer match.
			forged := r
			forged.Event = bytes.Replace(r.Event, []byte(`"view"`), []byte(`"edit"`), 1)
			if err := audit.VerifyReceipt(forged, k.vkey); err == nil {
				t.Error("edited receipt verified")
			}
			moved := r
			moved.Index = 6
			if err := audit.VerifyReceipt(moved, k.vkey); err == nil {
				t.Error("receipt with another index verified")
			}

			// The stored event, edited with its leaf hash: no receipt.
			c := bytes.Replace(auditCanonicalAt(t, s, 5), []byte(`"view"`), []byte(`"edit"`), 1)
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 5`, c, audit.LeafHash(auditParse(c)))
			if _, err := s.Receipt(ctx, 5, k.v); err == nil {
				t.Error("receipt issued for a tampered event")
			}
			// A deleted event: no receipt either, and the error names it.
			auditExec(t, s, `DELETE FROM audit_events WHERE seq = 2`)
			_, err = s.Receipt(ctx, 2, k.v)
			var te *audit.TamperError
			if !errors.As(err, &te) || te.Index != 2 {
				t.Errorf("receipt for a deleted event: %v", err)
			}
		})
	}
}

func TestAuditTamperCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *sqlstore.Store, k auditKeys)
	}{
		{"note text edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_checkpoints SET note = ? WHERE size = 8`, auditEditNote(t, s, 8, "\n8\n", "\n7\n"))
		}},
		{"signature edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			n := auditNoteAt(t, s, 8)
			n[len(n)-5] ^= 1
			auditExec(t, s, `UPDATE audit_checkpoints SET note = ? WHERE size = 8`, n)
		}},
		{"size column edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_checkpoints SET size = 9 WHERE size = 8`)
		}},
		{"root column edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_checkpoints SET root = ? WHERE size = 8`, make([]byte, 32))
		}},
		{"re-signed with another key", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			other := newAuditKeys(t, "geneguard.test/audit")
			n, err := other.signer.SignCheckpoint(other.signer.Origin(), 12, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			auditExec(t, s, `UPDATE audit_checkpoints SET note = ?, root = ? WHERE size = 12`, n, make([]byte, 32))
		}},
	}
	for _, d := range auditDialects(t) {
		for _, c := range cases {
			t.Run(d+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				s, k := auditTamperLog(t, d)
				c.tamper(t, s, k)
				_, err := s.VerifyAudit(ctx, k.v)
				var ce *audit.CheckpointError
				if !errors.As(err, &ce) {
					t.Fatalf("verify: %v, want *audit.CheckpointError", err)
				}
			})
		}
	}
}

func auditNoteAt(t *testing.T, s *sqlstore.Store, size int) []byte {
	t.Helper()
	q := `SELECT note FROM audit_checkpoints WHERE size = ?`
	if s.Dialect() == sqlstore.Postgres {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n []byte
	if err := s.DB().QueryRow(q, size).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func auditEditNote(t *testing.T, s *sqlstore.Store, size int, old, new string) []byte {
	n := auditNoteAt(t, s, size)
	e := bytes.Replace(n, []byte(old), []byte(new), 1)
	if bytes.Equal(n, e) {
		t.Fatalf("%q not in note", old)
	}
	return e
}

// TestAuditSignRefuses covers the signer's own checks: it never extends a
// tree it cannot tie to the last signed checkpoint, and never signs a
// malformed new event.
func TestAuditSignRefuses(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *sqlstore.Store, k auditKeys)
		check  func(t *testing.T, err error)
	}{
		{"unsigned event edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_events SET canonical = ? WHERE seq = 13`, bytes.Replace(auditCanonicalAt(t, s, 13), []byte("view"), []byte("edit"), 1))
		}, wantAuditTamper(13)},
		{"unsigned event deleted", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq = 12`)
		}, wantAuditTamper(12)},
		{"signed tail deleted", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `DELETE FROM audit_events WHERE seq >= 11`)
		}, wantAuditTamper(11)},
		{"compact range edited", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_checkpoints SET compact = ? WHERE size = 12`, make([]byte, 64))
		}, wantAuditInconsistent},
		{"latest checkpoint forged with another key", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			other := newAuditKeys(t, "geneguard.test/audit")
			n, _ := other.signer.SignCheckpoint(other.signer.Origin(), 12, make([]byte, 32))
			auditExec(t, s, `UPDATE audit_checkpoints SET note = ? WHERE size = 12`, n)
		}, wantAuditInconsistent},
		{"signed event edited, compact range lost", func(t *testing.T, s *sqlstore.Store, k auditKeys) {
			auditExec(t, s, `UPDATE audit_checkpoints SET compact = NULL`)
			c := bytes.Replace(auditCanonicalAt(t, s, 1), []byte("view"), []byte("edit"), 1)
			auditExec(t, s, `UPDATE audit_events SET canonical = ?, leaf_hash = ? WHERE seq = 1`, c, audit.LeafHash(auditParse(c)))
		}, wantAuditTamper(0)},
	}
	for _, d := range auditDialects(t) {
		for _, c := range cases {
			t.Run(d+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				s, k := auditTamperLog(t, d)
				c.tamper(t, s, k)
				_, err := s.SignCheckpoint(context.Background(), k.signer, k.v)
				c.check(t, err)
			})
		}
	}
	for _, d := range auditDialects(t) {
		t.Run(d+"/compact range lost, log intact", func(t *testing.T) {
			s, k := auditTamperLog(t, d)
			auditExec(t, s, `UPDATE audit_checkpoints SET compact = NULL`)
			if cp := auditSign(t, s, k); cp.Size != 14 {
				t.Errorf("size %d, want 14", cp.Size)
			}
			if _, err := s.VerifyAudit(context.Background(), k.v); err != nil {
				t.Error(err)
			}
		})
		t.Run(d+"/mismatched keys", func(t *testing.T) {
			s, k := auditTamperLog(t, d)
			other := newAuditKeys(t, "geneguard.test/other")
			if _, err := s.SignCheckpoint(context.Background(), other.signer, k.v); err == nil {
				t.Error("signed with a key the verifier does not know")
			}
		})
	}
}

func wantAuditTamper(index uint64) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var te *audit.TamperError
		if !errors.As(err, &te) || te.Index != index {
			t.Errorf("sign: %v, want *audit.TamperError at %d", err, index)
		}
	}
}

func wantAuditInconsistent(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, platform.ErrInconsistent) {
		t.Errorf("sign: %v, want platform.ErrInconsistent", err)
	}
}

// TestAuditDerivedState: altering the stored subtree hashes is reported by
// verify as derived-state damage (not log tampering), and makes receipts
// fail rather than lie.
func TestAuditDerivedState(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			auditAppendBulk(t, s, 600)
			auditSign(t, s, k)
			auditExec(t, s, `UPDATE audit_nodes SET hash = ? WHERE level = 8 AND idx = 1`, make([]byte, 32))
			_, err := s.VerifyAudit(ctx, k.v)
			if !errors.Is(err, sqlstore.ErrAuditState) {
				t.Errorf("verify: %v, want ErrAuditState", err)
			}
			if _, err := s.Receipt(ctx, 10, k.v); err == nil {
				t.Error("receipt built from a tampered node")
			}
			if _, err := s.Receipt(ctx, 300, k.v); err != nil {
				t.Errorf("receipt whose proof does not use the node: %v", err)
			}
		})
	}
}

// TestAuditSequencer: events queued by actions are sequenced on demand
// before a checkpoint is signed and before verification; a pending row
// that is not a canonical event stops the sequencer at that row (the rows
// before it are sequenced) and makes signing and verification fail, naming
// it; new events never take over indices a checkpoint has signed.
func TestAuditSequencer(t *testing.T) {
	for _, d := range auditDialects(t) {
		t.Run(d+"/sign and verify sequence first", func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			auditQueue(t, s, 5)
			if n, err := s.AuditSize(ctx); err != nil || n != 0 {
				t.Fatalf("AuditSize of queued events = %d, %v; want 0", n, err)
			}
			if cp := auditSign(t, s, k); cp.Size != 5 {
				t.Errorf("checkpoint over 5 queued events has size %d", cp.Size)
			}
			auditQueue(t, s, 2)
			sum, err := s.VerifyAudit(ctx, k.v)
			if err != nil || sum.Events != 7 || sum.Unsigned() != 2 {
				t.Errorf("verify with 2 queued events: %+v, %v; want 7 events, 2 unsigned", sum, err)
			}
		})
		t.Run(d+"/bad pending row", func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, d)
			k := newAuditKeys(t, "geneguard.test/audit")
			auditAppend(t, s, 3)
			auditSign(t, s, k)
			auditQueue(t, s, 2)
			auditExec(t, s, `INSERT INTO audit_pending (person_id, body) VALUES ('P-1', ?)`, []byte(`{"action":"view"}`))
			auditQueue(t, s, 1)
			n, err := s.SequenceAudit(ctx)
			if !errors.Is(err, sqlstore.ErrAuditPending) || n != 2 {
				t.Fatalf("SequenceAudit = %d, %v; want 2 and ErrAuditPending", n, err)
			}
			if n, err := s.SequenceAudit(ctx); !errors.Is(err, sqlstore.ErrAuditPending) || n != 0 {
				t.Errorf("SequenceAudit again = %d, %v; want 0 and ErrAuditPending", n, err)
			}
			if _, err := s.SignCheckpoint(ctx, k.signer, k.v); !errors.Is(err, sqlstore.ErrAuditPending) {
				t.Errorf("sign: %v, want ErrAuditPending", err)
			}
			if _, err := s.VerifyAudit(ctx, k.v); !errors.Is(err, sqlstore.ErrAuditPending) {
				t.Errorf("verify: %v, want ErrAuditPending", err)
			}
			// The operator removes the row: the event after it follows.
			auditExec(t, s, `DELETE FROM audit_pending WHERE body = ?`, []byte(`{"action":"view"}`))
			if cp := auditSign(t, s, k); cp.Size != 6 {
				t.Errorf("size %d after the bad row was removed, want 6", cp.Size)
			}
			if _, err := s.VerifyAudit(ctx, k.v); err != nil {
				t.Error(err)
			}
		})
		t.Run(d+"/signed tail deleted", func(t *testing.T) {
			ctx := context.Background()
			s, k := auditTamperLog(t, d) // checkpoint at 12, events 0..13
			auditExec(t, s, `DELETE FROM audit_events WHERE seq >= 10`)
			auditQueue(t, s, 3)
			auditSequence(t, s)
			if n, err := s.AuditSize(ctx); err != nil || n != 15 {
				t.Errorf("AuditSize = %d, %v; want 15 (new events from 12, the signed size)", n, err)
			}
			_, err := s.VerifyAudit(ctx, k.v)
			var te *audit.TamperError
			if !errors.As(err, &te) || te.Index != 10 {
				t.Errorf("verify: %v, want *audit.TamperError at 10", err)
			}
		})
	}
}
