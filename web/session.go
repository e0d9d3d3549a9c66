package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/geneguard/geneguard/identity"
)

const (
	sessionCookie = "gg_session"
	loginCookie   = "gg_login"
	loginTTL      = 10 * time.Minute
)

var errBadCookie = errors.New("web: cookie missing, tampered with or expired")

// sessions keeps the signed-in principal in a cookie signed with HMAC-SHA256,
// so any replica holding the key can serve any request without a session
// store. The cookie is signed, not encrypted: it holds nothing the user
// does not already know about themselves (their own name, role, pseudonym).
type sessions struct {
	key    []byte
	ttl    time.Duration
	secure bool
}

// session is the cookie payload. SID is random per sign-in: the CSRF token
// is derived from it, so a token dies with its session.
type session struct {
	Subject string        `json:"sub"`
	Role    identity.Role `json:"role"`
	Person  string        `json:"person,omitempty"`
	Name    string        `json:"name,omitempty"`
	SID     string        `json:"sid"`
	Expires int64         `json:"exp"`
}

func (s *session) principal() identity.Principal {
	return identity.Principal{Subject: s.Subject, Name: s.Name, Role: s.Role, Person: s.Person}
}

// loginState binds a sign-in to the browser that started it: the state
// value must come back from the identity provider (or the demo form)
// matching the cookie, which defeats login CSRF.
type loginState struct {
	State   string `json:"state"`
	Next    string `json:"next,omitempty"`
	Expires int64  `json:"exp"`
}

// seal signs v. purpose separates cookie kinds, so a login-state cookie
// can never be replayed as a session.
func (s *sessions) seal(purpose string, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs only
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload))
}

func (s *sessions) open(purpose, value string, v any) error {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return errBadCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return errBadCookie
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadCookie
	}
	return nil
}

func (s *sessions) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// get returns the session of r, or errBadCookie.
func (s *sessions) get(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errBadCookie
	}
	var sess session
	if err := s.open("session", c.Value, &sess); err != nil {
		return nil, err
	}
	if time.Now().Unix() >= sess.Expires || sess.Subject == "" || sess.SID == "" {
		return nil, errBadCookie
	}
	return &sess, nil
}

// start issues a new session for p with a fresh SID (no fixation).
func (s *sessions) start(w http.ResponseWriter, p identity.Principal) {
	sess := session{
		Subject: p.Subject, Role: p.Role, Person: p.Person, Name: p.Name,
		SID:     rand.Text(),
		Expires: time.Now().Add(s.ttl).Unix(),
	}
	http.SetCookie(w, s.cookie(sessionCookie, "/", s.seal("session", sess), int(s.ttl/time.Second)))
}

func (s *sessions) end(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie(sessionCookie, "/", "", -1))
}

// csrfToken is the token every POST form of this session must carry. It
// is an HMAC of the session id, so it needs no storage.
func (s *sessions) csrfToken(sess *session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.SID))
}

func (s *sessions) checkCSRF(sess *session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && token != "" && hmac.Equal(got, s.mac("csrf", sess.SID))
}

func (s *sessions) startLogin(w http.ResponseWriter, next string) string {
	st := loginState{State: rand.Text(), Next: next, Expires: time.Now().Add(loginTTL).Unix()}
	http.SetCookie(w, s.cookie(loginCookie, "/login", s.seal("login", st), int(loginTTL/time.Second)))
	return st.State
}

// loginState returns the pending sign-in of r if state matches it.
func (s *sessions) loginState(r *http.Request, state string) (*loginState, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return nil, errBadCookie
	}
	var st loginState
	if err := s.open("login", c.Value, &st); err != nil {
		return nil, err
	}
	if time.Now().Unix() >= st.Expires || !hmac.Equal([]byte(st.State), []byte(state)) {
		return nil, errBadCookie
	}
	return &st, nil
}

func (s *sessions) endLogin(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie(loginCookie, "/login", "", -1))
}

// cookie sets the attributes every cookie here shares: HttpOnly (no script
// reads it) and SameSite=Lax (other sites cannot POST with it; a top-level
// GET back from the identity provider still carries the login cookie).
func (s *sessions) cookie(name, path, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// localPath returns next if it is a path on this site, "" otherwise, so
// the sign-in redirect cannot be used to send people elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}
