package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

const (
	sessionCookie = "gg_session"
	loginCookie   = "gg_login"
	loginTTL      = 10 * time.Minute
)

var errBadCookie = errors.New("web: cookie missing, tampered with or expired")

// sessions are kept server-side (ARCHITECTURE.md decision 13): the session
// cookie holds only a random token, and the signed-in principal lives in a
// SessionStore row keyed by the token's SHA-256, sealed (AES-GCM) under a
// key derived from the token and the session key. Signing out deletes the
// row, so the cookie is dead everywhere at once; a session ends after idle
// time without a request and, whatever the activity, after ttl. The
// login-state cookie, which holds no identity, is still signed (seal/open):
// it must survive the trip to the identity provider on any replica.
type sessions struct {
	key    []byte
	ttl    time.Duration // absolute lifetime
	idle   time.Duration // lifetime without a request
	secure bool
	store  platform.SessionStore
}

// session is a signed-in browser. SID is the cookie's token: the CSRF
// token is derived from it, so a token dies with its session. It is never
// stored; the row is found by its hash.
type session struct {
	Subject string        `json:"sub"`
	Role    identity.Role `json:"role"`
	Person  string        `json:"person,omitempty"`
	Name    string        `json:"name,omitempty"`
	SID     string        `json:"-"`
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
// can never be replayed as anything else.
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

// tokenLen is the length of a session token: 32 random bytes, base64url.
const tokenLen = 43

// rowID is the store's key for token: its SHA-256, so the table holds no
// usable cookie.
func rowID(token string) string {
	h := sha256.Sum256([]byte("geneguard session id\x00" + token))
	return hex.EncodeToString(h[:])
}

// aead is the cipher sealing one session's row: a key derived from the
// session key and the token, so neither the database alone nor the
// session key alone opens a row.
func (s *sessions) aead(token string) cipher.AEAD {
	block, err := aes.NewCipher(s.mac("session data", token))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// touchEvery is how stale a session's seen time may get before a request
// writes it again: a tenth of the idle timeout, at most a minute, so that
// not every request writes to the database.
func (s *sessions) touchEvery() time.Duration { return min(s.idle/10, time.Minute) }

// get returns the session of r: errBadCookie when there is none (no
// cookie, an unknown, signed-out or expired token), another error when the
// store failed.
func (s *sessions) get(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != tokenLen {
		return nil, errBadCookie
	}
	tok := c.Value
	ctx := r.Context()
	id := rowID(tok)
	rec, err := s.store.Session(ctx, id)
	if platform.IsNotFound(err) {
		return nil, errBadCookie
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if !now.Before(rec.Expires) || now.Sub(rec.Seen) >= s.idle {
		s.store.DeleteSession(ctx, id) // best effort: it is refused either way
		return nil, errBadCookie
	}
	g := s.aead(tok)
	if len(rec.Data) < g.NonceSize() {
		return nil, errBadCookie
	}
	plain, err := g.Open(nil, rec.Data[:g.NonceSize()], rec.Data[g.NonceSize():], []byte(id))
	if err != nil {
		return nil, errBadCookie // another key, or a row not written by us
	}
	var sess session
	if err := json.Unmarshal(plain, &sess); err != nil || sess.Subject == "" {
		return nil, errBadCookie
	}
	sess.SID = tok
	if now.Sub(rec.Seen) >= s.touchEvery() {
		// Best effort: a failed touch only makes the idle timeout come
		// sooner.
		s.store.TouchSession(ctx, id, now)
	}
	return &sess, nil
}

// start issues a new session for p under a fresh token (no fixation),
// ending the browser's previous session if it had one.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	now := time.Now()
	// Sign-ins are rare next to requests: a good moment to sweep.
	s.store.PurgeSessions(ctx, now, now.Add(-s.idle))
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) == tokenLen {
		if err := s.store.DeleteSession(ctx, rowID(c.Value)); err != nil {
			return err
		}
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	id := rowID(tok)
	plain, err := json.Marshal(session{Subject: p.Subject, Role: p.Role, Person: p.Person, Name: p.Name})
	if err != nil {
		return err
	}
	g := s.aead(tok)
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	rec := platform.SessionRecord{ID: id, Data: g.Seal(nonce, nonce, plain, []byte(id)), Created: now, Seen: now, Expires: now.Add(s.ttl)}
	if err := s.store.CreateSession(ctx, rec); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, "/", tok, int(s.ttl/time.Second)))
	return nil
}

// end signs the browser out: its session row is deleted, so the cookie is
// worthless even if a copy of it survives, and the cookie is cleared.
func (s *sessions) end(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, s.cookie(r, sessionCookie, "/", "", -1))
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) == tokenLen {
		return s.store.DeleteSession(r.Context(), rowID(c.Value))
	}
	return nil
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

func (s *sessions) startLogin(w http.ResponseWriter, r *http.Request, next string) string {
	st := loginState{State: rand.Text(), Next: next, Expires: time.Now().Add(loginTTL).Unix()}
	http.SetCookie(w, s.cookie(r, loginCookie, "/login", s.seal("login", st), int(loginTTL/time.Second)))
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

func (s *sessions) endLogin(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, loginCookie, "/login", "", -1))
}

// cookie sets the attributes every cookie here shares: HttpOnly (no script
// reads it), SameSite=Lax (other sites cannot POST with it; a top-level
// GET back from the identity provider still carries the login cookie), and
// Secure when the site is configured as reached over TLS or this request
// came over TLS.
func (s *sessions) cookie(r *http.Request, name, path, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode,
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

// MemorySessions returns a SessionStore in this process's memory: sessions
// end when the process does and are not shared between replicas. New uses
// it when neither Options.Sessions nor the Service provides a store.
func MemorySessions() platform.SessionStore {
	return &memSessions{m: map[string]platform.SessionRecord{}}
}

type memSessions struct {
	mu sync.Mutex
	m  map[string]platform.SessionRecord
}

func (m *memSessions) CreateSession(_ context.Context, r platform.SessionRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Data = append([]byte(nil), r.Data...)
	m.m[r.ID] = r
	return nil
}

func (m *memSessions) Session(_ context.Context, id string) (platform.SessionRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[id]
	if !ok {
		return r, platform.ErrNotFound
	}
	return r, nil
}

func (m *memSessions) TouchSession(_ context.Context, id string, seen time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.m[id]; ok {
		r.Seen = seen
		m.m[id] = r
	}
	return nil
}

func (m *memSessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

func (m *memSessions) PurgeSessions(_ context.Context, now, idleSince time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, r := range m.m {
		if !now.Before(r.Expires) || r.Seen.Before(idleSince) {
			delete(m.m, id)
			n++
		}
	}
	return n, nil
}
