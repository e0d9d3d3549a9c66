package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web"
	"github.com/geneguard/geneguard/web/reqmeta"
)

func TestLoginFlow(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)

	r := c.get("/patient")
	if r.status != http.StatusSeeOther || r.location() != "/login?next=%2Fpatient" {
		t.Fatalf("GET /patient signed out = %d to %q, want 303 to /login?next=%%2Fpatient", r.status, r.location())
	}
	state := c.startLogin("/patient/access-log")
	page := c.get("/login/demo?state=" + url.QueryEscape(state))
	for _, want := range []string{"Mari Maasikas", "Dr Kristi Tamm", "Peeter Kask", `name="code"`, `value="` + state + `"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("demo login page lacks %q", want)
		}
	}
	r = c.postForm("/login/callback", url.Values{"state": {state}, "pick": {"EE" + codeMari}})
	if r.status != http.StatusSeeOther || r.location() != "/patient/access-log" {
		t.Fatalf("callback = %d to %q, want 303 back to /patient/access-log", r.status, r.location())
	}
	var sess *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "gg_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", sess)
	}
	if r := c.get("/patient"); r.status != http.StatusOK || !strings.Contains(r.body, "Mari Maasikas") {
		t.Fatalf("GET /patient signed in = %d", r.status)
	}

	// The login state is single-use: it is cleared on success.
	r = c.postForm("/login/callback", url.Values{"state": {state}, "pick": {physician}})
	if r.status != http.StatusBadRequest {
		t.Errorf("replayed state: status %d, want 400", r.status)
	}

	// Signing out needs the form's CSRF token, and then the session is gone.
	r = c.postForm("/logout", url.Values{"csrf": {c.csrf("/patient")}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.status)
	}
	if r := c.get("/patient"); r.status != http.StatusSeeOther {
		t.Errorf("after logout GET /patient = %d, want redirect", r.status)
	}
}

func TestLoginRejects(t *testing.T) {
	cases := []struct {
		name     string
		form     func(state string) url.Values
		want     int
		wantBody string
	}{
		{"bad check digit", func(s string) url.Values { return url.Values{"state": {s}, "code": {"60001019907"}} },
			400, "That is not a valid Estonian personal code: &#34;60001019907&#34; has check digit 7, want 6."},
		{"too short", func(s string) url.Values { return url.Values{"state": {s}, "code": {"123"}} },
			400, "has 3 characters, want 11 digits"},
		{"nothing chosen", func(s string) url.Values { return url.Values{"state": {s}} },
			400, "Choose a demo identity or type a personal code."},
		{"unlisted identity cannot claim a role", func(s string) url.Values { return url.Values{"state": {s}, "pick": {"dr-evil"}} },
			400, "not on the list"},
		{"wrong state", func(string) url.Values { return url.Values{"state": {"forged"}, "pick": {physician}} },
			400, "sign in again"},
		{"no state", func(string) url.Values { return url.Values{"pick": {physician}} },
			400, "sign in again"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.client(t)
			state := c.startLogin("")
			r := c.postForm("/login/callback", tc.form(state))
			if r.status != tc.want || !strings.Contains(r.body, tc.wantBody) {
				t.Errorf("status %d, want %d; body contains %q: %v", r.status, tc.want, tc.wantBody, strings.Contains(r.body, tc.wantBody))
			}
			if r := c.get("/api/v1/me"); r.status != http.StatusUnauthorized {
				t.Errorf("after a failed login /api/v1/me = %d, want 401", r.status)
			}
		})
	}
}

func TestLoginAnyPersonalCode(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	state := c.startLogin("")
	r := c.postForm("/login/callback", url.Values{"state": {state}, "code": {" EE37605030299 "}})
	if r.status != http.StatusSeeOther || r.location() != "/patient" {
		t.Fatalf("code login = %d to %q", r.status, r.location())
	}
	var me web.Me
	mustJSON(t, c.get("/api/v1/me"), http.StatusOK, &me)
	want := web.Me{Subject: "EE" + codeJaan, Name: "Jaan Tamm", Role: identity.RolePatient, Person: e.svc.pseudonym(codeJaan)}
	if diff := cmp.Diff(want, me); diff != "" {
		t.Errorf("/api/v1/me (-want +got):\n%s", diff)
	}
}

func TestOpenRedirect(t *testing.T) {
	for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`} {
		e := newEnv(t)
		c := e.client(t)
		state := c.startLogin(next)
		r := c.postForm("/login/callback", url.Values{"state": {state}, "pick": {physician}})
		if r.location() != "/physician" {
			t.Errorf("next=%q: landed on %q, want /physician", next, r.location())
		}
	}
}

func TestRoleMapping(t *testing.T) {
	cases := []struct {
		subject string
		landing string
		me      web.Me
		pages   map[string]int // path → status
	}{
		{"EE" + codeMari, "/patient",
			web.Me{Subject: "EE" + codeMari, Name: "Mari Maasikas", Role: identity.RolePatient},
			map[string]int{"/patient": 200, "/patient/access-log": 200, "/": 200, "/physician": 403}},
		{physician, "/physician",
			web.Me{Subject: physician, Name: "Dr Kristi Tamm", Role: identity.RolePhysician},
			map[string]int{"/physician": 200, "/patient": 403, "/patient/access-log": 403}},
		{officer, "/",
			web.Me{Subject: officer, Name: "Peeter Kask", Role: identity.RoleGovernance},
			map[string]int{"/": 200, "/patient": 403, "/physician": 403}},
	}
	for _, tc := range cases {
		t.Run(string(tc.me.Role), func(t *testing.T) {
			e := newEnv(t)
			if tc.me.Role == identity.RolePatient {
				tc.me.Person = e.svc.pseudonym(codeMari)
			}
			c := e.client(t)
			if got := c.login(tc.subject); got != tc.landing {
				t.Errorf("landed on %q, want %q", got, tc.landing)
			}
			var me web.Me
			mustJSON(t, c.get("/api/v1/me"), http.StatusOK, &me)
			if diff := cmp.Diff(tc.me, me); diff != "" {
				t.Errorf("/api/v1/me (-want +got):\n%s", diff)
			}
			defer func() {
				if t.Failed() {
					t.Log(e.log.String())
				}
			}()
			for path, want := range tc.pages {
				if r := c.get(path); r.status != want {
					t.Errorf("GET %s = %d, want %d", path, r.status, want)
				}
			}
		})
	}
}

func TestUnauthenticated(t *testing.T) {
	cases := []struct {
		method, path string
		want         int
		location     string
	}{
		{"GET", "/api/v1/me", 401, ""},
		{"GET", "/api/v1/persons/P-X/results", 401, ""},
		{"GET", "/api/v1/persons/P-X/consents", 401, ""},
		{"POST", "/api/v1/persons/P-X/consents/pgx-cyp2c19", 401, ""},
		{"GET", "/api/v1/persons/P-X/audit", 401, ""},
		{"GET", "/api/v1/algorithms", 401, ""},
		{"GET", "/api/v1/jobs", 401, ""},
		{"GET", "/patient", 303, "/login?next=%2Fpatient"},
		{"GET", "/patient/access-log", 303, "/login?next=%2Fpatient%2Faccess-log"},
		{"GET", "/physician", 303, "/login?next=%2Fphysician"},
		{"GET", "/physician/patients/P-X", 303, "/login?next=%2Fphysician%2Fpatients%2FP-X"},
		{"POST", "/patient/consents/pgx-cyp2c19", 303, "/login?next=%2F"},
		{"GET", "/", 200, ""},
		{"GET", "/status", 200, ""},
		{"GET", "/healthz", 200, ""},
		{"GET", "/static/style.css", 200, ""},
	}
	e := newEnv(t)
	c := e.client(t)
	for _, tc := range cases {
		r := c.do(tc.method, tc.path, "application/json", strings.NewReader(`{"action":"grant"}`), nil)
		if r.status != tc.want || r.location() != tc.location {
			t.Errorf("%s %s = %d to %q, want %d to %q", tc.method, tc.path, r.status, r.location(), tc.want, tc.location)
		}
		if tc.want == 401 {
			var got struct{ Error web.APIError }
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Error.Code != "unauthenticated" {
				t.Errorf("%s %s: body %s, want an unauthenticated error", tc.method, tc.path, r.body)
			}
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	mari := e.client(t)
	mari.login("EE" + codeMari)
	jaan := e.client(t)
	jaan.login("EE" + codeJaan)
	mariToken, jaanToken := mari.csrf("/patient"), jaan.csrf("/patient")
	if mariToken == jaanToken {
		t.Fatal("two sessions share a CSRF token")
	}
	cases := []struct {
		name  string
		token []string
		want  int
	}{
		{"missing", nil, 403},
		{"empty", []string{""}, 403},
		{"garbage", []string{"not-a-token"}, 403},
		{"another session's", []string{jaanToken}, 403},
		{"own", []string{mariToken}, 303},
	}
	for _, tc := range cases {
		r := mari.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": tc.token, "action": {"grant"}})
		if r.status != tc.want {
			t.Errorf("%s token: status %d, want %d", tc.name, r.status, tc.want)
		}
		if tc.want == 403 && !strings.Contains(r.body, "This form has expired") {
			t.Errorf("%s token: body lacks the explanation", tc.name)
		}
	}
	if got := e.svc.grants(e.svc.pseudonym(codeMari), "pgx-cyp2c19"); got != 1 {
		t.Errorf("consent events recorded = %d, want exactly 1 (from the valid token)", got)
	}
	// A fresh sign-in gets a fresh token: the old one dies with its session.
	mari.login("EE" + codeMari)
	r := mari.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {mariToken}, "action": {"withdraw"}})
	if r.status != http.StatusForbidden {
		t.Errorf("token from a previous session: status %d, want 403", r.status)
	}
}

func TestCrossOriginAPIWrite(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	hdr := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
	var got struct{ Error web.APIError }
	mustJSON(t, c.do("POST", "/api/v1/persons/"+person+"/consents/pgx-cyp2c19", "application/json", strings.NewReader(`{"action":"grant"}`), hdr), 403, &got)
	if got.Error.Code != platform.CodeForbidden {
		t.Errorf("cross-site API POST: %+v", got.Error)
	}
	// A cross-site form post with a valid token is refused too: the token
	// could have leaked, the browser's word on the origin cannot.
	r := c.do("POST", "/patient/consents/pgx-cyp2c19", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"csrf": {c.csrf("/patient")}, "action": {"grant"}}.Encode()), hdr)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Requests from other sites are not accepted.") {
		t.Errorf("cross-site form POST = %d", r.status)
	}
	r = c.do("POST", "/api/v1/persons/"+person+"/consents/pgx-cyp2c19", "text/plain", strings.NewReader(`{"action":"grant"}`), nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("text/plain API POST = %d, want 400", r.status)
	}
	if got := e.svc.grants(person, "pgx-cyp2c19"); got != 0 {
		t.Errorf("consent events = %d, want 0", got)
	}
}

func TestSessionTampering(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeJaan)
	u, _ := url.Parse(e.srv.URL)
	var val string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "gg_session" {
			val = ck.Value
		}
	}
	forge := func(v string) *response {
		other := e.client(t)
		other.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "gg_session", Value: v}})
		return other.get("/api/v1/me")
	}
	if r := forge(val); r.status != 200 {
		t.Fatalf("the genuine cookie in another jar: %d, want 200", r.status)
	}
	// The cookie is an opaque token: it says nothing about who signed in,
	// in the clear or base64-decoded.
	decoded, _ := jsonB64Decode(val)
	for _, secret := range []string{codeJaan, e.svc.pseudonym(codeJaan), "Jaan", "patient", "role"} {
		if strings.Contains(val, secret) || strings.Contains(string(decoded), secret) {
			t.Errorf("session cookie %q reveals %q", val, secret)
		}
	}
	// A changed token, the signed form the cookie once had (claiming to
	// be a physician, with any signature), or nothing: all refused.
	flipped := []byte(val)
	flipped[len(flipped)-1] ^= 1
	oldForm := jsonB64Encode([]byte(`{"sub":"dr-tamm","role":"physician","sid":"x","exp":9999999999}`)) + "." + jsonB64Encode([]byte(strings.Repeat("\x07", 32)))
	for name, v := range map[string]string{
		"token changed":          string(flipped),
		"token truncated":        val[:len(val)-1],
		"old signed form":        oldForm,
		"old form, no signature": jsonB64Encode([]byte(`{"sub":"dr-tamm","role":"physician"}`)),
		"empty":                  "",
	} {
		if r := forge(v); r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, r.status)
		}
	}
	// A server under another key cannot open the stored session, even
	// sharing the session store.
	other := web.New(e.svc, web.Options{SessionKey: []byte("another-key-another-key-another-k"), Demo: demoIdentities, Logger: discard})
	req, _ := http.NewRequest("GET", "/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "gg_session", Value: val})
	rec := newRecorder()
	other.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("cookie under another key: %d, want 401", rec.Code)
	}
}

func TestErrorTable(t *testing.T) {
	const secret = "SELECT * FROM persons WHERE code='60001019906'"
	cases := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"invalid", &platform.Error{Code: platform.CodeInvalid, Message: "purpose is required"}, 400, "invalid", "purpose is required"},
		{"not found", &platform.Error{Code: platform.CodeNotFound, Message: "No such person."}, 404, "not_found", "No such person."},
		{"forbidden", &platform.Error{Code: platform.CodeForbidden, Message: "Physicians only."}, 403, "forbidden", "Physicians only."},
		{"consent", &platform.Error{Code: platform.CodeConsent, Message: "The patient has not consented to this algorithm."}, 403, "consent", "The patient has not consented to this algorithm."},
		{"conflict", &platform.Error{Code: platform.CodeConflict, Message: "Already approved."}, 409, "conflict", "Already approved."},
		{"conflict wrapped", fmt.Errorf("platform: approve: %w", &platform.Error{Code: platform.CodeConflict, Message: "Already approved."}), 409, "conflict", "Already approved."},
		{"internal with a message", &platform.Error{Code: platform.CodeInternal, Message: secret}, 500, "internal", "Internal error."},
		{"internal via Errorf", platform.Errorf(platform.CodeInternal, "store: %w", errors.New(secret)), 500, "internal", "Internal error."},
		{"foreign error", fmt.Errorf("sqlite: %s: database is locked", secret), 500, "internal", "Internal error."},
		{"unknown code", &platform.Error{Code: "brand_new", Message: secret}, 500, "internal", "Internal error."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.client(t)
			c.login(physician)
			person := e.svc.pseudonym(codeMari)
			e.svc.fail["Results"] = tc.err

			var got struct{ Error web.APIError }
			r := c.get("/api/v1/persons/" + person + "/results")
			mustJSON(t, r, tc.status, &got)
			if diff := cmp.Diff(web.APIError{Code: platform.Code(tc.code), Message: tc.message}, got.Error); diff != "" {
				t.Errorf("API error (-want +got):\n%s", diff)
			}
			page := c.get("/physician/patients/" + person)
			if page.status != tc.status || !strings.Contains(page.body, htmlEscape(tc.message)) {
				t.Errorf("page: status %d, want %d with %q", page.status, tc.status, tc.message)
			}
			for _, body := range []string{r.body, page.body} {
				if strings.Contains(body, "SELECT") || strings.Contains(body, codeMari) {
					t.Errorf("response leaks internal detail: %s", body)
				}
			}
			if tc.status == 500 && !strings.Contains(e.log.String(), "web: request failed") {
				t.Error("a 500 was not logged")
			}
		})
	}
}

func TestConsentThroughPortal(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)

	page := c.get("/patient")
	if !strings.Contains(page.body, `data-state="not-granted"`) || strings.Contains(page.body, `data-state="granted"`) {
		t.Fatal("before: every algorithm should show consent not given")
	}
	if !strings.Contains(page.body, "You have no results yet") {
		t.Error("before: the no-results notice is missing")
	}
	r := c.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {c.csrf("/patient")}, "action": {"grant"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/patient?changed=pgx-cyp2c19") {
		t.Fatalf("grant = %d to %q", r.status, r.location())
	}
	page = c.get(r.location())
	for _, want := range []string{
		"Saved. You have given consent for",
		`data-state="granted"`,
		"Withdraw consent",
		"Poor Metabolizer",
		"via portal",
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after grant, /patient lacks %q", want)
		}
	}
	r = c.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {c.csrf("/patient")}, "action": {"withdraw"}})
	page = c.get(r.location())
	if !strings.Contains(page.body, "You have withdrawn consent") || strings.Contains(page.body, "Poor Metabolizer") {
		t.Error("after withdraw: flash missing or result still shown")
	}
	r = c.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {c.csrf("/patient")}, "action": {"delete"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("bad action: %d, want 400", r.status)
	}
	r = c.postForm("/patient/consents/no-such", url.Values{"csrf": {c.csrf("/patient")}, "action": {"grant"}})
	if r.status != http.StatusNotFound {
		t.Errorf("unknown algorithm: %d, want 404", r.status)
	}
	if got := e.svc.grants(person, "pgx-cyp2c19"); got != 2 {
		t.Errorf("consent events = %d, want 2", got)
	}
	// The access log shows the consent changes and the views, consent
	// changes in plain language rather than their codes.
	log := c.get("/patient/access-log")
	for _, want := range []string{"Gave consent", "Withdrew consent", "results.view", "self-access"} {
		if !strings.Contains(log.body, want) {
			t.Errorf("access log lacks %q", want)
		}
	}
	for _, code := range []string{"consent.grant", "consent.withdraw"} {
		if strings.Contains(log.body, code) {
			t.Errorf("access log shows the code %q", code)
		}
	}
}

func TestConsentThroughAPI(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	path := "/api/v1/persons/" + person + "/consents/prs-breast"

	cases := []struct {
		body    string
		status  int
		granted bool
		code    string
	}{
		{`{"action":"grant"}`, 200, true, ""},
		{`{"action":"withdraw"}`, 200, false, ""},
		{`{"action":"maybe"}`, 400, false, "invalid"},
		{`{"action":"grant","extra":1}`, 400, false, "invalid"},
		{`{"action":"grant"}{"action":"withdraw"}`, 400, false, "invalid"},
		{`not json`, 400, false, "invalid"},
	}
	for _, tc := range cases {
		r := c.postJSON(path, tc.body)
		if tc.code != "" {
			var got struct{ Error web.APIError }
			mustJSON(t, r, tc.status, &got)
			if string(got.Error.Code) != tc.code {
				t.Errorf("%s: code %q, want %q", tc.body, got.Error.Code, tc.code)
			}
			continue
		}
		var st platform.ConsentState
		mustJSON(t, r, tc.status, &st)
		if st.AlgorithmID != "prs-breast" || st.Granted != tc.granted {
			t.Errorf("%s: state %+v, want granted=%v", tc.body, st, tc.granted)
		}
	}
	var states []platform.ConsentState
	mustJSON(t, c.get("/api/v1/persons/"+person+"/consents"), 200, &states)
	var channels []string
	for _, st := range states {
		for _, ev := range st.History {
			channels = append(channels, ev.Channel+":"+string(ev.Action))
		}
	}
	if diff := cmp.Diff([]string{"api:grant", "api:withdraw"}, channels); diff != "" {
		t.Errorf("consent history (-want +got):\n%s", diff)
	}
	// Someone else's record: the service says no, the API passes it on.
	other := "/api/v1/persons/" + e.svc.pseudonym(codeJaan) + "/consents/prs-breast"
	var got struct{ Error web.APIError }
	mustJSON(t, c.postJSON(other, `{"action":"grant"}`), 403, &got)
	if got.Error.Code != "forbidden" {
		t.Errorf("other's record: %+v", got.Error)
	}
}

func TestAPIReads(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	pat.postJSON("/api/v1/persons/"+person+"/consents/pgx-cyp2c19", `{"action":"grant"}`)

	doc := e.client(t)
	doc.login(physician)
	var results []struct {
		AlgorithmID string `json:"algorithm_id"`
		Category    string `json:"category"`
	}
	mustJSON(t, doc.get("/api/v1/persons/"+person+"/results?purpose=prescribing"), 200, &results)
	if diff := cmp.Diff([]struct {
		AlgorithmID string `json:"algorithm_id"`
		Category    string `json:"category"`
	}{{"pgx-cyp2c19", "Poor Metabolizer"}}, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	var audit []platform.AuditEntry
	mustJSON(t, pat.get("/api/v1/persons/"+person+"/audit"), 200, &audit)
	var purposes []string
	for _, a := range audit {
		purposes = append(purposes, a.Action+"/"+a.Purpose)
	}
	if diff := cmp.Diff([]string{"consent.grant/consent", "results.view/prescribing"}, purposes); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// Empty lists are [] not null.
	if r := doc.get("/api/v1/persons/" + e.svc.pseudonym(codeJaan) + "/results"); strings.TrimSpace(r.body) != "[]" {
		t.Errorf("no results: body %q, want []", r.body)
	}
	// Algorithms leave the bundle files out.
	r := doc.get("/api/v1/algorithms")
	var algs []web.AlgorithmInfo
	mustJSON(t, r, 200, &algs)
	if len(algs) != 2 || algs[0].ID != "pgx-cyp2c19" || len(algs[0].Hash) != 64 || strings.Contains(r.body, "bundle") {
		t.Errorf("algorithms: %s", r.body)
	}
	var jobs platform.JobStats
	mustJSON(t, doc.get("/api/v1/jobs"), 200, &jobs)
	if jobs.Completed != 3650 {
		t.Errorf("jobs = %+v", jobs)
	}
	var gotErr struct{ Error web.APIError }
	mustJSON(t, doc.get("/api/v1/nope"), 404, &gotErr)
}

func TestPhysicianPages(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	pat.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {pat.csrf("/patient")}, "action": {"grant"}})

	doc := e.client(t)
	doc.login(physician)
	search := func(code string) *response {
		return doc.postForm("/physician/search", url.Values{"csrf": {doc.csrf("/physician")}, "code": {code}})
	}
	cases := []struct {
		code     string
		status   int
		location string
		body     string
	}{
		{codeMari, 303, "/physician/patients/" + url.PathEscape(e.svc.pseudonym(codeMari)), ""},
		{"EE" + codeJaan, 303, "/physician/patients/" + url.PathEscape(e.svc.pseudonym(codeJaan)), ""},
		{"49403136515", 400, "", "No patient with this personal code has data in geneguard."},
		{"4940313651", 400, "", "That is not a valid Estonian personal code"},
	}
	for _, tc := range cases {
		r := search(tc.code)
		if r.status != tc.status || r.location() != tc.location || !strings.Contains(r.body, tc.body) {
			t.Errorf("search %s = %d to %q, want %d to %q with %q", tc.code, r.status, r.location(), tc.status, tc.location, tc.body)
		}
	}
	page := doc.get("/physician/patients/" + e.svc.pseudonym(codeMari))
	for _, want := range []string{"Mari Maasikas", `class="category big">Poor Metabolizer`, "<details>", "Genotype details", "&#34;diplotype&#34;: &#34;*2/*2&#34;", "Intended use:"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("patient page lacks %q", want)
		}
	}
	if strings.Contains(page.body, codeMari) {
		t.Error("patient page shows the personal code")
	}
	page = doc.get("/physician/patients/" + e.svc.pseudonym(codeJaan))
	if !strings.Contains(page.body, "No results in clinical view") {
		t.Error("no-consent patient: notice missing")
	}
	if r := doc.get("/physician/patients/P-NOBODY"); r.status != 404 {
		t.Errorf("unknown patient: %d", r.status)
	}
	// The physician's view is in the patient's access log, with its purpose.
	log := pat.get("/patient/access-log")
	if !strings.Contains(log.body, "Dr Kristi Tamm") || !strings.Contains(log.body, "treatment") {
		t.Error("patient's access log does not show the physician's view")
	}
	if strings.Contains(e.log.String(), codeMari) || strings.Contains(e.log.String(), codeJaan) {
		t.Error("a personal code reached the log")
	}
}

func TestStatusPage(t *testing.T) {
	e := newEnv(t)
	r := e.client(t).get("/status")
	for _, want := range []string{`<meta http-equiv="refresh" content="5">`, "75%", "1211 still to do", "4862 in all", "<svg", `role="img"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
}

func TestRequestMeta(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login(physician)
	person := e.svc.pseudonym(codeMari)
	hdr := http.Header{
		"X-Request-Id":  {"ehr-42.a_b"},
		"X-Road-Client": {"EE/GOV/70000007/ehr"},
		"X-Road-Userid": {"EE" + codeJaan},
		"X-Road-Id":     {"msg-1"},
	}
	r := c.do("GET", "/api/v1/persons/"+person+"/results", "", nil, hdr)
	if got := r.header.Get("X-Request-Id"); got != "ehr-42.a_b" {
		t.Errorf("echoed X-Request-Id = %q", got)
	}
	want := reqmeta.Meta{RequestID: "ehr-42.a_b", XRoadClient: "EE/GOV/70000007/ehr", XRoadUserID: "EE" + codeJaan, XRoadID: "msg-1"}
	if diff := cmp.Diff(want, e.svc.lastMeta()); diff != "" {
		t.Errorf("service saw (-want +got):\n%s", diff)
	}
	// Unusable ids are replaced; hostile header values are dropped.
	for _, bad := range []string{"", "has space", "line\nbreak", strings.Repeat("x", 65), "<script>"} {
		hdr := http.Header{"X-Road-Client": {"<b>" + bad}}
		if bad != "" {
			hdr["X-Request-Id"] = []string{bad}
		}
		req, _ := http.NewRequest("GET", "/api/v1/persons/"+person+"/results", nil)
		req.Header = hdr
		for _, ck := range c.hc.Jar.Cookies(mustURL(e.srv.URL)) {
			req.AddCookie(ck)
		}
		rec := newRecorder()
		web.New(e.svc, web.Options{SessionKey: testKey, Logger: discard}).ServeHTTP(rec, req)
		id := rec.Header().Get("X-Request-Id")
		if id == "" || id == bad || len(id) > 64 {
			t.Errorf("X-Request-Id %q: answered %q, want a fresh id", bad, id)
		}
		if m := e.svc.lastMeta(); m.RequestID != id || m.XRoadClient != "" {
			t.Errorf("X-Request-Id %q: service saw %+v", bad, m)
		}
	}
	// The audit log carries the request id.
	var audit []platform.AuditEntry
	pat := e.client(t)
	pat.login("EE" + codeMari)
	mustJSON(t, pat.get("/api/v1/persons/"+person+"/audit"), 200, &audit)
	if len(audit) == 0 || audit[0].RequestID != "ehr-42.a_b" {
		t.Errorf("audit = %+v, want the first entry with request id ehr-42.a_b", audit)
	}
	if got := web.RequestIDFrom(reqmeta.With(t.Context(), reqmeta.Meta{RequestID: "x"})); got != "x" {
		t.Errorf("RequestIDFrom = %q", got)
	}
}

func TestAccessLogLine(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.do("GET", "/status?code="+codeMari, "", nil, http.Header{"X-Request-Id": {"abc"}})
	var found bool
	for line := range strings.SplitSeq(e.log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "http" {
			continue
		}
		if m["request_id"] == "abc" {
			found = true
			if m["path"] != "/status" || m["status"] != float64(200) || m["method"] != "GET" {
				t.Errorf("access log line = %v", m)
			}
		}
		if strings.Contains(line, codeMari) {
			t.Errorf("access log has the query string: %s", line)
		}
	}
	if !found {
		t.Errorf("no access log line for request abc in:\n%s", e.log.String())
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t)
	e.svc.panicIn = "JobStats"
	c := e.client(t)
	r := c.get("/status")
	if r.status != 500 || !strings.Contains(r.body, "Internal error.") || strings.Contains(r.body, "boom") {
		t.Errorf("page panic: %d %s", r.status, r.body)
	}
	c.login(physician)
	var got struct{ Error web.APIError }
	mustJSON(t, c.get("/api/v1/jobs"), 500, &got)
	if diff := cmp.Diff(web.APIError{Code: "internal", Message: "Internal error."}, got.Error); diff != "" {
		t.Errorf("API panic (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.log.String(), "fake: boom in JobStats") {
		t.Error("panic not logged")
	}
	e.svc.panicIn = ""
	if r := c.get("/status"); r.status != 200 {
		t.Errorf("after a panic the server answers %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.client(t).get("/")
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "same-origin",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestShortSessionKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with a 5-byte key did not panic")
		}
	}()
	web.New(newFakeService(), web.Options{SessionKey: []byte("short"), Logger: discard})
}
