// Package recomputebench measures the recomputation that follows the
// activation of a new algorithm version: a synthetic cohort, every person
// consented and genotyped with a current result of the old version, a new
// PGx version activated, two queue workers computing it, and the clinical
// API read (GET /api/v1/persons/{id}/results as a physician) at a bounded
// rate on loopback meanwhile. It prints persons per second and the API's
// latency percentiles during the recomputation.
//
// It runs only when asked (it takes minutes):
//
//	GENEGUARD_RECOMPUTE_BENCH=1                 run it
//	GENEGUARD_TEST_POSTGRES=postgres://...      the database (else SQLite)
//	GENEGUARD_RECOMPUTE_PERSONS=200000          cohort size (default 20000)
//	GENEGUARD_RECOMPUTE_RPS=50                  API requests per second (default 50)
//	GENEGUARD_BIN=path/to/geneguard             run the 2 workers as `geneguard worker` processes
//	GENEGUARD_WORKER_NICE=10                    ... at this nice level (default 10)
//
// See run.sh.
package recomputebench

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/store/sqlstore"
	"github.com/geneguard/geneguard/web"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestRecompute(t *testing.T) {
	if os.Getenv("GENEGUARD_RECOMPUTE_BENCH") == "" {
		t.Skip("set GENEGUARD_RECOMPUTE_BENCH=1 to run the recomputation benchmark (see run.sh)")
	}
	n := envInt("GENEGUARD_RECOMPUTE_PERSONS", 20000)
	rps := envInt("GENEGUARD_RECOMPUTE_RPS", 50)
	ctx := context.Background()
	backend := "sqlite"
	dsn := testenv.SQLiteDSN(t)
	if os.Getenv(testenv.PostgresEnv) != "" {
		backend, dsn = "postgres", testenv.PostgresDSN(t)
	}
	os.Setenv("GENEGUARD_BENCH_DSN", dsn)
	w := testenv.NewWorld(t, dsn)
	w.Runner.Now = nil // real clock, as in production
	t.Logf("backend %s, %d persons, %d CPUs, API load %d req/s", backend, n, runtime.NumCPU(), rps)

	// 1. The cohort: genotypes ingested (validated whole), then everyone's
	// opt-in written in bulk (the portal path is one transaction each).
	start := time.Now()
	people := demo.Cohort(n)
	vcfPath := filepath.Join(t.TempDir(), "cohort.vcf.gz")
	if err := demo.WriteVCF(vcfPath, people); err != nil {
		t.Fatal(err)
	}
	prep, err := ingest.Prepare(ctx, vcfPath, w.GenotypeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Service.IngestDataset(ctx, testenv.Operator, &prep.Dataset, prep.Samples); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(vcfPath)
	t.Logf("setup: cohort VCF %.1f MB (%d records), ingested in %v", float64(st.Size())/1e6, prep.Dataset.Records, time.Since(start).Round(time.Millisecond))
	persons := make([]string, n)
	for i, p := range people {
		persons[i] = w.Pseudo.Pseudonym(p.Code)
	}
	bulkConsent(t, w.Store, persons, demo.PGxAlgorithmID)

	// 2. The old version's results for everyone (warm-up, also measured).
	if err := w.Store.InTx(ctx, func(tx platform.Tx) error {
		s, err := tx.ConsentedSamples(demo.PGxAlgorithmID)
		if err != nil {
			return err
		}
		return tx.EnqueueBatches(platform.Batches(s, demo.PGxAlgorithmID, w.PGx.Hash, "new-version", platform.BatchSize))
	}); err != nil {
		t.Fatal(err)
	}
	first := drain(t, w, n)
	t.Logf("v1 computed for %d persons in %v (%.0f persons/s)", n, first.Round(time.Millisecond), float64(n)/first.Seconds())

	// 3. The clinical API, on loopback, with a physician's session.
	srv := httptest.NewServer(web.New(w.Service, web.Options{
		SessionKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger:     slog.New(slog.DiscardHandler),
		Demo:       []web.DemoIdentity{{Subject: "dr-tamm", Role: identity.RolePhysician, Label: "Doctor"}},
	}))
	defer srv.Close()
	hc := login(t, srv.URL)

	// 4. A new version, activated by the board, recomputed by 2 workers
	// while the API is read.
	v2 := w.Revision(t, w.PGx, w.PGx.Manifest.Version+"-rev2")
	load := startLoad(hc, srv.URL, persons, rps)
	time.Sleep(2 * time.Second) // the API's latency before the recompute, for comparison
	idle := load.snapshot()
	actStart := time.Now()
	rep, err := w.Service.ActivateAlgorithm(ctx, identity.System, v2.Hash)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("activation: %+v in %v", rep, time.Since(actStart).Round(time.Millisecond))
	load.reset()
	elapsed := drain(t, w, n)
	during := load.stop()

	got := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results WHERE version_hash = ?`, v2.Hash)
	if got != n {
		t.Errorf("%d results of the new version, want %d", got, n)
	}
	if d := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM (SELECT person_id, version_hash FROM results GROUP BY person_id, version_hash HAVING COUNT(*) > 1) d`); d != 0 {
		t.Errorf("%d (person, version) pairs with more than one result", d)
	}
	fmt.Printf("recompute %s: %d persons in %v = %.0f persons/s (2 workers, batches of %d); projected 200000 persons: %v\n",
		backend, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), platform.BatchSize, (time.Duration(float64(elapsed) * 200000 / float64(n))).Round(time.Second))
	fmt.Printf("clinical API idle:   %s\n", idle)
	fmt.Printf("clinical API during: %s\n", during)
}

// drain runs two queue workers (as two worker processes would) until no job
// waits or runs, and returns how long it took.
func drain(t *testing.T, w *testenv.World, n int) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	start := time.Now()
	var clients []interface{ Stop(context.Context) error }
	for i := range 2 {
		if bin := os.Getenv("GENEGUARD_BIN"); bin != "" {
			clients = append(clients, startWorker(t, bin, w))
			continue
		}
		c, err := queue.Start(ctx, w.Store, w.Runner, queue.Config{Workers: 1, RescueAfter: 30 * time.Minute, ID: fmt.Sprintf("bench-worker-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for range tick.C {
		s, err := w.Store.JobStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Retryable > 0 || s.Discarded > 0 {
			t.Fatalf("jobs failed: %+v %v", s, testenv.JobErrors(t, w.Store))
		}
		if s.Available+s.Running == 0 {
			break
		}
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			t.Logf("  %v: %+v", time.Since(start).Round(time.Second), s)
		}
	}
	elapsed := time.Since(start)
	for _, c := range clients {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.Stop(stopCtx)
		cancel()
	}
	return elapsed
}

// workerProcess is a `geneguard worker` process at a lower CPU priority
// (nice GENEGUARD_WORKER_NICE, default 10): how a deployment keeps a
// recomputation from competing with the clinical API for the CPUs (under
// systemd: Nice= or CPUWeight= in the worker's unit).
//
// Each worker runs in its own session with that nice value on its
// autogroup too. Linux (CONFIG_SCHED_AUTOGROUP, on by default) shares the
// CPUs between sessions first and applies nice only within a session, so
// a worker started from this test's session would be "nice" only to this
// test, and as a group would take half the CPUs from PostgreSQL, whose
// backends (the clinical API's among them) form one session. A systemd
// service is its own session in the same way.
type workerProcess struct{ cmd *exec.Cmd }

func startWorker(t *testing.T, bin string, w *testenv.World) *workerProcess {
	t.Helper()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "pseudonym.key"), []byte(hex.EncodeToString(testenv.PseudonymKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nice := os.Getenv("GENEGUARD_WORKER_NICE")
	if nice == "" {
		nice = "10"
	}
	cmd := exec.Command("nice", "-n", nice, bin, "worker", "--db", os.Getenv("GENEGUARD_BENCH_DSN"), "--data", data, "--workers", "1", "--rescue-after", "30m")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// `nice` execs the worker in place: the pid is the worker's.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/autogroup", cmd.Process.Pid), []byte(nice), 0); err != nil {
		t.Logf("worker %d: autogroup nice not set (%v): nice applies within its session only", cmd.Process.Pid, err)
	}
	return &workerProcess{cmd}
}

func (p *workerProcess) Stop(context.Context) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

// bulkConsent writes a grant for every person in multi-row inserts.
func bulkConsent(t *testing.T, st *sqlstore.Store, persons []string, alg string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	for start := 0; start < len(persons); start += 500 {
		chunk := persons[start:min(start+500, len(persons))]
		var q strings.Builder
		q.WriteString(`INSERT INTO consent_events (person_id, algorithm_id, action, actor, channel, at) VALUES `)
		args := make([]any, 0, 3*len(chunk))
		for i, p := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			if st.Dialect() == sqlstore.Postgres {
				fmt.Fprintf(&q, "($%d, $%d, 'grant', $%d, 'bench', $%d)", 4*i+1, 4*i+2, 4*i+3, 4*i+4)
			} else {
				q.WriteString("(?, ?, 'grant', ?, 'bench', ?)")
			}
			args = append(args, p, alg, p, now)
		}
		if _, err := st.DB().ExecContext(ctx, q.String(), args...); err != nil {
			t.Fatal(err)
		}
	}
}

// login signs in as the demo physician and returns a client with the session.
func login(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	r, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = hc.PostForm(base+"/login/callback", url.Values{"state": {u.Query().Get("state")}, "pick": {"dr-tamm"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	return hc
}

// load reads results of random persons at a fixed rate, at most 16 in
// flight, recording each request's latency.
type load struct {
	mu      sync.Mutex
	lat     []time.Duration
	errs    atomic.Int64
	dropped atomic.Int64
	done    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(hc *http.Client, base string, persons []string, rps int) *load {
	l := &load{done: make(chan struct{})}
	sem := make(chan struct{}, 16)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-l.done:
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				l.dropped.Add(1) // 16 already in flight: the API is stuck
				continue
			}
			i = (i*7919 + 13) % len(persons)
			p := persons[i]
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer func() { <-sem }()
				start := time.Now()
				r, err := hc.Get(base + "/api/v1/persons/" + p + "/results?purpose=benchmark")
				if err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
				d := time.Since(start)
				if err != nil || r.StatusCode != 200 {
					l.errs.Add(1)
				}
				l.mu.Lock()
				l.lat = append(l.lat, d)
				l.mu.Unlock()
			}()
		}
	}()
	return l
}

func (l *load) reset() {
	l.mu.Lock()
	l.lat = nil
	l.mu.Unlock()
	l.errs.Store(0)
	l.dropped.Store(0)
}

func (l *load) snapshot() string {
	l.mu.Lock()
	lat := append([]time.Duration(nil), l.lat...)
	l.mu.Unlock()
	if len(lat) == 0 {
		return "no requests"
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return fmt.Sprintf("%d requests, p50 %v, p90 %v, p99 %v, max %v, errors %d, dropped %d",
		len(lat), pct(0.5).Round(10*time.Microsecond), pct(0.9).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), l.errs.Load(), l.dropped.Load())
}

func (l *load) stop() string {
	close(l.done)
	l.wg.Wait()
	return l.snapshot()
}
