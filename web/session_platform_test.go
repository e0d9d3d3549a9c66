package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/web"
)

// TestSessionsInDatabase runs two servers (replicas) over one platform
// and database: a session started on one works on the other, the table
// holds nothing that names the person, signing out on one ends the
// session on both, and sign-in, sign-out and a refused view are in the
// patient's access log in plain language.
func TestSessionsInDatabase(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := testenv.NewWorld(t, b.DSN(t))
			people := demo.Cohort(2)
			w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
			alice, bob := people[0], people[1]
			replica := func() *env {
				e := &env{log: &syncBuffer{}}
				e.srv = httptest.NewServer(web.New(w.Service, web.Options{
					SessionKey: testKey, Logger: discard,
					Demo: []web.DemoIdentity{
						{Subject: "EE" + string(alice.Code), Role: identity.RolePatient, Label: "Alice"},
						{Subject: "EE" + string(bob.Code), Role: identity.RolePatient, Label: "Bob"},
					},
				}))
				t.Cleanup(e.srv.Close)
				return e
			}
			a, b2 := replica(), replica()

			c := a.client(t)
			c.login("EE" + string(alice.Code))
			tok := c.sessionCookie()
			if r := b2.withCookie(t, tok).get("/api/v1/me"); r.status != http.StatusOK {
				t.Fatalf("the session on the other replica: %d", r.status)
			}
			// The stored row names no one.
			var data []byte
			var id string
			if err := w.Store.DB().QueryRowContext(context.Background(), `SELECT id, data FROM web_sessions`).Scan(&id, &data); err != nil {
				t.Fatal(err)
			}
			pseudonym := w.Pseudo.Pseudonym(alice.Code)
			for _, secret := range []string{string(alice.Code), pseudonym, alice.Name, tok} {
				if secret != "" && (strings.Contains(string(data), secret) || strings.Contains(id, secret)) {
					t.Errorf("the session row holds %q", secret)
				}
			}

			// Bob is refused Alice's results.
			bc := b2.client(t)
			bc.login("EE" + string(bob.Code))
			if r := bc.get("/api/v1/persons/" + pseudonym + "/results"); r.status != http.StatusForbidden {
				t.Errorf("bob reading alice's results: %d, want 403", r.status)
			}

			// Sign out on the other replica: dead on both.
			other := b2.withCookie(t, tok)
			if r := other.postForm("/logout", url.Values{"csrf": {other.csrf("/patient")}}); r.status != http.StatusSeeOther {
				t.Fatalf("logout: %d", r.status)
			}
			for name, e := range map[string]*env{"first": a, "second": b2} {
				if r := e.withCookie(t, tok).get("/api/v1/me"); r.status != http.StatusUnauthorized {
					t.Errorf("after sign-out, %s replica: %d, want 401", name, r.status)
				}
			}
			if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM web_sessions`); n != 1 {
				t.Errorf("%d stored sessions, want 1 (bob's)", n)
			}

			// Alice's access log says it all in words.
			c = a.client(t)
			c.login("EE" + string(alice.Code))
			log := c.get("/patient/access-log")
			for _, want := range []string{"Signed in", "Signed out", "Tried to view your results — refused", "you may not read this person&#39;s record"} {
				if !strings.Contains(log.body, want) {
					t.Errorf("alice's access log lacks %q", want)
				}
			}
		})
	}
}
