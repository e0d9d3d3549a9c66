package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/web"
)

// The OIDC tests run the real authorization-code flow against mockoidc, an
// in-process OpenID Connect provider (discovery, JWKS, authorize, token;
// it checks the PKCE verifier against the challenge), with the web layer
// over the fake service.

const (
	codeDoctor  = "37302102711" // a valid personal code, registered as a physician
	codeBadSum  = "37605030298" // check digit 8, want 9
	providerSub = "auth0|5f1c"  // a provider's opaque sub, in no staff file
)

var testStaff = map[string]web.StaffAccount{
	"EE" + codeDoctor: {Role: identity.RolePhysician, Account: physician, Name: "Dr Kristi Tamm"},
	"gov-1":           {Role: identity.RoleGovernance, Account: officer, Name: "Peeter Kask"},
}

// idpUser is a mockoidc user whose ID token claims a test may alter.
type idpUser struct {
	sub    string
	given  string
	family string
	acr    string
	tamper func(*mockoidc.IDTokenClaims)
}

func (u *idpUser) ID() string { return u.sub }

func (u *idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.sub})
}

// taraClaims is an ID token as TARA shapes it: names in profile_attributes.
type taraClaims struct {
	*mockoidc.IDTokenClaims
	ACR     string            `json:"acr,omitempty"`
	Profile map[string]string `json:"profile_attributes,omitempty"`
}

func (u *idpUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.tamper != nil {
		u.tamper(c)
	}
	tc := &taraClaims{IDTokenClaims: c, ACR: u.acr}
	if u.given != "" {
		tc.Profile = map[string]string{"given_name": u.given, "family_name": u.family, "date_of_birth": "2000-01-01"}
	}
	return tc, nil
}

// oidcEnv is the web server with a real OIDC authenticator, and its provider.
type oidcEnv struct {
	*env
	idp *mockoidc.MockOIDC

	mu         sync.Mutex
	authorized []url.Values // the query of every authorize request
}

func newOIDCEnv(t *testing.T, adjust func(*web.OIDCConfig)) *oidcEnv {
	t.Helper()
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &oidcEnv{env: &env{svc: newFakeService(), log: &syncBuffer{}}, idp: idp}
	idp.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				e.mu.Lock()
				e.authorized = append(e.authorized, r.URL.Query())
				e.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	ln := listen(t)
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })

	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	log := slog.New(slog.NewJSONHandler(e.log, nil))
	cfg := web.OIDCConfig{
		Issuer:       idp.Issuer(),
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		RedirectURL:  e.srv.URL + "/login/callback",
		Staff:        testStaff,
		Logger:       log,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	auth, err := web.NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = web.New(e.svc, web.Options{Auth: auth, SessionKey: testKey, Logger: log})
	return e
}

// signIn runs the flow as u: /login, the provider's authorize endpoint,
// then the callback. It returns the authorize query and the callback's
// response.
func (e *oidcEnv) signIn(c *client, u *idpUser) (url.Values, *response) {
	c.t.Helper()
	auth, cb := e.authorize(c, u)
	return auth, c.get(cb.RequestURI())
}

// authorize runs the flow up to the provider's redirect back, returning
// the authorize query and the callback URL (not yet visited).
func (e *oidcEnv) authorize(c *client, u *idpUser) (url.Values, *url.URL) {
	c.t.Helper()
	e.idp.QueueUser(u)
	r := c.get("/login")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), e.idp.AuthorizationEndpoint()+"?") {
		c.t.Fatalf("GET /login = %d to %q, want 303 to the provider", r.status, r.location())
	}
	resp, err := c.hc.Get(r.location())
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		c.t.Fatalf("authorize = %d", resp.StatusCode)
	}
	cb := mustURL(resp.Header.Get("Location"))
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != e.srv.URL+"/login/callback" {
		c.t.Fatalf("provider redirected to %s", got)
	}
	return mustURL(r.location()).Query(), cb
}

func TestOIDCPatient(t *testing.T) {
	e := newOIDCEnv(t, nil)
	c := e.client(t)
	auth, r := e.signIn(c, &idpUser{sub: "EE" + codeMari, given: "MARI", family: "MAASIKAS"})
	if r.status != http.StatusSeeOther || r.location() != "/patient" {
		t.Fatalf("callback = %d to %q; body %s", r.status, r.location(), r.body)
	}
	// The authorize request carried PKCE (S256) and a nonce, never the verifier.
	if auth.Get("code_challenge_method") != "S256" || len(auth.Get("code_challenge")) != 43 || auth.Get("nonce") == "" || auth.Has("code_verifier") {
		t.Errorf("authorize query lacks PKCE S256 or nonce: %v", auth)
	}
	if auth.Get("nonce") == auth.Get("state") || auth.Get("nonce") == auth.Get("code_challenge") {
		t.Error("nonce repeats another parameter")
	}
	if got := e.authorized[0].Get("redirect_uri"); got != e.srv.URL+"/login/callback" {
		t.Errorf("redirect_uri %q", got)
	}

	var me struct {
		Subject string `json:"subject"`
		Role    string `json:"role"`
		Person  string `json:"person"`
	}
	mustJSON(t, c.get("/api/v1/me"), 200, &me)
	if me.Role != "patient" || me.Person != e.svc.pseudonym(codeMari) {
		t.Errorf("me = %+v, want Mari as patient", me)
	}
	// Her own page, and her own results once she opts in.
	page := c.get("/patient")
	if page.status != 200 || !strings.Contains(page.body, "Mari Maasikas") {
		t.Fatalf("/patient = %d without her name", page.status)
	}
	if r := c.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {c.csrf("/patient")}, "action": {"grant"}}); r.status != http.StatusSeeOther {
		t.Fatalf("consent = %d: %s", r.status, r.body)
	}
	if page := c.get("/patient"); !strings.Contains(page.body, "Poor Metabolizer") {
		t.Error("her result is not on /patient after opting in")
	}
	// A patient the platform has no name for is greeted with the provider's.
	c2 := e.client(t)
	if _, r := e.signIn(c2, &idpUser{sub: "EE" + codeJaan, given: "JAAN", family: "TAMM"}); r.location() != "/patient" {
		t.Fatalf("Jaan: callback to %q", r.location())
	}
	if strings.Contains(e.log.String(), codeMari) || strings.Contains(e.log.String(), codeJaan) {
		t.Error("a personal code reached the log")
	}
	// The code is single-use: replaying the callback is refused.
	_, cb := e.authorize(c, &idpUser{sub: "EE" + codeMari})
	if r := c.get(cb.RequestURI()); r.status != http.StatusSeeOther {
		t.Fatalf("second sign-in = %d", r.status)
	}
	if r := c.get(cb.RequestURI()); r.status != http.StatusBadRequest {
		t.Errorf("replayed callback = %d, want 400 (state used up)", r.status)
	}
}

func TestOIDCStaffRoles(t *testing.T) {
	e := newOIDCEnv(t, nil)
	doc := e.client(t)
	// The physician's sub is a valid personal code too: the staff file wins.
	if _, r := e.signIn(doc, &idpUser{sub: "EE" + codeDoctor}); r.status != http.StatusSeeOther || r.location() != "/physician" {
		t.Fatalf("physician: callback = %d to %q; %s", r.status, r.location(), r.body)
	}
	var me struct {
		Subject string `json:"subject"`
		Role    string `json:"role"`
		Name    string `json:"name"`
	}
	mustJSON(t, doc.get("/api/v1/me"), 200, &me)
	if me.Role != "physician" || me.Subject != physician {
		t.Errorf("me = %+v, want the physician account %s", me, physician)
	}
	if r := doc.get("/physician"); r.status != 200 || !strings.Contains(r.body, "Dr Kristi Tamm") {
		t.Errorf("/physician = %d", r.status)
	}
	gov := e.client(t)
	if _, r := e.signIn(gov, &idpUser{sub: "gov-1"}); r.status != http.StatusSeeOther {
		t.Fatalf("governance: callback = %d; %s", r.status, r.body)
	}
	mustJSON(t, gov.get("/api/v1/me"), 200, &me)
	if me.Role != "governance" || me.Subject != officer {
		t.Errorf("me = %+v, want the governance account %s", me, officer)
	}
	if strings.Contains(e.log.String(), codeDoctor) {
		t.Error("the physician's personal code reached the log")
	}
}

func TestOIDCRefusedSubjects(t *testing.T) {
	e := newOIDCEnv(t, nil)
	for _, tc := range []struct{ name, sub, msg string }{
		{"invalid personal code", "EE" + codeBadSum, "personal code that is not valid"},
		{"bare code", codeMari, "does not know the account"},
		{"foreign eIDAS", "CV1234567", "does not know the account"},
		{"unlisted staff", providerSub, "does not know the account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t)
			_, r := e.signIn(c, &idpUser{sub: tc.sub})
			if r.status != http.StatusForbidden || !strings.Contains(r.body, tc.msg) {
				t.Errorf("callback = %d, want 403 with %q; body %s", r.status, tc.msg, r.body)
			}
			if strings.Contains(r.body, tc.sub) {
				t.Error("the page repeats the sub claim")
			}
			if r := c.get("/api/v1/me"); r.status != http.StatusUnauthorized {
				t.Errorf("after refusal /api/v1/me = %d, want 401", r.status)
			}
		})
	}
	if strings.Contains(e.log.String(), codeBadSum) {
		t.Error("a personal code reached the log")
	}
	if !strings.Contains(e.log.String(), `"reason":"invalid personal code"`) {
		t.Errorf("refusal not logged:\n%s", e.log.String())
	}
}

func TestOIDCTokenChecks(t *testing.T) {
	e := newOIDCEnv(t, nil)
	for _, tc := range []struct {
		name   string
		tamper func(*mockoidc.IDTokenClaims)
		log    string
	}{
		{"wrong nonce", func(c *mockoidc.IDTokenClaims) { c.Nonce = "not-this-sign-in" }, "nonce"},
		{"no nonce", func(c *mockoidc.IDTokenClaims) { c.Nonce = "" }, "nonce"},
		{"wrong audience", func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }, "audience"},
		{"expired", func(c *mockoidc.IDTokenClaims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		}, "expired"},
		{"wrong issuer", func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://tara.ria.ee" }, "different provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := len(e.log.String())
			c := e.client(t)
			_, r := e.signIn(c, &idpUser{sub: "EE" + codeMari, tamper: tc.tamper})
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "could not be verified") {
				t.Errorf("callback = %d, want 403 could not be verified; body %s", r.status, r.body)
			}
			if r := c.get("/api/v1/me"); r.status != http.StatusUnauthorized {
				t.Errorf("after refusal /api/v1/me = %d, want 401", r.status)
			}
			if log := e.log.String()[mark:]; !strings.Contains(log, "oidc: sign-in refused") || !strings.Contains(log, tc.log) {
				t.Errorf("refusal not logged with %q:\n%s", tc.log, log)
			}
		})
	}
}

// TestOIDCBrowserBinding: the callback is accepted only in the browser
// that started the sign-in, and only with that sign-in's code.
func TestOIDCBrowserBinding(t *testing.T) {
	e := newOIDCEnv(t, nil)
	victim, attacker := e.client(t), e.client(t)

	// State mismatch: the same code with a state this browser never had.
	_, cb := e.authorize(victim, &idpUser{sub: "EE" + codeMari})
	q := cb.Query()
	q.Set("state", "forged-state")
	if r := victim.get("/login/callback?" + q.Encode()); r.status != http.StatusBadRequest || !strings.Contains(r.body, "started in another browser") {
		t.Errorf("forged state = %d; %s", r.status, r.body)
	}
	// Login CSRF: the attacker's own callback URL opened in the victim's browser.
	_, acb := e.authorize(attacker, &idpUser{sub: "EE" + codeJaan})
	if r := victim.get(acb.RequestURI()); r.status != http.StatusBadRequest {
		t.Errorf("another browser's callback = %d, want 400", r.status)
	}
	// Code injection: the attacker's code with the victim's own state.
	// The victim's PKCE verifier does not match the attacker's challenge.
	_, vcb := e.authorize(victim, &idpUser{sub: "EE" + codeMari})
	_, acb = e.authorize(attacker, &idpUser{sub: "EE" + codeJaan})
	inj := vcb.Query()
	inj.Set("code", acb.Query().Get("code"))
	if r := victim.get("/login/callback?" + inj.Encode()); r.status != http.StatusForbidden {
		t.Errorf("injected code = %d, want 403; %s", r.status, r.body)
	}
	if r := victim.get("/api/v1/me"); r.status != http.StatusUnauthorized {
		t.Errorf("victim signed in after injection: %d", r.status)
	}
	if !strings.Contains(e.log.String(), "token exchange refused") {
		t.Errorf("injection not logged:\n%s", e.log.String())
	}
}

func TestOIDCProviderError(t *testing.T) {
	e := newOIDCEnv(t, nil)
	c := e.client(t)
	_, cb := e.authorize(c, &idpUser{sub: "EE" + codeMari})
	q := url.Values{"state": {cb.Query().Get("state")}, "error": {"user_cancel"}, "error_description": {"<b>cancelled</b>"}}
	r := c.get("/login/callback?" + q.Encode())
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "cancelled or refused at the identity provider (user_cancel)") || strings.Contains(r.body, "<b>") {
		t.Errorf("provider error = %d; %s", r.status, r.body)
	}
	// RFC 9207: an answer naming another issuer is refused.
	_, cb = e.authorize(c, &idpUser{sub: "EE" + codeMari})
	q = cb.Query()
	q.Set("iss", "https://evil.example")
	if r := c.get("/login/callback?" + q.Encode()); r.status != http.StatusForbidden {
		t.Errorf("foreign iss = %d, want 403", r.status)
	}
}

func TestOIDCACR(t *testing.T) {
	e := newOIDCEnv(t, func(c *web.OIDCConfig) { c.ACR = "substantial" })
	for _, tc := range []struct {
		acr    string
		status int
	}{{"high", 303}, {"substantial", 303}, {"low", 403}, {"", 403}} {
		c := e.client(t)
		auth, r := e.signIn(c, &idpUser{sub: "EE" + codeMari, acr: tc.acr})
		if auth.Get("acr_values") != "substantial" {
			t.Errorf("acr_values = %q", auth.Get("acr_values"))
		}
		if r.status != tc.status {
			t.Errorf("acr %q: callback = %d, want %d", tc.acr, r.status, tc.status)
		}
		if tc.status == 403 && !strings.Contains(r.body, "not strong enough") {
			t.Errorf("acr %q: body %s", tc.acr, r.body)
		}
	}
}

func TestOIDCDiscovery(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	base := web.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: "https://geneguard.example/login/callback"}
	if _, err := web.NewOIDC(context.Background(), base); err != nil {
		t.Fatalf("good configuration: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, tc := range []struct {
		name   string
		adjust func(*web.OIDCConfig)
		want   string
	}{
		{"unreachable", func(c *web.OIDCConfig) { c.Issuer = dead.URL }, dead.URL + "/.well-known/openid-configuration"},
		{"no discovery document", func(c *web.OIDCConfig) { c.Issuer = idp.Addr() + "/nothing" }, "404"},
		{"issuer mismatch", func(c *web.OIDCConfig) { c.Issuer = idp.Issuer() + "/" }, "did not match"},
		{"redirect not the callback", func(c *web.OIDCConfig) { c.RedirectURL = "https://geneguard.example/" }, "/login/callback"},
		{"relative redirect", func(c *web.OIDCConfig) { c.RedirectURL = "/login/callback" }, "absolute"},
		{"no client id", func(c *web.OIDCConfig) { c.ClientID = "" }, "client id"},
		{"operator staff", func(c *web.OIDCConfig) {
			c.Staff = map[string]web.StaffAccount{"x": {Role: identity.RoleOperator, Account: "op"}}
		}, "want physician or governance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.adjust(&cfg)
			_, err := web.NewOIDC(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseStaff(t *testing.T) {
	good := "# sub\trole\taccount\tname\n\nEE37302102711\tphysician\tdr-tamm\tDr Kristi Tamm\r\ngov-1\tgovernance\tgov-kask\n"
	staff, err := web.ParseStaff(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]web.StaffAccount{
		"EE37302102711": {Role: identity.RolePhysician, Account: "dr-tamm", Name: "Dr Kristi Tamm"},
		"gov-1":         {Role: identity.RoleGovernance, Account: "gov-kask", Name: "gov-kask"},
	}
	if len(staff) != len(want) || staff["EE37302102711"] != want["EE37302102711"] || staff["gov-1"] != want["gov-1"] {
		t.Errorf("staff = %+v", staff)
	}
	for _, tc := range []struct{ in, want string }{
		{"EE1 physician dr-tamm\n", "line 1: want sub<TAB>role<TAB>account"},
		{"# x\nEE1\tpatient\tme\n", "line 2: role \"patient\""},
		{"EE1\toperator\tops\n", "want physician or governance"},
		{"EE1\tphysician\t\n", "want one word"},
		{"EE1\tphysician\tEE37302102711\n", "personal code"},
		{"\tphysician\tdr\n", "empty sub"},
		{"a\tphysician\tdr\na\tgovernance\tgov\n", "line 2: sub listed twice"},
	} {
		if _, err := web.ParseStaff(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestOIDCSecureCookies: an https redirect URL means the site is reached
// over TLS, so the cookies are Secure even without Options.SecureCookies.
func TestOIDCSecureCookies(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	for _, tc := range []struct {
		redirect string
		secure   bool
	}{{"https://geneguard.example/login/callback", true}, {"http://127.0.0.1:8080/login/callback", false}} {
		auth, err := web.NewOIDC(context.Background(), web.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: tc.redirect})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		web.New(newFakeService(), web.Options{Auth: auth, SessionKey: testKey, Logger: discard}).ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Secure != tc.secure {
			t.Errorf("%s: cookies %v, want one with Secure=%v", tc.redirect, cookies, tc.secure)
		}
	}
}
