// Package auditbench measures the audit log on a real database: sustained
// appends (each in its own transaction, as platform actions do) counted
// once the sequencer has sealed them into the log, while a checkpoint is
// signed periodically, and receipt / inclusion-proof
// generation as the log grows. SQLite always; PostgreSQL when
// GENEGUARD_TEST_POSTGRES is set. run.sh runs it on PostgreSQL and projects
// the proof cost to 10 million events.
//
// Knobs (environment):
//
//	GENEGUARD_AUDIT_BENCH_SIZES       log sizes for the proof benchmark (default 1000,10000,100000)
//	GENEGUARD_AUDIT_BENCH_LEAFONLY_MAX largest size for the leaves-only comparison (default 100000)
//	GENEGUARD_AUDIT_BENCH_EVERY       checkpoint interval during the append benchmark (default 1s)
//	GENEGUARD_AUDIT_BENCH_SEQUENCE_EVERY sequencer interval during the append benchmark (default 200ms, as serve/worker)
//	GENEGUARD_AUDIT_BENCH_PARALLEL    appender goroutines per CPU (default 4)
package auditbench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// backends is "sqlite", plus "postgres" when GENEGUARD_TEST_POSTGRES is
// set. (Not internal/testenv: that wires the whole platform, and this
// package should build with only the store.)
func backends(b *testing.B) []string {
	if os.Getenv("GENEGUARD_TEST_POSTGRES") == "" {
		b.Log("GENEGUARD_TEST_POSTGRES not set: PostgreSQL variant skipped")
		return []string{"sqlite"}
	}
	return []string{"sqlite", "postgres"}
}

// openStore opens a fresh store: an SQLite file in a temp dir, or a new
// PostgreSQL schema (dropped afterwards) chosen by search_path.
func openStore(b *testing.B, backend string) *sqlstore.Store {
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if backend == "postgres" {
		base := os.Getenv("GENEGUARD_TEST_POSTGRES")
		admin, err := sql.Open("pgx", base)
		if err != nil {
			b.Fatal(err)
		}
		r := make([]byte, 6)
		rand.Read(r)
		schema := "gg_bench_" + hex.EncodeToString(r)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close()
			b.Fatal(err)
		}
		b.Cleanup(func() {
			admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			b.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

type keys struct {
	signer *audit.Signer
	a      *platform.Auditor
}

func newKeys(b *testing.B, st *sqlstore.Store) keys {
	skey, vkey, err := audit.GenerateKey("geneguard.bench/audit")
	if err != nil {
		b.Fatal(err)
	}
	s, err := audit.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	a, err := platform.NewAuditor(st, vkey, s)
	if err != nil {
		b.Fatal(err)
	}
	return keys{signer: s, a: a}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAppend: one event per transaction through tx.Audit, from
// several goroutines, with the audit sequencer running as serve and worker
// run it (every GENEGUARD_AUDIT_BENCH_SEQUENCE_EVERY) and a checkpoint
// signed every interval (which sequences first, too). An event counts once
// it is sequenced: sealed/s is b.N over the time from the start until the
// last event was sequenced by the periodic sequencer. Also reported:
// appends/s (the actions' commits alone), seal-lag-ms (from the last
// commit until everything was sequenced), max-pending (the largest
// backlog seen at the checkpoint ticks: it stays small when the sequencer
// keeps up) and the checkpoints signed. The log is verified at the end.
func BenchmarkAppend(b *testing.B) {
	every := time.Second
	if d, err := time.ParseDuration(os.Getenv("GENEGUARD_AUDIT_BENCH_EVERY")); err == nil {
		every = d
	}
	seqEvery := 200 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("GENEGUARD_AUDIT_BENCH_SEQUENCE_EVERY")); err == nil {
		seqEvery = d
	}
	for _, be := range backends(b) {
		b.Run(be, func(b *testing.B) {
			ctx := context.Background()
			st := openStore(b, be)
			k := newKeys(b, st)
			bg, stopBG := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var bgErr error
			fail := func(err error) {
				mu.Lock()
				defer mu.Unlock()
				if bgErr == nil && bg.Err() == nil {
					bgErr = err
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				st.RunAuditSequencer(bg, seqEvery, fail)
			}()
			var signed, maxPending int
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(every)
				defer t.Stop()
				for {
					select {
					case <-bg.Done():
						return
					case <-t.C:
						var n int
						if err := st.DB().QueryRowContext(bg, `SELECT COUNT(*) FROM audit_pending`).Scan(&n); err != nil {
							fail(err)
							return
						}
						maxPending = max(maxPending, n)
						if _, _, err := k.a.Checkpoint(bg, nil); err != nil {
							fail(err)
							return
						}
						signed++
					}
				}
			}()
			b.SetParallelism(envInt("GENEGUARD_AUDIT_BENCH_PARALLEL", 4))
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					err := st.InTx(ctx, func(tx platform.Tx) error {
						return tx.Audit(platform.AuditEntry{
							Actor: "dr-tamm", Role: "physician", Person: fmt.Sprintf("P-%d", i%1000),
							Action: "view", Object: "results", Purpose: "treatment", RequestID: fmt.Sprintf("req-%d", i),
						}, nil)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			appended := time.Since(start)
			// Sealed when the periodic sequencer has sequenced the last one.
			for {
				n, err := st.AuditSize(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n >= uint64(b.N) {
					break
				}
				if time.Since(start) > appended+time.Minute {
					b.Fatalf("sequencer did not catch up: %d of %d events sequenced a minute after the last append", n, b.N)
				}
				time.Sleep(2 * time.Millisecond)
			}
			sealed := time.Since(start)
			b.StopTimer()
			stopBG()
			wg.Wait()
			if bgErr != nil {
				b.Fatal(bgErr)
			}
			if _, _, err := k.a.Checkpoint(ctx, nil); err != nil {
				b.Fatal(err)
			}
			sum, err := k.a.Verify(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Events != uint64(b.N) || sum.Unsigned() != 0 {
				b.Fatalf("%d events sequenced (%d unsigned), %d appended", sum.Events, sum.Unsigned(), b.N)
			}
			b.ReportMetric(float64(b.N)/sealed.Seconds(), "sealed/s")
			b.ReportMetric(float64(b.N)/appended.Seconds(), "appends/s")
			b.ReportMetric(float64((sealed-appended).Microseconds())/1000, "seal-lag-ms")
			b.ReportMetric(float64(maxPending), "max-pending")
			b.ReportMetric(float64(signed), "checkpoints")
		})
	}
}

// bulkLoad tops the log up to n events with direct multi-row inserts of
// rows exactly as the sequencer writes them (canonical bytes, leaf hash): the
// proof cost depends only on what is stored, and this is much faster than
// n transactions.
func bulkLoad(b *testing.B, st *sqlstore.Store, n uint64) {
	ctx := context.Background()
	have, err := st.AuditSize(ctx)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 1000
	for have < n {
		m := min(n-have, chunk)
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_events (seq, at, person_id, action, canonical, leaf_hash) VALUES `)
		args := make([]any, 0, 6*m)
		for i := uint64(0); i < m; i++ {
			seq := have + i
			e := audit.Event{Seq: seq, Time: t0.Add(time.Duration(seq) * time.Millisecond), Actor: "runner", Role: "system",
				Person: fmt.Sprintf("P-%d", seq%100000), Action: "run", Object: "cyp2c19@1.0.0", Purpose: "consent"}
			if i > 0 {
				q.WriteString(", ")
			}
			p := len(args)
			if st.Dialect() == sqlstore.Postgres {
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6)
			} else {
				q.WriteString("(?, ?, ?, ?, ?, ?)")
			}
			args = append(args, int64(seq), e.Time, e.Person, e.Action, e.Canonical(), audit.LeafHash(e))
		}
		if _, err := st.DB().ExecContext(ctx, q.String(), args...); err != nil {
			b.Fatal(err)
		}
		have += m
	}
}

// BenchmarkReceipt: a receipt (event row, inclusion proof from stored
// subtree hashes, self-check against the signed checkpoint) for a random
// event, at growing log sizes; and, up to a smaller size, the inclusion
// proof computed from every leaf hash for comparison. Reports the
// incremental checkpoint time for each size step as sign-ms.
func BenchmarkReceipt(b *testing.B) {
	var sizes []uint64
	for _, f := range strings.Split(os.Getenv("GENEGUARD_AUDIT_BENCH_SIZES"), ",") {
		if n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64); err == nil && n > 0 {
			sizes = append(sizes, n)
		}
	}
	if len(sizes) == 0 {
		sizes = []uint64{1000, 10000, 100000}
	}
	leafOnlyMax := uint64(envInt("GENEGUARD_AUDIT_BENCH_LEAFONLY_MAX", 100000))
	for _, be := range backends(b) {
		b.Run(be, func(b *testing.B) {
			ctx := context.Background()
			st := openStore(b, be)
			k := newKeys(b, st)
			op := identity.Principal{Subject: "governance-board", Role: identity.RoleGovernance}
			for _, size := range sizes {
				bulkLoad(b, st, size)
				t := time.Now()
				if _, _, err := k.a.Checkpoint(ctx, nil); err != nil {
					b.Fatal(err)
				}
				signMS := float64(time.Since(t).Microseconds()) / 1000
				rng := mrand.New(mrand.NewPCG(1, size))
				b.Run(fmt.Sprintf("nodes/size=%d", size), func(b *testing.B) {
					for b.Loop() {
						seq := rng.Uint64N(size)
						if _, err := k.a.Receipt(ctx, op, seq); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(signMS, "sign-ms")
				})
				if size > leafOnlyMax {
					continue
				}
				b.Run(fmt.Sprintf("leaves/size=%d", size), func(b *testing.B) {
					for b.Loop() {
						if _, err := audit.InclusionProof(ctx, leavesOnly{st}, rng.Uint64N(size), size); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// leavesOnly hides the store's stored subtree hashes.
type leavesOnly struct{ s *sqlstore.Store }

func (l leavesOnly) LeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	return l.s.LeafHashes(ctx, from, to)
}
