package web_test

import (
	"strings"
	"testing"

	"github.com/geneguard/geneguard/platform"
)

// TestAccessLogPlainLanguage: the patient's access log says what happened
// in words, not action codes; refused attempts are announced, marked and
// shown with their reason.
func TestAccessLogPlainLanguage(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	person := e.svc.pseudonym(codeMari)
	other := e.svc.pseudonym(codeJaan)
	at := e.svc.now
	e.svc.mu.Lock()
	for i, a := range []platform.AuditEntry{
		{Actor: "geneguard", Role: "system", Action: "run", Object: "pgx-cyp2c19@1.0.0", Purpose: "consent"},
		{Actor: "dr-tamm", Role: "physician", Action: "view", Object: "results", Purpose: "treatment"},
		{Actor: "dr-tamm", Role: "physician", Action: "break-glass", Object: "results", Purpose: "emergency", Reason: "Unconscious."},
		{Actor: person, Role: "patient", Action: "consent.grant", Object: "pgx-cyp2c19", Purpose: "consent"},
		{Actor: person, Role: "patient", Action: "consent.withdraw", Object: "pgx-cyp2c19", Purpose: "consent"},
		{Actor: person, Role: "patient", Action: "login", Object: "portal"},
		{Actor: person, Role: "patient", Action: "logout", Object: "portal"},
		{Actor: other, Role: "patient", Action: "view.refused", Object: "results", Reason: "you may not read this person's record"},
		{Actor: "unknown", Action: "login.refused", Object: "portal", Reason: "acr too low"},
		{Actor: "gov-kask", Role: "governance", Action: "consent.refused", Object: "pgx-cyp2c19", Reason: "only the person themself can give or withdraw consent"},
	} {
		a.Seq, a.Time, a.Person = uint64(100+i), at, person
		e.svc.audit = append(e.svc.audit, a)
	}
	e.svc.mu.Unlock()
	log := pat.get("/patient/access-log")
	for _, want := range []string{
		"Computed your result for pgx-cyp2c19", "Viewed your results", "Emergency access to your results",
		"Gave consent", "Withdrew consent", "Signed in", "Signed out",
		"Tried to view your results — refused", "Sign-in refused", "Tried to change your consent — refused",
		"3 attempts to sign in as you or to see or change your data were refused",
		"you may not read this person&#39;s record", "acr too low", "Someone not signed in", `class="refused"`,
	} {
		if !strings.Contains(log.body, want) {
			t.Errorf("access log lacks %q", want)
		}
	}
	for _, code := range []string{">run<", ">view<", "view.refused", "login.refused", "consent.refused", ">logout<", ">login<"} {
		if strings.Contains(log.body, code) {
			t.Errorf("access log shows the code %q", code)
		}
	}
}
