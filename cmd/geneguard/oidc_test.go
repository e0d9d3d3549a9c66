package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestServeOIDC runs `geneguard serve` with OIDC sign-in against an
// in-process provider (mockoidc) over the demo database: a patient signs
// in by TARA-style sub and lands on her own results, a physician from the
// staff file lands on the physician page, both sign-ins are in the audit
// log, and an invalid personal code gets a 403 page.
func TestServeOIDC(t *testing.T) {
	data := t.TempDir()
	if code, _, stderr := runCommand("demo", "--data", data, "--persons", "12", "--once"); code != 0 {
		t.Fatalf("demo: exit %d; %s", code, stderr)
	}
	mari := demo.Cohort(12)[0] // opted in to everything
	const doctorCode = "37302102711"

	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	secret := filepath.Join(t.TempDir(), "secret")
	staff := filepath.Join(t.TempDir(), "staff.tsv")
	writeFile(t, secret, idp.ClientSecret+"\n")
	writeFile(t, staff, "# sub\trole\taccount\tname\nEE"+doctorCode+"\tphysician\tdr-saar\tDr Liis Saar\n")

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--addr", addr, "--workers", "0",
			"--oidc-issuer", idp.Issuer(), "--oidc-client-id", idp.ClientID, "--oidc-client-secret-file", secret,
			"--oidc-redirect-url", "http://" + addr + "/login/callback", "--oidc-roles", staff}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d; %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	waitFor(t, "serve to listen", 20*time.Second, func() (bool, string) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d; %s", code, errb.String())
		default:
		}
		return strings.Contains(out.String(), "geneguard serving on"), errb.String()
	})
	base := "http://" + addr

	// signIn runs the flow for sub in a fresh browser and returns it with
	// the callback's response.
	signIn := func(sub string) (*http.Client, *http.Response, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		idp.QueueUser(&mockoidc.MockUser{Subject: sub})
		loc := base + "/login"
		var resp *http.Response
		var body string
		for hop := 0; hop < 3; hop++ { // /login → provider → /login/callback
			resp, body = get(t, c, loc)
			loc = resp.Header.Get("Location")
		}
		return c, resp, body
	}

	c, resp, _ := signIn("EE" + string(mari.Code))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/patient" {
		t.Fatalf("patient callback = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page := get(t, c, base+"/patient"); !strings.Contains(page, mari.Name) || !strings.Contains(page, "Metabolizer") {
		t.Errorf("/patient lacks %s's name or her CYP2C19 result", mari.Name)
	}
	c, resp, _ = signIn("EE" + doctorCode)
	if resp.Header.Get("Location") != "/physician" {
		t.Fatalf("physician callback = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page := get(t, c, base+"/physician"); !strings.Contains(page, "Dr Liis Saar") {
		t.Error("/physician does not greet the physician by the staff file's name")
	}
	_, resp, body := signIn("EE37605030298")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid") {
		t.Errorf("invalid personal code: %d", resp.StatusCode)
	}

	// The sign-ins are audited as the demo login's are: the patient under
	// her pseudonym (in her own access log), the physician under the staff
	// account, never under a personal code.
	key, err := loadKey(data, "pseudonym.key", "GENEGUARD_PSEUDONYM_KEY")
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := identity.NewPseudonymizer(key)
	c, _, _ = signIn("EE" + string(mari.Code))
	var trail []struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
	}
	_, body = get(t, c, base+"/api/v1/persons/"+ps.Pseudonym(mari.Code)+"/audit")
	if err := json.Unmarshal([]byte(body), &trail); err != nil {
		t.Fatalf("audit trail: %v: %s", err, body)
	}
	logins := 0
	for _, e := range trail {
		if e.Action == "login" && e.Actor == ps.Pseudonym(mari.Code) {
			logins++
		}
	}
	if logins < 3 { // the demo's sign-in to give consent, then two of ours
		t.Errorf("%d patient sign-ins in her access log, want at least 3: %s", logins, body)
	}
	st := testenv.OpenStore(t, filepath.Join(data, "geneguard.db"))
	waitFor(t, "the physician's sign-in in the audit log", 10*time.Second, func() (bool, string) {
		n := testenv.Count(t, st, `SELECT COUNT(*) FROM audit_events WHERE action = 'login' AND CAST(canonical AS TEXT) LIKE '%"actor":"dr-saar"%'`)
		return n == 1, fmt.Sprintf("%d events", n)
	})
	if n := testenv.Count(t, st, `SELECT COUNT(*) FROM audit_events WHERE CAST(canonical AS TEXT) LIKE ?`, "%"+doctorCode+"%"); n != 0 {
		t.Errorf("%d audit events name the physician's personal code", n)
	}
}

func TestServeSignInFlags(t *testing.T) {
	dead := freeAddr(t)
	secret := filepath.Join(t.TempDir(), "secret")
	writeFile(t, secret, "s3cret\n")
	oidc := func(extra ...string) []string {
		return append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0",
			"--oidc-issuer", "http://" + dead + "/oidc", "--oidc-client-id", "geneguard",
			"--oidc-redirect-url", "https://geneguard.example/login/callback"}, extra...)
	}
	t.Setenv(oidcSecretEnv, "")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing", []string{"serve", "--data", t.TempDir()}, 2, "--oidc-issuer"},
		{"half", []string{"serve", "--data", t.TempDir(), "--oidc-issuer", "https://tara.ria.ee"}, 2, "also needs --oidc-client-id and --oidc-redirect-url"},
		{"both", append(oidc("--oidc-client-secret-file", secret), "--demo-login"), 2, "exclude each other"},
		{"no secret", oidc(), 2, oidcSecretEnv},
		{"unreadable staff file", oidc("--oidc-client-secret-file", secret, "--oidc-roles", "/nonexistent/staff.tsv"), 1, "oidc roles"},
		{"unreachable issuer", oidc("--oidc-client-secret-file", secret), 1, "http://" + dead + "/oidc/.well-known/openid-configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a local address nothing listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	if _, err := url.Parse(u); err != nil || u == "" {
		t.Fatalf("bad URL %q", u)
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	io.Copy(&b, resp.Body)
	return resp, b.String()
}
