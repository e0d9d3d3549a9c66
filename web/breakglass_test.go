package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// countActions counts the fake's audit entries with the action.
func (f *fakeService) countActions(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.audit {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestBreakGlassPages: the physician reaches emergency access from the
// search page, must give a reason, sees the patient's page marked as
// emergency access (recorded once, as break-glass, not as a treatment
// view), and the patient sees it prominently in their access log with the
// reason. Withdrawn consent still hides results; patients cannot use it.
func TestBreakGlassPages(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	pat.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {pat.csrf("/patient")}, "action": {"grant"}})

	doc := e.client(t)
	doc.login(physician)
	if r := doc.get("/physician"); !strings.Contains(r.body, `href="/physician/break-glass"`) {
		t.Error("the search page does not link to emergency access")
	}
	form := doc.get("/physician/break-glass")
	if form.status != 200 || !strings.Contains(form.body, `name="reason"`) || !strings.Contains(form.body, "shown prominently to the patient") {
		t.Fatalf("break-glass form: %d\n%s", form.status, form.body)
	}
	post := func(code, reason string) *response {
		return doc.postForm("/physician/break-glass", url.Values{"csrf": {doc.csrf("/physician/break-glass")}, "code": {code}, "reason": {reason}})
	}
	const reason = "Unconscious in the emergency department; antiplatelet decision needed now."
	for _, c := range []struct{ code, reason, want string }{
		{codeMari, "", "needs a reason"},
		{codeMari, "   ", "needs a reason"},
		{"4940313651", reason, "That is not a valid Estonian personal code"},
		{"49403136515", reason, "No patient with this personal code"},
	} {
		r := post(c.code, c.reason)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, c.want) {
			t.Errorf("break-glass (%q, %q) = %d, want 400 with %q", c.code, c.reason, r.status, c.want)
		}
		if c.reason != "" && !strings.Contains(r.body, htmlEscape(strings.TrimSpace(c.reason))) {
			t.Errorf("break-glass (%q, %q): the form lost the reason", c.code, c.reason)
		}
	}
	if n := e.svc.countActions("break-glass"); n != 0 {
		t.Fatalf("%d break-glass events after refusals, want 0", n)
	}

	views := e.svc.countActions("results.view")
	page := post(codeMari, reason)
	for _, want := range []string{"Emergency access (break-glass)", htmlEscape(reason), "Mari Maasikas", `class="category big">Poor Metabolizer`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("break-glass page lacks %q", want)
		}
	}
	if page.status != 200 || strings.Contains(page.body, codeMari) {
		t.Errorf("break-glass page: status %d, or it shows the personal code", page.status)
	}
	if n := e.svc.countActions("break-glass"); n != 1 {
		t.Errorf("%d break-glass events, want 1", n)
	}
	if n := e.svc.countActions("results.view"); n != views {
		t.Errorf("break-glass also recorded %d ordinary views", n-views)
	}
	// The ordinary page carries no emergency banner.
	if r := doc.get("/physician/patients/" + e.svc.pseudonym(codeMari)); strings.Contains(r.body, "Emergency access") {
		t.Error("the ordinary patient page says emergency access")
	}

	log := pat.get("/patient/access-log")
	for _, want := range []string{"emergency access (break-glass) once", `<tr class="break-glass">`, htmlEscape(reason), "Dr Kristi Tamm"} {
		if !strings.Contains(log.body, want) {
			t.Errorf("patient's access log lacks %q", want)
		}
	}

	// Withdrawn consent is not overridden.
	pat.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {pat.csrf("/patient")}, "action": {"withdraw"}})
	page = post(codeMari, reason)
	if !strings.Contains(page.body, "No results in clinical view") || strings.Contains(page.body, "Poor Metabolizer") {
		t.Error("break-glass shows a result whose consent was withdrawn")
	}
	if log := pat.get("/patient/access-log"); !strings.Contains(log.body, "emergency access (break-glass) 2 times") {
		t.Error("access log does not count both emergency accesses")
	}

	// Patients cannot use it.
	if r := pat.get("/physician/break-glass"); r.status != http.StatusForbidden {
		t.Errorf("patient GET break-glass: %d, want 403", r.status)
	}
	r := pat.postForm("/physician/break-glass", url.Values{"csrf": {pat.csrf("/patient")}, "code": {codeMari}, "reason": {reason}})
	if r.status != http.StatusForbidden {
		t.Errorf("patient POST break-glass: %d, want 403", r.status)
	}
	if strings.Contains(e.log.String(), codeMari) {
		t.Error("a personal code reached the log")
	}
}

func TestBreakGlassAPI(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	pat.postJSON("/api/v1/persons/"+person+"/consents/pgx-cyp2c19", `{"action":"grant"}`)
	path := "/api/v1/persons/" + person + "/break-glass"

	doc := e.client(t)
	doc.login(physician)
	var rs []result.Result
	mustJSON(t, doc.postJSON(path, `{"reason":"Unconscious, antiplatelet decision now."}`), 200, &rs)
	if len(rs) != 1 || rs[0].AlgorithmID != "pgx-cyp2c19" {
		t.Errorf("break-glass results: %+v", rs)
	}
	var apiErr struct {
		Error struct{ Code, Message string }
	}
	for _, body := range []string{`{"reason":""}`, `{}`, `{"reason":"x","purpose":"y"}`, `nope`} {
		mustJSON(t, doc.postJSON(path, body), 400, &apiErr)
	}
	r := doc.do("POST", path, "text/plain", strings.NewReader(`{"reason":"x"}`), nil)
	if r.status != 400 {
		t.Errorf("text/plain body: %d, want 400", r.status)
	}
	mustJSON(t, pat.postJSON(path, `{"reason":"curious"}`), 403, &apiErr)

	// The patient's audit API shows it with the reason.
	var trail []platform.AuditEntry
	mustJSON(t, pat.get("/api/v1/persons/"+person+"/audit"), 200, &trail)
	var found bool
	for _, e := range trail {
		found = found || (e.Action == "break-glass" && e.Reason == "Unconscious, antiplatelet decision now.")
	}
	if !found {
		t.Errorf("audit API lacks the break-glass entry with its reason: %+v", trail)
	}
}

// TestAccessLogPending: an entry not yet sequenced into the log is listed
// as being sealed, with no log number and no receipt link; in JSON it is
// "pending" and has no seq.
func TestAccessLogPending(t *testing.T) {
	e := newEnvWith(t, nil)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	e.svc.mu.Lock()
	e.svc.audit = append(e.svc.audit,
		platform.AuditEntry{Seq: 41, Time: e.svc.now, Actor: "dr-tamm", Role: "physician", Person: person, Action: "view", Object: "results", Purpose: "treatment"},
		platform.AuditEntry{Time: e.svc.now, Actor: "dr-kask", Role: "physician", Person: person, Action: "view", Object: "results", Purpose: "treatment", Pending: true})
	e.svc.mu.Unlock()
	log := pat.get("/patient/access-log")
	if !strings.Contains(log.body, "#41") || !strings.Contains(log.body, "being sealed into the log") || strings.Contains(log.body, "#0") {
		t.Errorf("access log with a pending entry:\n%s", log.body)
	}
	var raw []map[string]any
	mustJSON(t, pat.get("/api/v1/persons/"+person+"/audit"), 200, &raw)
	last := raw[len(raw)-1]
	if _, ok := last["seq"]; ok || last["pending"] != true {
		t.Errorf("pending entry in JSON: %v", last)
	}
	if first := raw[len(raw)-2]; first["seq"] != json.Number("41") && first["seq"] != float64(41) {
		t.Errorf("sealed entry in JSON: %v", first)
	}
}
