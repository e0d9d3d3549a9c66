package web_test

import (
	"context"
	"encoding/json"
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

// TestGovernance runs the governance page and API on the real platform:
// only the board sees the page; its approve and activate buttons carry the
// CSRF token and move a validated version to active; usage is charted; the
// consent export is FHIR; a prescription event answers per algorithm.
func TestGovernance(t *testing.T) {
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	w.Service.SetValidator(w.Runner)
	ctx := context.Background()
	people := demo.Cohort(3)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	alice := w.SignIn(t, people[0].Code)
	w.Grant(t, alice, demo.PGxAlgorithmID)
	w.Drain(t)

	// A validated version waiting for the board; its case is alice's
	// genotype with the category the active version gave her.
	rs, err := w.Service.Results(ctx, testenv.Physician, alice.Person, "test setup")
	if err != nil || len(rs) != 1 {
		t.Fatalf("alice's results: %v %v", rs, err)
	}
	m := w.PGx.Manifest
	m.Version = "web-rev"
	m.Validation = []algorithm.Case{{Name: "alice", VCF: string(testenv.DemoVCF(t, people[:1]).Bytes()), Expect: rs[0].Category}}
	v, err := algorithm.New(m, w.PGx.Files, "")
	if err != nil {
		t.Fatal(err)
	}
	op := identity.Principal{Subject: "provider", Role: identity.RoleOperator}
	if err := w.Service.SubmitAlgorithm(ctx, op, v); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Service.ValidateAlgorithm(ctx, op, v.Hash); err != nil {
		t.Fatal(err)
	}

	e := &env{log: &syncBuffer{}}
	e.srv = httptest.NewServer(web.New(w.Service, web.Options{
		SessionKey: testKey,
		Logger:     slog.New(slog.NewJSONHandler(e.log, nil)),
		Demo: []web.DemoIdentity{
			{Subject: "board-jaan", Role: identity.RoleGovernance, Label: "Board"},
			{Subject: "dr-tamm", Role: identity.RolePhysician, Label: "Doctor"},
			{Subject: "EE" + string(people[0].Code), Role: identity.RolePatient, Label: "Alice"},
		},
	}))
	t.Cleanup(e.srv.Close)

	doc := e.client(t)
	doc.login("dr-tamm")
	if r := doc.get("/governance"); r.status != http.StatusForbidden {
		t.Errorf("physician GET /governance: %d", r.status)
	}
	if r := doc.get("/api/v1/usage"); r.status != http.StatusForbidden {
		t.Errorf("physician GET /api/v1/usage: %d", r.status)
	}

	board := e.client(t)
	board.login("board-jaan")
	page := board.get("/governance")
	if page.status != http.StatusOK || !strings.Contains(page.body, "web-rev") || !strings.Contains(page.body, "/governance/algorithms/"+v.Hash+"/approve") || !strings.Contains(page.body, "<svg class=\"bars\"") {
		t.Fatalf("governance page: %d\n%s", page.status, page.body)
	}
	if r := board.postForm("/governance/algorithms/"+v.Hash+"/approve", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Errorf("approve with a bad CSRF token: %d", r.status)
	}
	token := board.csrf("/governance")
	if r := board.postForm("/governance/algorithms/"+v.Hash+"/approve", url.Values{"csrf": {token}}); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := board.postForm("/governance/algorithms/"+v.Hash+"/activate", url.Values{"csrf": {token}}); r.status != http.StatusSeeOther {
		t.Fatalf("activate: %d %s", r.status, r.body)
	}
	got, err := w.Service.AlgorithmVersion(ctx, identity.System, v.Hash)
	if err != nil || got.Status != algorithm.StatusActive || got.ApprovedBy != "board-jaan" {
		t.Fatalf("after the buttons: %+v %v", got, err)
	}
	w.Drain(t)

	var u platform.UsageReport
	r := board.get("/api/v1/usage?since=2000-01-01")
	if err := json.Unmarshal([]byte(r.body), &u); err != nil || r.status != 200 || u.Runs != 2 || len(u.Versions) != 2 {
		t.Errorf("usage: %d %s", r.status, r.body)
	}
	if r := board.get("/api/v1/usage?since=yesterday"); r.status != http.StatusBadRequest {
		t.Errorf("usage with a bad date: %d", r.status)
	}

	pat := e.client(t)
	pat.login("EE" + string(people[0].Code))
	r = pat.get("/api/v1/persons/" + alice.Person + "/consents/" + demo.PGxAlgorithmID + "/fhir")
	var c map[string]any
	if err := json.Unmarshal([]byte(r.body), &c); err != nil || r.status != 200 || c["resourceType"] != "Consent" || c["status"] != "active" {
		t.Errorf("FHIR consent: %d %s", r.status, r.body)
	}
	if r := pat.get("/api/v1/persons/" + alice.Person + "/consents/" + demo.PRSAlgorithmID + "/fhir"); r.status != http.StatusNotFound || !strings.Contains(r.body, "default deny") {
		t.Errorf("FHIR consent never given: %d %s", r.status, r.body)
	}
	bob := w.Pseudo.Pseudonym(people[1].Code)
	if r := pat.get("/api/v1/persons/" + bob + "/consents/" + demo.PGxAlgorithmID + "/fhir"); r.status != http.StatusForbidden {
		t.Errorf("someone else's consent: %d", r.status)
	}

	rx := `{"resourceType":"MedicationRequest","id":"rx-web-1","medicationCodeableConcept":{"text":"Escitalopram 10 mg tablet"},"subject":{"reference":"Patient/` + string(people[0].Code) + `"}}`
	resp := doc.do("POST", "/api/v1/events/medication-request", "application/fhir+json", strings.NewReader(rx), nil)
	var ans platform.PrescriptionAnswer
	if err := json.Unmarshal([]byte(resp.body), &ans); err != nil || resp.status != 200 || ans.Drug != "escitalopram" || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxCurrentResult {
		t.Errorf("prescription: %d %s", resp.status, resp.body)
	}
	// The same id again is a retry; the same id for someone else is a
	// conflict, not a retry that drops their prescription.
	if r := doc.do("POST", "/api/v1/events/medication-request", "application/fhir+json", strings.NewReader(rx), nil); r.status != 200 || !strings.Contains(r.body, `"duplicate": true`) {
		t.Errorf("the same prescription again: %d %s", r.status, r.body)
	}
	other := strings.Replace(rx, string(people[0].Code), string(people[1].Code), 1)
	if r := doc.do("POST", "/api/v1/events/medication-request", "application/fhir+json", strings.NewReader(other), nil); r.status != http.StatusConflict || !strings.Contains(r.body, "MedicationRequest rx-web-1 was already recorded for another person") {
		t.Errorf("the same id for another person: %d %s", r.status, r.body)
	}
	if r := pat.do("POST", "/api/v1/events/medication-request", "application/fhir+json", strings.NewReader(rx), nil); r.status != http.StatusForbidden {
		t.Errorf("a patient posting a prescription: %d", r.status)
	}
	if r := doc.do("POST", "/api/v1/events/medication-request", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient"}`), nil); r.status != http.StatusBadRequest {
		t.Errorf("not a MedicationRequest: %d %s", r.status, r.body)
	}
}
