package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web"
)

// TestGovernanceRegistryHonest: the governance page names who submitted,
// approved and activated each version (built-ins as approved by the
// system), shows a failed validation with its first failure, and refuses
// the submitter's own approval from the page whatever the spelling of
// their account at submission. The results API refuses an empty or
// unprintable purpose instead of recording something else.
func TestGovernanceRegistryHonest(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	w.Service.SetValidator(w.Runner)
	ctx := context.Background()
	people := demo.Cohort(3)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	alice := w.SignIn(t, people[0].Code)
	w.Grant(t, alice, demo.PGxAlgorithmID)
	w.Drain(t)
	rs, err := w.Service.Results(ctx, testenv.Physician, alice.Person, "treatment")
	if err != nil || len(rs) != 1 {
		t.Fatalf("alice's results: %v %v", rs, err)
	}

	submit := func(label, expect string) *algorithm.Version {
		m := w.PGx.Manifest
		m.Version = label
		m.Validation = []algorithm.Case{{Name: "alice", VCF: string(testenv.DemoVCF(t, people[:1]).Bytes()), Expect: expect}}
		v, err := algorithm.New(m, w.PGx.Files, "")
		if err != nil {
			t.Fatal(err)
		}
		// The board member submitted it themself, spelled differently.
		op := identity.Principal{Subject: " Board-Jaan", Role: identity.RoleOperator}
		if err := w.Service.SubmitAlgorithm(ctx, op, v); err != nil {
			t.Fatal(err)
		}
		w.Service.ValidateAlgorithm(ctx, op, v.Hash)
		return v
	}
	own := submit("web-own", rs[0].Category)
	failed := submit("web-failed", "Ultrarapid Metabolizer")

	e := &env{log: &syncBuffer{}}
	e.srv = httptest.NewServer(web.New(w.Service, web.Options{
		SessionKey: testKey,
		Logger:     slog.New(slog.NewJSONHandler(e.log, nil)),
		Demo: []web.DemoIdentity{
			{Subject: "board-jaan", Role: identity.RoleGovernance, Label: "Board"},
			{Subject: "board-mari", Role: identity.RoleGovernance, Label: "Board 2"},
			{Subject: "dr-tamm", Role: identity.RolePhysician, Label: "Doctor"},
			{Subject: "EE" + string(people[0].Code), Role: identity.RolePatient, Label: "Alice"},
		},
	}))
	t.Cleanup(e.srv.Close)

	jaan := e.client(t)
	jaan.login("board-jaan")
	token := jaan.csrf("/governance")
	if r := jaan.postForm("/governance/algorithms/"+own.Hash+"/approve", url.Values{"csrf": {token}}); r.status != http.StatusConflict || !strings.Contains(r.body, "four eyes") {
		t.Errorf("the submitter approving from the page: %d\n%s", r.status, r.body)
	}
	mari := e.client(t)
	mari.login("board-mari")
	token = mari.csrf("/governance")
	for _, action := range []string{"approve", "activate"} {
		if r := mari.postForm("/governance/algorithms/"+own.Hash+"/"+action, url.Values{"csrf": {token}}); r.status != http.StatusSeeOther {
			t.Fatalf("%s by another member: %d %s", action, r.status, r.body)
		}
	}
	page := mari.get("/governance")
	if page.status != http.StatusOK {
		t.Fatalf("governance page: %d", page.status)
	}
	for _, want := range []string{
		"Submitted by board-jaan",
		"approved by board-mari; activated by board-mari",
		"approved by " + htmlEscape(platform.BuiltinApprover) + "; activated by geneguard",
		"Validation: 1/1 passed.",
		"Validation: no validation cases in the manifest.",
		"Validation: " + htmlEscape(`FAILED: 1 of 1 cases failed; first: case "alice": expected "Ultrarapid Metabolizer"`),
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("governance page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "0/0") || strings.Contains(page.body, "0/1") {
		t.Errorf("governance page counts a failed validation as passes:\n%s", page.body)
	}
	if v, err := w.Service.AlgorithmVersion(ctx, identity.System, failed.Hash); err != nil || v.Status != algorithm.StatusDraft {
		t.Errorf("failed version: %+v %v", v, err)
	}

	doc := e.client(t)
	doc.login("dr-tamm")
	base := "/api/v1/persons/" + alice.Person + "/results"
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"", http.StatusOK, ""},
		{"?purpose=prescribing", http.StatusOK, ""},
		{"?purpose=", http.StatusBadRequest, "purpose is empty; state why the results are viewed, e.g. treatment, prescribing"},
		{"?purpose=%20%20", http.StatusBadRequest, "purpose is empty"},
		{"?purpose=treatment%00", http.StatusBadRequest, "control"},
		{"?purpose=a%0D%0Aforged", http.StatusBadRequest, "control"},
		{"?purpose=" + strings.Repeat("x", 101), http.StatusBadRequest, "longer than 100"},
	} {
		r := doc.get(base + c.query)
		if r.status != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("GET results%s: %d %s; want %d saying %q", c.query, r.status, r.body, c.status, c.want)
		}
	}
	var purposes []string
	for _, ev := range testenv.AuditLog(t, w.Store) {
		if ev.Action == "view" && ev.Actor == "dr-tamm" {
			purposes = append(purposes, ev.Purpose)
		}
	}
	// The setup's own view, then the two accepted API views.
	if got := strings.Join(purposes, ","); got != "treatment,treatment,prescribing" {
		t.Errorf("recorded view purposes %q", got)
	}
	// A patient reading their own results through the API, stating no
	// purpose, is recorded as self-access (as on their page), not treatment.
	pat := e.client(t)
	pat.login("EE" + string(people[0].Code))
	if r := pat.get(base); r.status != http.StatusOK {
		t.Fatalf("patient's own results: %d %s", r.status, r.body)
	}
	log := testenv.AuditLog(t, w.Store)
	if last := log[len(log)-1]; last.Action != "view" || last.Person != alice.Person || last.Purpose != "self-access" {
		t.Errorf("patient's own API view recorded as %+v, want a view with purpose self-access", last)
	}
}
