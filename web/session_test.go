package web_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/web"
)

// sessionCookie returns the browser's gg_session value ("" if none).
func (c *client) sessionCookie() string {
	for _, ck := range c.hc.Jar.Cookies(mustURL(c.e.srv.URL)) {
		if ck.Name == "gg_session" {
			return ck.Value
		}
	}
	return ""
}

// withCookie is a fresh browser holding only the session cookie val.
func (e *env) withCookie(t *testing.T, val string) *client {
	c := e.client(t)
	c.hc.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "gg_session", Value: val}})
	return c
}

// TestLogoutRevokes: signing out ends the session on the server, so a copy
// of the cookie taken before (another tab, a stolen copy) is worthless
// afterwards; the sign-out is recorded.
func TestLogoutRevokes(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	stolen := c.sessionCookie()
	if r := e.withCookie(t, stolen).get("/api/v1/me"); r.status != http.StatusOK {
		t.Fatalf("copied cookie before sign-out: %d, want 200", r.status)
	}
	if r := c.postForm("/logout", url.Values{"csrf": {c.csrf("/patient")}}); r.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.status)
	}
	if r := e.withCookie(t, stolen).get("/api/v1/me"); r.status != http.StatusUnauthorized {
		t.Errorf("copied cookie after sign-out: %d, want 401", r.status)
	}
	if r := e.withCookie(t, stolen).get("/patient"); r.status != http.StatusSeeOther {
		t.Errorf("copied cookie after sign-out, page: %d, want a redirect to sign in", r.status)
	}
	var logout bool
	for _, a := range e.svc.auditEntries() {
		if a.Action == "logout" && a.Person == e.svc.pseudonym(codeMari) {
			logout = true
		}
	}
	if !logout {
		t.Errorf("no logout entry for the patient; audit: %v", e.svc.auditActions())
	}
	// Signing in again starts a new session under a new token.
	c.login("EE" + codeMari)
	if v := c.sessionCookie(); v == "" || v == stolen {
		t.Errorf("new sign-in reused the old token")
	}
}

// TestSignInReplacesSession: signing in again ends the browser's previous
// session (no fixation, no orphaned session behind the new one).
func TestSignInReplacesSession(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	first := c.sessionCookie()
	c.login(physician)
	if r := e.withCookie(t, first).get("/api/v1/me"); r.status != http.StatusUnauthorized {
		t.Errorf("the replaced session still works: %d", r.status)
	}
	if r := c.get("/api/v1/me"); r.status != http.StatusOK || !strings.Contains(r.body, `"role": "physician"`) {
		t.Errorf("the new session: %d %s", r.status, r.body)
	}
}

// TestSessionIdleTimeout: a session unused for the idle time is over;
// one in use is kept alive.
func TestSessionIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	e := newEnvWith(t, func(o *web.Options) { o.SessionIdle = idle })
	c := e.client(t)
	c.login(physician)
	for i := 0; i < 4; i++ { // 4 × idle/2: longer than idle in all, but never idle
		time.Sleep(idle / 2)
		if r := c.get("/api/v1/me"); r.status != http.StatusOK {
			t.Fatalf("request %d, %v after the last: %d, want 200", i+1, idle/2, r.status)
		}
	}
	time.Sleep(idle + idle/4)
	if r := c.get("/api/v1/me"); r.status != http.StatusUnauthorized {
		t.Errorf("after %v idle: %d, want 401", idle+idle/4, r.status)
	}
}

// TestSessionAbsoluteTimeout: however busy, a session ends after its TTL.
func TestSessionAbsoluteTimeout(t *testing.T) {
	const ttl = 600 * time.Millisecond
	e := newEnvWith(t, func(o *web.Options) { o.SessionTTL = ttl; o.SessionIdle = time.Hour })
	c := e.client(t)
	c.login(physician)
	deadline := time.Now().Add(ttl)
	for time.Now().Add(100 * time.Millisecond).Before(deadline) {
		if r := c.get("/api/v1/me"); r.status != http.StatusOK {
			t.Fatalf("within the TTL: %d, want 200", r.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Until(deadline) + 50*time.Millisecond)
	// The cookie's Max-Age has passed too; send it anyway, as a stolen
	// copy would be.
	if r := e.withCookie(t, c.sessionCookie()).get("/api/v1/me"); r.status != http.StatusUnauthorized {
		t.Errorf("after the TTL: %d, want 401", r.status)
	}
}

// TestSessionCookieSecureOverTLS: a request that came over TLS gets a
// Secure cookie even without Options.SecureCookies.
func TestSessionCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t)
	h := web.New(e.svc, web.Options{SessionKey: testKey, Demo: demoIdentities, Logger: discard})
	for _, overTLS := range []bool{false, true} {
		req := httptest.NewRequest("GET", "/login", nil)
		if overTLS {
			req.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Secure != overTLS || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
			t.Errorf("TLS %v: cookies %+v, want one HttpOnly, SameSite=Lax, Secure=%v", overTLS, cookies, overTLS)
		}
	}
}

// TestRefusedSignInsAudited: a sign-in refused at the callback is recorded
// as login.refused with its reason — nothing identifying from the form.
func TestRefusedSignInsAudited(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	state := c.startLogin("")
	c.postForm("/login/callback", url.Values{"state": {state}, "code": {"60001019907"}}) // bad check digit
	c.postForm("/login/callback", url.Values{"state": {state}, "pick": {"dr-evil"}})
	c.postForm("/login/callback", url.Values{"state": {"forged"}, "pick": {physician}})
	var reasons []string
	for _, a := range e.svc.auditEntries() {
		if a.Action != "login.refused" {
			continue
		}
		reasons = append(reasons, a.Reason)
		if a.Person != "" || strings.Contains(a.Reason, "6000101990") || strings.Contains(a.Actor, "dr-evil") {
			t.Errorf("refusal records what the form said: %+v", a)
		}
	}
	want := []string{"not a valid personal code", "demo identity not on the list", "sign-in state missing, expired or from another browser"}
	if !slices.Equal(reasons, want) {
		t.Errorf("refusal reasons %q, want %q", reasons, want)
	}
}
