package web_test

import (
	"strings"
	"testing"

	"github.com/geneguard/geneguard/web"
)

// TestOIDCRefusalsAudited: every refused OIDC sign-in is recorded as
// login.refused with the reason, never with the sub claim; one where the
// provider vouched for a patient at too low a level is filed under that
// patient's pseudonym, so it is in their access log.
func TestOIDCRefusalsAudited(t *testing.T) {
	e := newOIDCEnv(t, func(c *web.OIDCConfig) { c.ACR = "substantial" })
	for _, u := range []*idpUser{
		{sub: "EE" + codeBadSum, acr: "high"},
		{sub: "CV1234567", acr: "high"},
		{sub: "EE" + codeMari, acr: "low"},
	} {
		c := e.client(t)
		if _, r := e.signIn(c, u); r.status != 403 {
			t.Fatalf("sub %s: callback %d, want 403", u.sub, r.status)
		}
	}
	var got []string
	for _, a := range e.svc.auditEntries() {
		if a.Action != "login.refused" {
			continue
		}
		got = append(got, a.Reason+"/"+a.Person)
		for _, sub := range []string{codeBadSum, "CV1234567", codeMari} {
			if strings.Contains(a.Reason, sub) || strings.Contains(a.Actor, sub) {
				t.Errorf("refusal records the sub: %+v", a)
			}
		}
	}
	want := []string{
		"invalid personal code/",
		"subject is neither staff nor an Estonian personal code/",
		"acr too low/" + e.svc.pseudonym(codeMari),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refusals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
