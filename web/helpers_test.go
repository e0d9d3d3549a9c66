package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/geneguard/geneguard/web"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running web server over a fake service, with its log.
type env struct {
	svc *fakeService
	srv *httptest.Server
	log *syncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the options adjusted by adjust (may be nil).
func newEnvWith(t *testing.T, adjust func(*web.Options)) *env {
	t.Helper()
	e := &env{svc: newFakeService(), log: &syncBuffer{}}
	opts := web.Options{
		Demo:       demoIdentities,
		SessionKey: testKey,
		Logger:     slog.New(slog.NewJSONHandler(e.log, nil)),
	}
	if adjust != nil {
		adjust(&opts)
	}
	h := web.New(e.svc, opts)
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// client is one browser: its own cookie jar, redirects not followed so
// each test sees every hop.
type client struct {
	t  *testing.T
	e  *env
	hc *http.Client
}

func (e *env) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, e: e, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r *response) location() string { return r.header.Get("Location") }

func (c *client) do(method, path, contentType string, body io.Reader, hdr http.Header) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do("GET", path, "", nil, nil)
}

func (c *client) postForm(path string, form url.Values) *response {
	c.t.Helper()
	return c.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

func (c *client) postJSON(path, body string) *response {
	c.t.Helper()
	return c.do("POST", path, "application/json", strings.NewReader(body), nil)
}

// startLogin follows /login to the demo page and returns the state.
func (c *client) startLogin(next string) string {
	c.t.Helper()
	path := "/login"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	r := c.get(path)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login/demo?state=") {
		c.t.Fatalf("GET %s = %d to %q, want 303 to the demo page", path, r.status, r.location())
	}
	u, err := url.Parse(r.location())
	if err != nil {
		c.t.Fatal(err)
	}
	return u.Query().Get("state")
}

// login signs in as a listed demo identity and returns the landing page.
func (c *client) login(subject string) string {
	c.t.Helper()
	state := c.startLogin("")
	r := c.postForm("/login/callback", url.Values{"state": {state}, "pick": {subject}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("login as %s: status %d, body %s", subject, r.status, r.body)
	}
	return r.location()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page's form.
func (c *client) csrf(page string) string {
	c.t.Helper()
	r := c.get(page)
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no csrf token on %s (status %d)", page, r.status)
	}
	return m[1]
}

func mustJSON(t *testing.T, r *response, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func htmlEscape(s string) string { return template.HTMLEscapeString(s) }

func jsonB64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func jsonB64Encode(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// grants counts consent events of any kind for person and algorithm.
func (f *fakeService) grants(person, alg string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events[person+"/"+alg])
}

var discard = slog.New(slog.DiscardHandler)
