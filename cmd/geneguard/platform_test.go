package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// helperEnv makes the test binary act as the geneguard command: the
// worker-crash test runs real `geneguard worker` processes this way and
// kills one with SIGKILL.
const helperEnv = "GENEGUARD_TEST_HELPER_PROCESS"

// TestHelperProcess is not a test: run with helperEnv=1 it runs the
// command line after "--" and exits with its status.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for TestWorkerCrash")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, flag.Args(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// process is a geneguard command running as a child process.
type process struct {
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan error
}

func startGeneguard(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	p := &process{cmd: cmd, output: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// kill sends SIGKILL: no deferred function, no River shutdown, no
// acknowledgement of the jobs in hand.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop asks for a graceful shutdown and waits for it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("worker exited with %v; output:\n%s", err, p.output)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("worker did not stop on SIGTERM; output:\n%s", p.output)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, status)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestWorkerCrash kills a worker process with SIGKILL in the middle of a
// batch, leaving jobs it had taken marked running (some with their result
// already written, none acknowledged). A second worker with a short
// --rescue-after takes them over. In the end every job has completed,
// none is discarded, and each person has exactly one result per algorithm
// version.
func TestWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's leader lease to expire (about 15 s)")
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testWorkerCrash(t, b)
		})
	}
}

func testWorkerCrash(t *testing.T, b testenv.Backend) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "pseudonym.key"), []byte(hex.EncodeToString(testenv.PseudonymKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := filepath.Join(data, "geneguard.db")
	if b.Name != "sqlite" {
		dsn = b.DSN(t)
	}
	w := testenv.NewWorld(t, dsn)

	// Many jobs, each slowed by reading a file padded with records no
	// algorithm declares, so a worker always has some in hand.
	people := demo.Cohort(30)
	vcf := testenv.DemoVCF(t, people)
	vcf.AddFiller(8000)
	w.Ingest(t, vcf.Write(t, "cohort.vcf"))
	for _, p := range people {
		pr := w.SignIn(t, p.Code)
		w.Grant(t, pr, demo.PGxAlgorithmID)
		w.Grant(t, pr, demo.PRSAlgorithmID)
	}
	total := 2 * len(people)
	stats := func() platform.JobStats {
		t.Helper()
		s, err := w.Store.JobStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := stats(); s.Available != total {
		t.Fatalf("queued: %+v, want %d available", s, total)
	}
	w.SkipTodaysAgePass(t)

	// Worker 1 is killed once it has finished some jobs and holds others.
	// If by chance it holds none at that instant, it is run and killed
	// again.
	var stuck int
	for attempt := 1; stuck == 0; attempt++ {
		if attempt > 3 {
			t.Fatal("could not kill a worker while it held a job")
		}
		w1 := startGeneguard(t, "worker", "--db", dsn, "--data", data, "--workers", "2")
		baseline := stats().Completed
		// Best is a moment when a job's result is written but the job is
		// not yet marked completed (River acknowledges in batches); after
		// a while any moment with a job in hand will do.
		start := time.Now()
		waitFor(t, "worker 1 to complete jobs and hold others", 60*time.Second, func() (bool, string) {
			s := stats()
			ready := s.Completed >= baseline+4 && s.Running > 0 &&
				(countStuckWithResult(t, w.Store) > 0 || time.Since(start) > 3*time.Second)
			return ready, fmt.Sprintf("%+v; worker output:\n%s", s, w1.output)
		})
		w1.kill(t)
		s := stats()
		stuck = s.Running
		t.Logf("killed worker 1 (attempt %d): %+v", attempt, s)
		if s.Completed == total {
			t.Fatal("worker 1 finished every job before it was killed; make the jobs slower")
		}
	}
	// Of the jobs left running, those whose result is already stored were
	// killed between the write and the acknowledgement: the runs after
	// the rescue must find their results rather than add one.
	written := countStuckWithResult(t, w.Store)
	t.Logf("%d jobs left running, %d of them with their result already written", stuck, written)

	w2 := startGeneguard(t, "worker", "--db", dsn, "--data", data, "--workers", "4", "--rescue-after", "3s")
	waitFor(t, "worker 2 to finish every job", 90*time.Second, func() (bool, string) {
		s := stats()
		return s.Completed+s.Discarded+s.Cancelled == total, fmt.Sprintf("%+v; worker output:\n%s", s, w2.output)
	})
	w2.stop(t)

	if s := stats(); s != (platform.JobStats{Completed: total}) {
		t.Errorf("jobs: %+v, want all %d completed", s, total)
	}
	if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM river_job WHERE kind = 'compute' AND attempt > 1`); n < stuck {
		t.Errorf("%d jobs ran more than once, want at least the %d rescued", n, stuck)
	}
	if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM (SELECT person_id, version_hash FROM results GROUP BY person_id, version_hash HAVING COUNT(*) > 1) d`); n != 0 {
		t.Errorf("%d (person, version) pairs have more than one result", n)
	}
	if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results`); n != total {
		t.Errorf("%d results, want %d (one per person and algorithm)", n, total)
	}
	runs := map[string]int{}
	for _, e := range testenv.AuditLog(t, w.Store) { // also checks the log is intact
		if e.Action == "run" {
			runs[e.Details["outcome"]]++
		}
	}
	if runs["new-result"] != total {
		t.Errorf("%d run events report a new result, want %d", runs["new-result"], total)
	}
	if runs["unchanged"] < written {
		t.Errorf("%d runs found their result already there, want at least the %d killed after writing it", runs["unchanged"], written)
	}
}

// countStuckWithResult counts jobs left running whose result is stored.
func countStuckWithResult(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	person, version := "j.args->>'person'", "j.args->>'version_hash'"
	if st.Dialect() == sqlstore.SQLite {
		person, version = "json_extract(j.args, '$.person')", "json_extract(j.args, '$.version_hash')"
	}
	return testenv.Count(t, st, `SELECT COUNT(*) FROM river_job j WHERE j.kind = 'compute' AND j.state = 'running'
		AND EXISTS (SELECT 1 FROM results r WHERE r.person_id = `+person+` AND r.version_hash = `+version+`)`)
}

// runCommand runs a geneguard command in process.
func runCommand(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestIngestCommandMalformed: `geneguard ingest` on a file with a bad line
// deep inside exits non-zero, says which line and what is wrong, and
// creates nothing in the data directory: no database, key or genotype copy.
func TestIngestCommandMalformed(t *testing.T) {
	data := t.TempDir()
	people := demo.Cohort(3)
	vcf := testenv.DemoVCF(t, people)
	vcf.AddFiller(2000)
	row := len(vcf.Rows) - 10
	vcf.Rows[row][10] = "1/2" // the record has one ALT allele
	path := vcf.Write(t, "cohort.vcf")

	code, stdout, stderr := runCommand("ingest", "--data", data, "--vcf", path)
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	want := fmt.Sprintf("geneguard ingest: %s: vcf: line %d: sample 2: GT \"1/2\" refers to allele 2 but the record has 1 ALT allele(s); nothing was ingested\n", path, vcf.Line(row))
	if stderr != want {
		t.Errorf("stderr:\n got %q\nwant %q", stderr, want)
	}
	if left, _ := os.ReadDir(data); len(left) != 0 {
		t.Errorf("the refused ingest left %d files in the data directory, want none", len(left))
	}
	st := testenv.OpenStore(t, filepath.Join(data, "geneguard.db"))
	for _, table := range []string{"datasets", "persons", "dataset_samples", "river_job", "audit_events", "audit_pending"} {
		if n := testenv.Count(t, st, "SELECT COUNT(*) FROM "+table); n != 0 {
			t.Errorf("%s has %d rows, want 0", table, n)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "genotypes")); len(entries) != 0 {
		t.Errorf("genotype store holds %d files, want none", len(entries))
	}
}

// TestIngestCommand: a good file is recorded, the same file again is
// refused without changing anything.
func TestIngestCommand(t *testing.T) {
	data := t.TempDir()
	path := testenv.DemoVCF(t, demo.Cohort(3)).Write(t, "cohort.vcf")
	code, stdout, stderr := runCommand("ingest", "--data", data, "--vcf", path)
	if code != 0 || !regexp.MustCompile(`^ingested dataset 1: 3 samples, \d+ records, build GRCh38, sha256 [0-9a-f]{12}; 0 jobs queued\n  no algorithm is active yet: the file is kept, its build unchecked; consented persons are computed when a version is activated\n$`).MatchString(stdout) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCommand("ingest", "--data", data, "--vcf", path)
	if code != 1 || !strings.Contains(stderr, "was already ingested as dataset 1") {
		t.Errorf("second ingest: exit %d, stderr %q", code, stderr)
	}
	st := testenv.OpenStore(t, filepath.Join(data, "geneguard.db"))
	if n := testenv.Count(t, st, "SELECT COUNT(*) FROM datasets"); n != 1 {
		t.Errorf("%d datasets, want 1", n)
	}
}

// TestDemoOnce runs the whole path as `geneguard demo --once` does, twice:
// the second run keeps what is there and shows the same results.
func TestDemoOnce(t *testing.T) {
	data := t.TempDir()
	var first string
	for i := range 2 {
		code, stdout, stderr := runCommand("demo", "--data", data, "--persons", "12", "--once")
		if code != 0 {
			t.Fatalf("run %d: exit %d; stderr:\n%s", i+1, code, stderr)
		}
		m := regexp.MustCompile(`(?s)Results in clinical view.*\n(\d+) results\.\nAudit log signed; check it with: geneguard audit verify --data \S+\n$`).FindStringSubmatch(stdout)
		if m == nil || m[1] == "0" {
			t.Fatalf("run %d: no results in output:\n%s", i+1, stdout)
		}
		results := stdout[strings.Index(stdout, "Results in clinical view"):]
		if i == 0 {
			first = results
			continue
		}
		if results != first {
			t.Errorf("second run shows other results:\nfirst:\n%s\nsecond:\n%s", first, results)
		}
	}
	st := testenv.OpenStore(t, filepath.Join(data, "geneguard.db"))
	if n := testenv.Count(t, st, `SELECT COUNT(*) FROM (SELECT person_id, version_hash FROM results GROUP BY person_id, version_hash HAVING COUNT(*) > 1) d`); n != 0 {
		t.Errorf("%d (person, version) pairs have more than one result after two runs", n)
	}
	if n := testenv.Count(t, st, `SELECT COUNT(*) FROM datasets`); n != 1 {
		t.Errorf("%d datasets after two runs, want 1", n)
	}
	// What the demo logged is signed: verify works straight away.
	if code, stdout, stderr := runCommand("audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit verify after demo --once: exit %d\n%s%s", code, stdout, stderr)
	}
}
