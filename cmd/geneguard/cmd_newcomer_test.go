package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

// TestReadOnlyCommandsNeedDatabase: commands that work on an existing
// deployment refuse a --data or --db that names none, and create nothing:
// no directory, no database, no pseudonym or signing key.
func TestReadOnlyCommandsNeedDatabase(t *testing.T) {
	_, vkey, err := audit.GenerateKey("geneguard.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"results", "--person", "60001019906"},
		{"usage"},
		{"consent", "history", "--person", "60001019906", "--algorithm", demo.PGxAlgorithmID},
		{"consent", "grant", "--person", "60001019906", "--algorithm", demo.PGxAlgorithmID},
		{"algorithm", "list"},
		{"algorithm", "changes", "0123456789ab"},
		{"algorithm", "approve", "0123456789ab", "--as", "board-jaan"},
		{"events", "age-milestones"},
		{"events", "test-order", "--person", "60001019906", "--algorithm", demo.PGxAlgorithmID},
		{"audit", "verify", "--key", vkey},
		{"audit", "checkpoint"},
		{"audit", "receipt", "--seq", "1", "--key", vkey},
	} {
		t.Run(strings.Join(c[:min(2, len(c))], " "), func(t *testing.T) {
			for _, how := range []string{"--data", "--db"} {
				parent := t.TempDir()
				data := filepath.Join(parent, "typo")
				args := append(append([]string{}, c...), "--data", data)
				want := filepath.Join(data, "geneguard.db")
				if how == "--db" {
					want = filepath.Join(parent, "typo.db")
					args = append(append([]string{}, c...), "--data", parent, "--db", want)
				}
				code, _, errb := runCommand(args...)
				if code != 1 || !strings.Contains(errb, "no database at "+want) || !strings.Contains(errb, "geneguard ingest") {
					t.Errorf("%s with a wrong %s: exit %d, %q; want exit 1 naming %s", strings.Join(c, " "), how, code, errb, want)
				}
				var left []string
				filepath.Walk(parent, func(p string, _ os.FileInfo, _ error) error {
					if p != parent {
						left = append(left, p)
					}
					return nil
				})
				if len(left) > 0 {
					t.Errorf("%s with a wrong %s created %v", strings.Join(c, " "), how, left)
				}
			}
		})
	}

	// A database without its pseudonym key: refused, no new key.
	data := t.TempDir()
	testenv.NewWorld(t, filepath.Join(data, "geneguard.db"))
	code, _, errb := runCommand("results", "--person", "60001019906", "--data", data)
	if code != 1 || !strings.Contains(errb, "no key at "+filepath.Join(data, "pseudonym.key")) {
		t.Errorf("results without the pseudonym key: exit %d, %q", code, errb)
	}
	if _, err := os.Stat(filepath.Join(data, "pseudonym.key")); err == nil {
		t.Error("a pseudonym key was created for an existing database")
	}
}

// pgxVersionWithCases writes a PGx bundle and a manifest with two
// passing validation cases, for the CLI to submit.
func pgxVersionWithCases(t *testing.T, w *testenv.World, label string) (manifest, bundle string) {
	t.Helper()
	bundle = filepath.Join(t.TempDir(), "bundle")
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
	m.Version = label
	m.Validation = []algorithm.Case{
		{Name: "normal", VCF: string(testenv.DemoVCF(t, []demo.Person{normal}).Bytes()), Expect: "Normal Metabolizer"},
		{Name: "poor", VCF: string(testenv.DemoVCF(t, []demo.Person{poor}).Bytes()), Expect: "Poor Metabolizer"},
	}
	mb, _ := json.Marshal(m)
	manifest = filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(manifest, mb, 0o644)
	return manifest, bundle
}

// TestAlgorithmAccountSpellings: at the command line the submitter cannot
// approve under another spelling of their account, an unusable --as is a
// usage error, and `algorithm list` shows submitter, approver and
// activator, built-ins included.
func TestAlgorithmAccountSpellings(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn)
	db := []string{"--db", dsn, "--data", data}
	manifest, bundle := pgxVersionWithCases(t, w, "2026.spell")
	out := mustRun(t, append([]string{"algorithm", "submit", "--manifest", manifest, "--files", bundle, "--as", "Alice"}, db...)...)
	hash := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if hash == nil {
		t.Fatalf("submit: %q", out)
	}
	short := hash[1][:12]
	mustRun(t, append([]string{"algorithm", "validate", short, "--as", "Alice"}, db...)...)
	for _, c := range []struct {
		as   string
		code int
		want string
	}{
		{"alice", 1, "four eyes"},
		{" alice", 1, "four eyes"},
		{"Alice", 1, "four eyes"},
		{"ALICE ", 1, "four eyes"},
		{" ", 2, "--as: account name is empty"},
		{"bob\x07", 2, "control"},
		{"b\u00a0ob", 2, "non-printing"},
	} {
		code, _, errb := runCommand(append([]string{"algorithm", "approve", short, "--as", c.as}, db...)...)
		if code != c.code || !strings.Contains(errb, c.want) {
			t.Errorf("approve --as %q: exit %d, %q; want exit %d saying %q", c.as, code, errb, c.code, c.want)
		}
	}
	if out := mustRun(t, append([]string{"algorithm", "approve", short, "--as", " Bob"}, db...)...); !strings.Contains(out, "approved "+short+" by bob") {
		t.Errorf("approve: %q", out)
	}
	mustRun(t, append([]string{"algorithm", "activate", short, "--as", "Carol"}, db...)...)

	out = mustRun(t, append([]string{"algorithm", "list"}, db...)...)
	if !strings.Contains(out, "ACTIVATED BY") {
		t.Errorf("list has no activator column:\n%s", out)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1); len(f) >= 9 {
			rows[f[0]+"@"+f[1]] = f
		}
	}
	for key, want := range map[string][]string{
		demo.PGxAlgorithmID + "@2026.spell":                {"active", "alice", "bob", "carol", "2/2 passed"},
		demo.PGxAlgorithmID + "@" + w.PGx.Manifest.Version: {"retired", "geneguard", platform.BuiltinApprover, "geneguard", "no validation cases in the manifest"},
		demo.PRSAlgorithmID + "@" + w.PRS.Manifest.Version: {"active", "geneguard", platform.BuiltinApprover, "geneguard", "no validation cases in the manifest"},
	} {
		f := rows[key]
		if f == nil {
			t.Errorf("list has no row %s:\n%s", key, out)
			continue
		}
		got := []string{f[3], f[5], f[6], f[7], f[8]}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("list row %s: state, submitted, approved, activated, validation = %q, want %q", key, got, want)
		}
	}

	var js []struct {
		Version           string `json:"version"`
		SubmittedBy       string `json:"submitted_by"`
		ApprovedBy        string `json:"approved_by"`
		ActivatedBy       string `json:"activated_by"`
		ValidationSummary string `json:"validation_summary"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"algorithm", "list", "--format", "json"}, db...)...)), &js); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range js {
		if r.Version == "2026.spell" {
			found = r.SubmittedBy == "alice" && r.ApprovedBy == "bob" && r.ActivatedBy == "carol" && r.ValidationSummary == "2/2 passed"
		}
	}
	if !found {
		t.Errorf("list --format json: %+v", js)
	}
}

// TestFailedValidationListed: a version whose validation failed is listed
// with its failures, not as "0/0 passed".
func TestFailedValidationListed(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn)
	db := []string{"--db", dsn, "--data", data}
	for _, c := range []struct {
		label string
		cases func(m *algorithm.Manifest)
		want  string
	}{
		{"nocases", func(m *algorithm.Manifest) { m.Validation = nil }, "FAILED: the manifest has no validation cases"},
		{"wrong", func(m *algorithm.Manifest) { m.Validation[1].Expect = "Normal Metabolizer" }, `FAILED: 1 of 2 cases failed; first: case "poor": expected "Normal Metabolizer"`},
	} {
		manifest, bundle := pgxVersionWithCases(t, w, c.label)
		var m algorithm.Manifest
		b, _ := os.ReadFile(manifest)
		json.Unmarshal(b, &m)
		c.cases(&m)
		b, _ = json.Marshal(m)
		os.WriteFile(manifest, b, 0o644)
		out := mustRun(t, append([]string{"algorithm", "submit", "--manifest", manifest, "--files", bundle, "--as", "alice"}, db...)...)
		short := regexp.MustCompile(`sha256 ([0-9a-f]{12})`).FindStringSubmatch(out)[1]
		if code, _, errb := runCommand(append([]string{"algorithm", "validate", short}, db...)...); code != 1 || !strings.Contains(errb, "failed validation") {
			t.Errorf("validate %s: exit %d, %q", c.label, code, errb)
		}
		out = mustRun(t, append([]string{"algorithm", "list"}, db...)...)
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, " "+c.label+" ") {
				line = l
			}
		}
		if !strings.Contains(line, "draft") || !strings.Contains(line, c.want) || strings.Contains(line, "0/0") {
			t.Errorf("list row for %s: %q; want a draft saying %q", c.label, line, c.want)
		}
	}
}

// TestCommandInputsRefused: an empty or unprintable --purpose, and an
// age-milestone pass for a future day, are refused with a clear message
// and record nothing.
func TestCommandInputsRefused(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn)
	people := demo.Cohort(2)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	db := []string{"--db", dsn, "--data", data}
	p0 := string(people[0].Code)
	views := func() int {
		n := 0
		for _, e := range testenv.AuditLog(t, w.Store) {
			if e.Action == "view" {
				n++
			}
		}
		return n
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"results", "--person", p0, "--purpose", ""}, 2, "--purpose: purpose is empty; state why the results are viewed, e.g. treatment, prescribing"},
		{[]string{"results", "--person", p0, "--purpose", "treatment\x00"}, 2, "control"},
		{[]string{"results", "--person", p0, "--purpose", "a\nforged line"}, 2, "control"},
		{[]string{"results", "--person", p0, "--purpose", strings.Repeat("x", 101)}, 2, "longer than 100"},
		{[]string{"results", "--person", p0, "--as", ""}, 2, "--as: account name is empty"},
		{[]string{"consent", "grant", "--person", p0, "--algorithm", demo.PGxAlgorithmID, "--as", "op\x1b[2J"}, 2, "control"},
		{[]string{"consent", "grant", "--person", p0, "--algorithm", demo.PGxAlgorithmID, "--channel", ""}, 2, "--channel \"\": say how the person gave the decision"},
		{[]string{"consent", "withdraw", "--person", p0, "--algorithm", demo.PGxAlgorithmID, "--channel", "pa\tper"}, 2, "printable words"},
		{[]string{"events", "age-milestones", "--date", "2040-01-01"}, 1, "cannot run for 2040-01-01: it is after today"},
		{[]string{"events", "age-milestones", "--date", tomorrow}, 1, "cannot run for " + tomorrow},
	} {
		before := views()
		code, _, errb := runCommand(append(c.args, db...)...)
		if code != c.code || !strings.Contains(errb, c.want) {
			t.Errorf("%q: exit %d, %q; want exit %d saying %q", c.args, code, errb, c.code, c.want)
		}
		if n := views(); n != before {
			t.Errorf("%q recorded %d views", c.args, n-before)
		}
	}
	var mark string
	if err := w.Store.InTx(context.Background(), func(tx platform.Tx) (err error) {
		mark, err = tx.Mark("age-milestones")
		return err
	}); err != nil || mark != "" {
		t.Errorf("age-milestone mark after refused passes: %q, %v", mark, err)
	}
	// What is accepted is recorded as given (trimmed).
	mustRun(t, append([]string{"results", "--person", p0, "--purpose", " quality assurance "}, db...)...)
	found := false
	for _, e := range testenv.AuditLog(t, w.Store) {
		found = found || (e.Action == "view" && e.Purpose == "quality assurance" && e.Actor == "operator")
	}
	if !found {
		t.Error("the view with purpose \"quality assurance\" is not in the audit log")
	}
}

// TestServeDemoLoginStaff: `serve --demo-login` offers the demo physician
// and the governance board besides patients, and the board reaches the
// governance page.
func TestServeDemoLoginStaff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := dataDir(t)
	testenv.NewWorld(t, filepath.Join(data, "geneguard.db"))
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo-login", "--data", data, "--addr", "127.0.0.1:0", "--workers", "0"}, out, out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var base string
	waitFor(t, "serve to listen", 30*time.Second, func() (bool, string) {
		m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil, out.String()
	})
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{`value="dr-tamm"`, "Dr. Tiit Tamm", `value="governance-board"`, "Governance board"} {
		if !strings.Contains(page, want) {
			t.Errorf("demo login page lacks %q:\n%s", want, page)
		}
	}
	state := regexp.MustCompile(`name="state" value="([^"]+)"`).FindStringSubmatch(page)
	if state == nil {
		t.Fatalf("no state on the login page:\n%s", page)
	}
	resp, err = hc.PostForm(base+"/login/callback", url.Values{"state": {state[1]}, "pick": {"governance-board"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = hc.Get(base + "/governance")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Algorithm governance") || !strings.Contains(string(body), platform.BuiltinApprover) {
		t.Errorf("governance page as the board: %d\n%s", resp.StatusCode, body)
	}
}

// TestSubmitMalformedManifest: `algorithm submit` refuses a manifest that
// misstates its inputs or is malformed (genotypes: false for a PGx engine
// that reads them, an attribute the runner cannot supply, an id that is no
// slug, JSON after the manifest object) with the reason, and registers
// nothing: no version and no audit event.
func TestSubmitMalformedManifest(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	w := testenv.NewWorld(t, dsn)
	db := []string{"--db", dsn, "--data", data}
	manifest, bundle := pgxVersionWithCases(t, w, "2026.malformed")
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m *algorithm.Manifest)) []byte {
		m, err := algorithm.ParseManifest(good)
		if err != nil {
			t.Fatal(err)
		}
		f(&m)
		b, _ := json.Marshal(m)
		return b
	}
	registered := func() int {
		var vs []json.RawMessage
		if err := json.Unmarshal([]byte(mustRun(t, append([]string{"algorithm", "list", "--format", "json"}, db...)...)), &vs); err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}
	before, events := registered(), len(testenv.AuditLog(t, w.Store))
	for _, c := range []struct {
		name     string
		manifest []byte
		want     string
	}{
		{"genotypes false", edit(func(m *algorithm.Manifest) { m.Inputs.Genotypes = false }),
			`inputs.genotypes is false, but the pgx engine reads genotypes: declare "genotypes": true`},
		{"unknown attribute", edit(func(m *algorithm.Manifest) { m.Inputs.Attributes = []string{"shoe_size"} }),
			`inputs.attributes: "shoe_size" is not an attribute the runner supplies; allowed: age, sex`},
		{"id not a slug", edit(func(m *algorithm.Manifest) { m.ID = "Bad Id/../x" }),
			`id "Bad Id/../x": use 1-64 lower-case letters, digits, '.', '_' or '-'`},
		{"trailing JSON", append(append([]byte{}, good...), `{"id": "x"}`...),
			"data after the manifest object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(manifest, c.manifest, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errb := runCommand(append([]string{"algorithm", "submit", "--manifest", manifest, "--files", bundle, "--as", "alice"}, db...)...)
			if code != 1 || !strings.Contains(errb, "manifest "+manifest+": invalid algorithm: ") || !strings.Contains(errb, c.want) || strings.Contains(out, "submitted") {
				t.Errorf("submit: exit %d, stdout %q, stderr %q; want exit 1 saying %q", code, out, errb, c.want)
			}
		})
	}
	if n := registered(); n != before {
		t.Errorf("%d versions registered after the refusals, %d before", n, before)
	}
	if n := len(testenv.AuditLog(t, w.Store)); n != events {
		t.Errorf("the refusals wrote %d audit events", n-events)
	}
	// The same manifest, well-formed, is registered: the refusals were the
	// manifest's, not the setup's.
	os.WriteFile(manifest, good, 0o644)
	mustRun(t, append([]string{"algorithm", "submit", "--manifest", manifest, "--files", bundle, "--as", "alice"}, db...)...)
	if n := registered(); n != before+1 {
		t.Errorf("%d versions after the good submission, %d before", n, before)
	}
}
