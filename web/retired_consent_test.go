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

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web"
)

// aliceConsented is a world with one person, alice, consented to PGx (not
// yet computed).
func aliceConsented(t *testing.T) (*testenv.World, identity.Principal, []demo.Person) {
	t.Helper()
	w := testenv.NewWorld(t, testenv.SQLiteDSN(t))
	people := demo.Cohort(1)
	w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
	alice := w.SignIn(t, people[0].Code)
	w.Grant(t, alice, demo.PGxAlgorithmID)
	return w, alice, people
}

// serveWorld is the web server over w's service, with the demo sign-in
// offering ids.
func serveWorld(t *testing.T, w *testenv.World, ids ...web.DemoIdentity) *env {
	t.Helper()
	e := &env{log: &syncBuffer{}}
	e.srv = httptest.NewServer(web.New(w.Service, web.Options{
		SessionKey: testKey,
		Logger:     slog.New(slog.NewJSONHandler(e.log, nil)),
		Demo:       ids,
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// TestWithdrawFromRetiredAlgorithm: withdrawing consent from an algorithm
// whose versions are all retired is recorded and answered as recorded —
// not a 404 for a change that was written.
func TestWithdrawFromRetiredAlgorithm(t *testing.T) {
	w, alice, people := aliceConsented(t)
	ctx := context.Background()
	if err := w.Service.RetireAlgorithm(ctx, identity.System, w.PGx.Hash, "replaced"); err != nil {
		t.Fatal(err)
	}
	c := serveWorld(t, w, web.DemoIdentity{Subject: "EE" + string(people[0].Code), Role: identity.RolePatient, Label: "Alice"}).client(t)
	c.login("EE" + string(people[0].Code))
	r := c.postJSON("/api/v1/persons/"+alice.Person+"/consents/"+demo.PGxAlgorithmID, `{"action":"withdraw"}`)
	var st platform.ConsentState
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &st) != nil || st.Granted || st.AlgorithmID != demo.PGxAlgorithmID {
		t.Fatalf("withdraw from a retired algorithm: %d %s", r.status, r.body)
	}
	h, err := w.Service.ConsentHistory(ctx, alice, alice.Person, demo.PGxAlgorithmID)
	if err != nil || len(h) != 2 || h[1].Action != "withdraw" {
		t.Errorf("history after withdrawal: %+v, %v", h, err)
	}
}

// TestRetiredVersionResultMarked: a result whose version the board retired
// stays in clinical view (nothing newer computed it yet) and says so, on
// the physician's page and in the API.
func TestRetiredVersionResultMarked(t *testing.T) {
	w, alice, _ := aliceConsented(t)
	ctx := context.Background()
	w.Drain(t)
	c := serveWorld(t, w, web.DemoIdentity{Subject: "dr-tamm", Role: identity.RolePhysician, Label: "Doctor"}).client(t)
	c.login("dr-tamm")
	page := func() string {
		t.Helper()
		r := c.get("/physician/patients/" + alice.Person)
		if r.status != http.StatusOK {
			t.Fatalf("physician page: %d %s", r.status, r.body)
		}
		return r.body
	}
	if strings.Contains(page(), "Version retired") {
		t.Fatal("an active version's result is marked retired")
	}
	if err := w.Service.RetireAlgorithm(ctx, identity.System, w.PGx.Hash, "replaced"); err != nil {
		t.Fatal(err)
	}
	if body := page(); !strings.Contains(body, "Version retired:") || !strings.Contains(body, `class="category big"`) {
		t.Errorf("physician page after retirement does not show the result marked retired:\n%s", body)
	}
	r := c.get("/api/v1/persons/" + alice.Person + "/results")
	var rs []struct {
		VersionRetired bool `json:"version_retired"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &rs) != nil || len(rs) != 1 || !rs[0].VersionRetired {
		t.Errorf("API results after retirement: %d %s", r.status, r.body)
	}
}

// TestPatientWithdrawsFromRetiredAlgorithm: once every version of an
// algorithm the patient consented to is retired, the patient's page still
// lists it, says it is retired, and offers the withdrawal (not a grant);
// withdrawing there is recorded.
func TestPatientWithdrawsFromRetiredAlgorithm(t *testing.T) {
	w, _, people := aliceConsented(t)
	ctx := context.Background()
	if err := w.Service.RetireAlgorithm(ctx, identity.System, w.PGx.Hash, "replaced"); err != nil {
		t.Fatal(err)
	}
	c := serveWorld(t, w, web.DemoIdentity{Subject: "EE" + string(people[0].Code), Role: identity.RolePatient, Label: "Alice"}).client(t)
	c.login("EE" + string(people[0].Code))
	section := func() string {
		t.Helper()
		r := c.get("/patient")
		i := strings.Index(r.body, `id="alg-`+demo.PGxAlgorithmID+`"`)
		if r.status != http.StatusOK || i < 0 {
			t.Fatalf("patient page does not list the retired algorithm: %d\n%s", r.status, r.body)
		}
		end := strings.Index(r.body[i:], "</article>")
		return r.body[i : i+end]
	}
	if s := section(); !strings.Contains(s, "data-retired") || !strings.Contains(s, "Withdraw consent") {
		t.Fatalf("retired algorithm with consent given: no retired note or no withdraw button:\n%s", s)
	}
	r := c.postForm("/patient/consents/"+demo.PGxAlgorithmID, url.Values{"csrf": {c.csrf("/patient")}, "action": {"withdraw"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	if s := section(); !strings.Contains(s, "Consent not given") || strings.Contains(s, "Give consent") {
		t.Errorf("after the withdrawal: want consent not given and no grant button for a retired algorithm:\n%s", s)
	}
}
