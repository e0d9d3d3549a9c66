package web_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web"
)

// oidcLike stands in for a TARA/go-oidc authenticator: it sends the
// browser away and takes the answer back by GET, as an OIDC provider does.
type oidcLike struct{}

func (oidcLike) LoginURL(state string) string {
	return "https://tara.example/authorize?state=" + url.QueryEscape(state)
}

func (oidcLike) Callback(r *http.Request) (web.Login, error) {
	switch r.FormValue("code") {
	case "good":
		return web.Login{Subject: "EE" + codeMari, Role: identity.RolePatient}, nil
	case "denied":
		return web.Login{}, &platform.Error{Code: platform.CodeInvalid, Message: "You cancelled the sign-in."}
	}
	return web.Login{}, errors.New("oidc: id token signature invalid: kid k1 at https://tara.example/jwks")
}

func TestAuthenticatorSeam(t *testing.T) {
	cases := []struct {
		code     string
		status   int
		location string
		body     string
	}{
		{"good", 303, "/patient", ""},
		{"denied", 400, "", "You cancelled the sign-in."},
		{"forged", 500, "", "Internal error."},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			e := &env{svc: newFakeService(), log: &syncBuffer{}}
			e.srv = httptest.NewServer(web.New(e.svc, web.Options{
				Auth: oidcLike{}, SessionKey: testKey, Logger: slog.New(slog.NewJSONHandler(e.log, nil)),
			}))
			t.Cleanup(e.srv.Close)
			c := e.client(t)
			r := c.get("/login")
			if r.status != 303 || !strings.HasPrefix(r.location(), "https://tara.example/authorize?state=") {
				t.Fatalf("GET /login = %d to %q", r.status, r.location())
			}
			state := mustURL(r.location()).Query().Get("state")
			if r := c.get("/login/demo?state=" + state); r.status != 404 {
				t.Errorf("demo page with a real authenticator: %d, want 404", r.status)
			}
			r = c.get("/login/callback?code=" + tc.code + "&state=" + url.QueryEscape(state))
			if r.status != tc.status || r.location() != tc.location || !strings.Contains(r.body, tc.body) {
				t.Errorf("callback = %d to %q, want %d to %q with %q", r.status, r.location(), tc.status, tc.location, tc.body)
			}
			if strings.Contains(r.body, "jwks") {
				t.Error("provider detail leaked to the user")
			}
			if tc.status == 500 && !strings.Contains(e.log.String(), "jwks") {
				t.Error("provider failure not logged")
			}
		})
	}
}
