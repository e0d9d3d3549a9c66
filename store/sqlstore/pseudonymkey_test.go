package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// TestPseudonymKeyFingerprint: the first key's fingerprint is recorded, the
// same key is accepted again, another is refused without writing anything,
// and a database set up before migration 00008 adopts the key it is next
// opened with.
func TestPseudonymKeyFingerprint(t *testing.T) {
	const a, b = "aaaa000000000000000000000000000000000000000000000000000000000001", "bbbb000000000000000000000000000000000000000000000000000000000002"
	for _, be := range testenv.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			for _, c := range []struct {
				name string
				// old makes the database one set up before 00008.
				old          bool
				first, then  string
				wantRecorded bool
				wantErr      error
			}{
				{name: "same key", first: a, then: a},
				{name: "another key", first: a, then: b, wantErr: sqlstore.ErrPseudonymKeyMismatch},
				{name: "old database adopts", old: true, then: b, wantRecorded: true},
			} {
				t.Run(c.name, func(t *testing.T) {
					dsn := be.DSN(t)
					st, err := sqlstore.Open(ctx, dsn)
					if err != nil {
						t.Fatal(err)
					}
					if fp, err := st.PseudonymKeyFingerprint(ctx); err != nil || fp != "" {
						t.Fatalf("new database: fingerprint %q, %v; want none", fp, err)
					}
					if c.old {
						testenv.BeforeKeyRecords(t, st)
					} else if rec, err := st.CheckPseudonymKey(ctx, c.first); err != nil || !rec {
						t.Fatalf("set-up: recorded %v, %v; want recorded", rec, err)
					}
					st.Close()

					st = testenv.OpenStore(t, dsn)
					rec, err := st.CheckPseudonymKey(ctx, c.then)
					if !errors.Is(err, c.wantErr) || rec != c.wantRecorded {
						t.Fatalf("open with %.4s: recorded %v, %v; want %v, %v", c.then, rec, err, c.wantRecorded, c.wantErr)
					}
					if c.wantErr != nil && (!strings.Contains(err.Error(), c.then[:12]) || !strings.Contains(err.Error(), c.first[:12])) {
						t.Errorf("mismatch %q does not name both fingerprints' prefixes", err)
					}
					want := c.first
					if c.old {
						want = c.then
					}
					if fp, err := st.PseudonymKeyFingerprint(ctx); err != nil || fp != want {
						t.Errorf("recorded fingerprint %q, %v; want %q", fp, err, want)
					}
					if n := testenv.Count(t, st, `SELECT COUNT(*) FROM pseudonym_key`); n != 1 {
						t.Errorf("%d fingerprint rows, want 1", n)
					}
				})
			}
		})
	}
}

// TestHoldings: a new database holds no persons and no datasets; one that
// an ingest wrote to holds its persons and its dataset.
func TestHoldings(t *testing.T) {
	for _, be := range testenv.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			w := testenv.NewWorld(t, be.DSN(t))
			if p, d, err := w.Store.Holdings(ctx); err != nil || p != 0 || d != 0 {
				t.Fatalf("new database: %d persons, %d datasets, %v; want none", p, d, err)
			}
			w.Ingest(t, testenv.DemoVCF(t, demo.Cohort(3)).Write(t, "cohort.vcf"))
			if p, d, err := w.Store.Holdings(ctx); err != nil || p != 3 || d != 1 {
				t.Errorf("after an ingest of 3 persons: %d persons, %d datasets, %v; want 3, 1", p, d, err)
			}
		})
	}
}
