package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// dataDir makes a data directory with the test pseudonym key.
func dataDir(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "pseudonym.key"), []byte(hex.EncodeToString(testenv.PseudonymKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errb := runCommand(args...)
	if code != 0 {
		t.Fatalf("geneguard %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errb)
	}
	return out
}

// TestAlgorithmCommands drives the registry from the command line: submit
// a PGx version with validation cases, validate, a refused self-approval,
// approve, activate (retiring the built-in), then consent, results, the
// FHIR export, prescriptions, test orders, the age pass and usage.
func TestAlgorithmCommands(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn) // registers and activates the built-ins
	people := demo.Cohort(6)
	db := []string{"--db", dsn, "--data", data}

	// The bundle and a manifest with two cases.
	bundle := filepath.Join(t.TempDir(), "bundle")
	os.MkdirAll(bundle, 0o755)
	for name, c := range w.PGx.Files {
		os.WriteFile(filepath.Join(bundle, name), c, 0o644)
	}
	var normal, poor demo.Person
	for _, p := range demo.Cohort(300) {
		switch p.CYP2C19 {
		case [2]string{"*1", "*1"}:
			normal = p
		case [2]string{"*2", "*2"}:
			poor = p
		}
	}
	m := w.PGx.Manifest
	m.Version = "2026.2"
	m.Validation = []algorithm.Case{
		{Name: "normal", VCF: string(testenv.DemoVCF(t, []demo.Person{normal}).Bytes()), Expect: "Normal Metabolizer"},
		{Name: "poor", VCF: string(testenv.DemoVCF(t, []demo.Person{poor}).Bytes()), Expect: "Poor Metabolizer"},
	}
	mb, _ := json.Marshal(m)
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(manifest, mb, 0o644)

	out := mustRun(t, append([]string{"algorithm", "submit", "--manifest", manifest, "--files", bundle, "--as", "provider-anna"}, db...)...)
	var hash string
	if _, err := fmt.Sscanf(out[strings.Index(out, "sha256 ")+7:], "%64s", &hash); err != nil || len(hash) != 64 {
		t.Fatalf("submit output %q", out)
	}
	short := hash[:12]
	// A draft never ran: `changes` says so instead of "0 persons".
	for _, format := range []string{"text", "json"} {
		code, out, errb := runCommand(append([]string{"algorithm", "changes", short, "--format", format}, db...)...)
		msg := out + errb
		if code != 0 || strings.Contains(msg, "persons to notify") || !strings.Contains(msg, "version "+short+" ("+m.ID+" 2026.2) is draft and was never activated: no recomputation ran for it") ||
			!strings.Contains(msg, "the active version of "+m.ID+" is "+w.PGx.Hash[:12]) || (format == "json" && strings.TrimSpace(out) != "[]") {
			t.Errorf("changes of a draft (%s): exit %d, %q, %q", format, code, out, errb)
		}
	}
	code, _, errb := runCommand(append([]string{"algorithm", "approve", short, "--as", "board-jaan"}, db...)...)
	if code != 1 || !strings.Contains(errb, "has not been validated") {
		t.Errorf("approve before validation: exit %d, %q", code, errb)
	}
	out = mustRun(t, append([]string{"algorithm", "validate", short}, db...)...)
	if !strings.Contains(out, "validated "+short+": 2 cases passed") {
		t.Errorf("validate: %q", out)
	}
	// The hint runs as printed: it repeats where the database is (a DSN
	// with a password only as DSN).
	where := " --db " + dsn + " --data " + data
	if displayDSN(dsn) != dsn {
		where = " --db DSN --data " + data
	}
	if want := "next: geneguard algorithm approve" + where + " " + short + " --as NAME"; !strings.Contains(out, want) {
		t.Errorf("validate's hint: %q, want %q", out, want)
	}
	code, _, errb = runCommand(append([]string{"algorithm", "approve", short, "--as", "provider-anna"}, db...)...)
	if code != 1 || !strings.Contains(errb, "four eyes") {
		t.Errorf("self-approval: exit %d, %q", code, errb)
	}
	mustRun(t, append([]string{"algorithm", "approve", short, "--as", "board-jaan"}, db...)...)
	out = mustRun(t, append([]string{"algorithm", "activate", "--as", "board-jaan", short}, db...)...)
	if !strings.Contains(out, "retired "+w.PGx.Hash[:12]) {
		t.Errorf("activate: %q", out)
	}
	if out := mustRun(t, append([]string{"algorithm", "changes", short}, db...)...); !strings.Contains(out, "persons to notify") || strings.Contains(out, "never activated") {
		t.Errorf("changes of the activated version: %q", out)
	}
	out = mustRun(t, append([]string{"algorithm", "list"}, db...)...)
	if !strings.Contains(out, "2026.2") || !strings.Contains(out, "active") || !strings.Contains(out, "2/2 passed") {
		t.Errorf("list:\n%s", out)
	}

	// Consent (default deny first), ingest, compute, results.
	alg := demo.PGxAlgorithmID
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	p0 := string(people[0].Code)
	code, _, errb = runCommand(append([]string{"consent", "history", "--person", p0, "--algorithm", alg, "--format", "fhir"}, db...)...)
	if code != 1 || !strings.Contains(errb, "default deny") {
		t.Errorf("FHIR export without consent: exit %d, %q", code, errb)
	}
	// An unknown algorithm id is an error naming the known ones, not
	// an empty history read as "default deny" (nor a withdrawal that
	// "worked").
	for _, sub := range []string{"history", "withdraw", "grant"} {
		code, out, errb := runCommand(append([]string{"consent", sub, "--person", p0, "--algorithm", "no-such-alg"}, db...)...)
		if code != 1 || out != "" || !strings.Contains(errb, `no algorithm "no-such-alg" (registered: `) || !strings.Contains(errb, alg) {
			t.Errorf("consent %s of an unknown algorithm: exit %d, %q, %q", sub, code, out, errb)
		}
	}
	mustRun(t, append([]string{"consent", "grant", "--person", p0, "--algorithm", alg}, db...)...)
	testenv.DrainWith(t, w.Store, w.Runner)
	out = mustRun(t, append([]string{"results", "--person", p0, "--format", "json"}, db...)...)
	var rs []result.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 || rs[0].VersionHash != hash {
		t.Fatalf("results: %v %s", err, out)
	}
	out = mustRun(t, append([]string{"consent", "history", "--person", p0, "--algorithm", alg, "--format", "fhir"}, db...)...)
	var fhir map[string]any
	if err := json.Unmarshal([]byte(out), &fhir); err != nil {
		t.Fatal(err)
	}
	prov := fhir["provision"].(map[string]any)
	inner := prov["provision"].([]any)[0].(map[string]any)
	if fhir["resourceType"] != "Consent" || fhir["status"] != "active" || prov["type"] != "deny" || inner["type"] != "permit" ||
		!strings.Contains(out, `"value": "`+p0+`"`) || !strings.Contains(out, `"code": "`+alg+`"`) {
		t.Errorf("FHIR consent:\n%s", out)
	}
	mustRun(t, append([]string{"consent", "withdraw", "--person", p0, "--algorithm", alg}, db...)...)
	out = mustRun(t, append([]string{"consent", "history", "--person", p0, "--algorithm", alg}, db...)...)
	if !strings.Contains(out, "grant") || !strings.Contains(out, "withdraw") || !strings.Contains(out, "consent not in force") {
		t.Errorf("history:\n%s", out)
	}
	out = mustRun(t, append([]string{"results", "--person", p0}, db...)...)
	if !strings.Contains(out, "no results in clinical view") {
		t.Errorf("results after withdrawal: %q", out)
	}

	// A prescription: person 1 consents (queued), person 2 does not
	// (needs consent), an unknown person (suggest a test); twice is once.
	mustRun(t, append([]string{"consent", "grant", "--person", string(people[1].Code), "--algorithm", alg}, db...)...)
	testenv.DrainWith(t, w.Store, w.Runner)
	rx := func(id string, code identity.PersonalCode) string {
		f := filepath.Join(t.TempDir(), "rx.json")
		os.WriteFile(f, []byte(`{"resourceType":"MedicationRequest","id":"`+id+`","status":"active","intent":"order",
			"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N06AB04","display":"citalopram"}]},
			"subject":{"identifier":{"system":"https://fhir.ee/sid/pid/est/ni","value":"`+string(code)+`"}}}`), 0o644)
		return mustRun(t, append([]string{"events", "medication-request", "--file", f}, db...)...)
	}
	if out := rx("rx-1", people[1].Code); !strings.Contains(out, alg+": current-result") {
		t.Errorf("prescription for a person with a result: %q", out)
	}
	if out := rx("rx-2", people[2].Code); !strings.Contains(out, alg+": needs-consent") {
		t.Errorf("prescription for a person without consent: %q", out)
	}
	stranger := identity.PersonalCode("37605030299")
	if out := rx("rx-3", stranger); !strings.Contains(out, alg+": suggest-test") {
		t.Errorf("prescription for a person without genotypes: %q", out)
	}
	if out := rx("rx-3", stranger); !strings.Contains(out, "already recorded") {
		t.Errorf("the same prescription again: %q", out)
	}
	// The same id for another person is refused, not taken for a retry.
	f := filepath.Join(t.TempDir(), "rx-other.json")
	os.WriteFile(f, []byte(`{"resourceType":"MedicationRequest","id":"rx-3","status":"active",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N06AB04"}]},
		"subject":{"identifier":{"system":"https://fhir.ee/sid/pid/est/ni","value":"`+string(people[3].Code)+`"}}}`), 0o644)
	if code, out, errb := runCommand(append([]string{"events", "medication-request", "--file", f}, db...)...); code != 1 || out != "" ||
		!strings.Contains(errb, "MedicationRequest rx-3 was already recorded for another person; a resource id names one prescription") {
		t.Errorf("the same id for another person: exit %d, %q, %q", code, out, errb)
	}
	// A test order stays pending until genotypes arrive.
	out = mustRun(t, append([]string{"events", "test-order", "--person", string(stranger), "--algorithm", alg}, db...)...)
	if !strings.Contains(out, ": pending") {
		t.Errorf("test order: %q", out)
	}
	out = mustRun(t, append([]string{"events", "age-milestones", "--date", "2026-06-01"}, db...)...)
	if !strings.Contains(out, "age milestones 2026-06-01..2026-06-01") {
		t.Errorf("age pass: %q", out)
	}
	if out := mustRun(t, append([]string{"events", "age-milestones", "--date", "2026-06-01"}, db...)...); !strings.Contains(out, "already done") {
		t.Errorf("age pass twice: %q", out)
	}
	// A day before the first pass was never looked at: not "done".
	if out := mustRun(t, append([]string{"events", "age-milestones", "--date", "2000-01-01"}, db...)...); strings.Contains(out, "already done") ||
		!strings.Contains(out, "nothing queued for 2000-01-01: it is before the first pass (2026-06-01)") {
		t.Errorf("age pass for a day before the first: %q", out)
	}
	out = mustRun(t, append([]string{"usage", "--since", "2000-01-01", "--format", "json"}, db...)...)
	var u platform.UsageReport
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Runs < 2 {
		t.Errorf("usage: %v %s", err, out)
	}
	out = mustRun(t, append([]string{"usage", "--since", "2000-01-01"}, db...)...)
	if !strings.Contains(out, "2026.2") || !strings.Contains(out, "consent=") {
		t.Errorf("usage text:\n%s", out)
	}
	// Every subcommand has -h, and a bad flag is a usage error.
	for _, sub := range [][]string{{"algorithm", "submit"}, {"algorithm", "validate"}, {"algorithm", "approve"}, {"algorithm", "activate"}, {"algorithm", "retire"}, {"algorithm", "list"}, {"algorithm", "changes"},
		{"consent", "grant"}, {"consent", "withdraw"}, {"consent", "history"}, {"results"}, {"usage"}, {"events", "medication-request"}, {"events", "test-order"}, {"events", "age-milestones"}} {
		if code, _, errb := runCommand(append(sub, "-h")...); code != 0 || !strings.Contains(errb, "usage: geneguard "+strings.Join(sub, " ")) {
			t.Errorf("%v -h: exit %d, %q", sub, code, errb)
		}
		if code, _, _ := runCommand(append(sub, "--no-such-flag")...); code != 2 {
			t.Errorf("%v --no-such-flag: exit %d, want 2", sub, code)
		}
	}
}

// TestTriggersWorkerCrash queues work through every trigger kind —
// genotype (a batch), consent, new version (a batch), prescription, test
// order, age milestone — then kills a worker with SIGKILL mid-batch and
// lets a second worker rescue its jobs. Every (person, version) ends with
// exactly one result, and each trigger's persons have theirs.
func TestTriggersWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's leader lease to expire (about 15 s)")
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testTriggersWorkerCrash(t, b)
		})
	}
}

func testTriggersWorkerCrash(t *testing.T, b testenv.Backend) {
	ctx := context.Background()
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	if b.Name != "sqlite" {
		dsn = b.DSN(t)
	}
	w := testenv.NewWorld(t, dsn)
	svc := w.Service
	sys := identity.System
	cad, err := demo.CADAlgorithm()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RegisterAlgorithm(ctx, sys, cad); err != nil {
		t.Fatal(err)
	}
	if err := svc.Activate(ctx, sys, cad.Hash); err != nil {
		t.Fatal(err)
	}
	people := demo.Cohort(80)
	var ps []identity.Principal
	for _, p := range people {
		ps = append(ps, w.SignIn(t, p.Code))
	}
	// genotype: 70 consent to the PRS before their genotypes arrive.
	for _, p := range ps[:70] {
		w.Grant(t, p, demo.PRSAlgorithmID)
	}
	// test order: person 79 consents to PGx and orders a test.
	w.Grant(t, ps[79], demo.PGxAlgorithmID)
	if _, _, err := svc.OrderTest(ctx, testenv.Physician, people[79].Code, demo.PGxAlgorithmID, "order-79"); err != nil {
		t.Fatal(err)
	}
	vcf := testenv.DemoVCF(t, people)
	vcf.AddFiller(3000)
	w.Ingest(t, vcf.Write(t, "cohort.vcf"))
	// consent: persons 70..74 opt in to PGx after ingest.
	for _, p := range ps[70:75] {
		w.Grant(t, p, demo.PGxAlgorithmID)
	}
	// prescription: 75..78 opted in long ago (their consent jobs are
	// cancelled, as if done) and are now prescribed citalopram.
	for i, p := range ps[75:79] {
		w.Grant(t, p, demo.PGxAlgorithmID)
		if _, err := w.Store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = CURRENT_TIMESTAMP WHERE state = 'available' AND id = (SELECT MAX(id) FROM river_job)`); err != nil {
			t.Fatal(err)
		}
		ans, err := svc.MedicationRequested(ctx, testenv.Physician, &platform.MedicationRequest{ID: fmt.Sprint("rx-", i), Patient: people[75+i].Code, Drugs: []string{"citalopram"}})
		if err != nil || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxQueued {
			t.Fatalf("prescription: %+v, %v", ans, err)
		}
	}
	// new version: 0..69 opt in to CAD, and a CAD v2 is activated.
	for _, p := range ps[:70] {
		w.Grant(t, p, demo.CADAlgorithmID)
	}
	m := cad.Manifest
	m.Version = "demo-2"
	cad2, err := algorithm.New(m, cad.Files, "geneguard")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RegisterAlgorithm(ctx, sys, cad2); err != nil {
		t.Fatal(err)
	}
	if err := svc.Activate(ctx, sys, cad2.Hash); err != nil {
		t.Fatal(err)
	}
	// age: a pass on the day one of the PRS persons turned a year older:
	// their latest birthday, never a future day (the pass refuses those).
	bd := people[3].Code.BirthDate()
	now := time.Now().UTC()
	day := time.Date(now.Year(), bd.Month(), bd.Day(), 0, 0, 0, 0, time.UTC)
	if day.After(now) {
		day = day.AddDate(-1, 0, 0)
	}
	rep, err := svc.AgeMilestones(ctx, sys, day)
	if err != nil || rep.Queued[demo.PRSAlgorithmID] < 1 {
		t.Fatalf("age pass: %+v, %v", rep, err)
	}

	stats := func() platform.JobStats {
		s, err := w.Store.JobStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	total := func(s platform.JobStats) int {
		return s.Available + s.Running + s.Completed + s.Retryable + s.Cancelled + s.Discarded
	}
	w.SkipTodaysAgePass(t)
	all := total(stats())
	w1 := startGeneguard(t, "worker", "--db", dsn, "--data", data, "--workers", "2")
	waitFor(t, "worker 1 to complete jobs and hold a batch", 90*time.Second, func() (bool, string) {
		s := stats()
		running := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM river_job WHERE kind = 'compute-batch' AND state = 'running'`)
		return s.Completed >= 3 && running > 0, fmt.Sprintf("%+v; worker output:\n%s", s, w1.output)
	})
	w1.kill(t)
	t.Logf("killed worker 1: %+v", stats())
	w2 := startGeneguard(t, "worker", "--db", dsn, "--data", data, "--workers", "2", "--rescue-after", "3s")
	waitFor(t, "worker 2 to finish every job", 120*time.Second, func() (bool, string) {
		s := stats()
		return s.Available+s.Running+s.Retryable == 0, fmt.Sprintf("%+v; worker output:\n%s", s, w2.output)
	})
	w2.stop(t)
	if s := stats(); s.Discarded != 0 || total(s) != all {
		t.Errorf("jobs: %+v", s)
	}
	if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM (SELECT person_id, version_hash FROM results GROUP BY person_id, version_hash HAVING COUNT(*) > 1) d`); n != 0 {
		t.Errorf("%d (person, version) pairs have more than one result", n)
	}
	want := map[string]int{w.PRS.Hash: 70, w.PGx.Hash: 10, cad.Hash: 0, cad2.Hash: 70}
	for h, n := range want {
		if got := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results WHERE version_hash = ?`, h); got != n {
			t.Errorf("version %s: %d results, want %d", h[:12], got, n)
		}
	}
	for _, trig := range []result.Trigger{result.TriggerGenotype, result.TriggerConsent, result.TriggerNewVersion, result.TriggerPrescription, result.TriggerTestOrder} {
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM results WHERE trigger_kind = ?`, string(trig)); n == 0 {
			t.Errorf("no result from trigger %s", trig)
		}
	}
	if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM runs WHERE trigger_kind = 'age'`); n == 0 {
		t.Errorf("the age trigger ran nothing")
	}
	testenv.AuditLog(t, w.Store) // intact
}

// TestWorkerRunsAgePass: a worker runs the daily age-milestone pass when
// it starts (River's periodic job), carrying the mark forward to today and
// recording the pass in the audit log, so the scheduled trigger needs no
// cron outside the platform.
func TestWorkerRunsAgePass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a worker process")
	}
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	today := time.Now().UTC().Format("2006-01-02")
	mark := func() string {
		var m string
		if err := w.Store.InTx(context.Background(), func(tx platform.Tx) (err error) {
			m, err = tx.Mark("age-milestones")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := w.Store.InTx(context.Background(), func(tx platform.Tx) error {
		return tx.SetMark("age-milestones", yesterday)
	}); err != nil {
		t.Fatal(err)
	}
	wk := startGeneguard(t, "worker", "--db", dsn, "--data", data, "--workers", "1")
	waitFor(t, "the worker's age-milestone pass", 60*time.Second, func() (bool, string) {
		m := mark()
		return m >= today, fmt.Sprintf("mark %q; worker output:\n%s", m, wk.output)
	})
	wk.stop(t)
	var found bool
	for _, e := range testenv.AuditLog(t, w.Store) {
		if e.Action == "event.age-milestones" && e.Object == today {
			found = true
			if e.Details["from"] != today {
				t.Errorf("pass covered from %s, want %s (the day after the mark)", e.Details["from"], today)
			}
		}
	}
	if !found {
		t.Errorf("no audit event for the age-milestone pass of %s", today)
	}
}
