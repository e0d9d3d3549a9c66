package web_test

import (
	"html/template"
	"net/url"
	"strings"
	"testing"
)

// TestResultCaveatsShown: what a PGx call's data could not show (a missing
// *17 position) is on the patient's own page and the physician's clinical
// view, next to the summary, not only in the genotype details.
func TestResultCaveatsShown(t *testing.T) {
	e := newEnv(t)
	pat := e.client(t)
	pat.login("EE" + codeMari)
	pat.postForm("/patient/consents/pgx-cyp2c19", url.Values{"csrf": {pat.csrf("/patient")}, "action": {"grant"}})
	want := `<ul class="caveats" role="note"><li><strong>Caution:</strong> ` + template.HTMLEscapeString(cannedCaveat) + `</li></ul>`
	if page := pat.get("/patient"); !strings.Contains(page.body, want) {
		t.Errorf("patient page lacks the caveat %q", want)
	}
	doc := e.client(t)
	doc.login(physician)
	if page := doc.get("/physician/patients/" + e.svc.pseudonym(codeMari)); !strings.Contains(page.body, want) {
		t.Errorf("physician's clinical view lacks the caveat %q", want)
	}
}
