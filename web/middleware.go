package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web/reqmeta"
)

// RequestIDFrom returns the request id the middleware put in ctx. The
// service layer must use reqmeta.RequestID instead (same value): it cannot
// import package web without an import cycle.
func RequestIDFrom(ctx context.Context) string { return reqmeta.RequestID(ctx) }

// RequestMetaFrom returns everything the middleware recorded about the
// request in ctx (request id, X-Road headers).
func RequestMetaFrom(ctx context.Context) reqmeta.Meta { return reqmeta.From(ctx) }

// middleware wraps h, outermost first: request metadata (so every log line
// has the id), access log (so it sees the status recovery writes), panic
// recovery, security headers, cross-origin protection.
func (s *server) middleware(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	h = cop.Handler(h)
	h = securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	return requestMeta(h)
}

// requestMeta takes X-Request-Id from the caller when it is sane (an EHR
// joining its own logs to ours), makes one otherwise, echoes it, and
// records the X-Road headers for the audit log.
func requestMeta(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := reqmeta.Meta{
			RequestID:   headerToken(r, "X-Request-Id", 64),
			XRoadClient: headerToken(r, "X-Road-Client", 200),
			XRoadUserID: headerToken(r, "X-Road-UserId", 64),
			XRoadID:     headerToken(r, "X-Road-Id", 200),
		}
		if m.RequestID == "" {
			m.RequestID = rand.Text()
		}
		w.Header().Set("X-Request-Id", m.RequestID)
		h.ServeHTTP(w, r.WithContext(reqmeta.With(r.Context(), m)))
	})
}

// headerToken returns header name if it is at most max printable ASCII
// characters without spaces, "" otherwise. These values end up in logs
// and the audit log, so nothing may smuggle in line breaks or markup.
func headerToken(r *http.Request, name string, max int) string {
	v := r.Header.Get(name)
	if len(v) > max {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' || c == '"' || c == '<' || c == '>' || c == '\\' {
			return ""
		}
	}
	return v
}

// statusWriter remembers the status and size for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one structured line per request. It logs the path but
// never the query or body: personal codes travel only in POST bodies, and
// identities in logs are pseudonyms.
func (s *server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		m := reqmeta.From(r.Context())
		attrs := []any{
			"method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes,
			"duration", time.Since(start), "request_id", m.RequestID,
		}
		if m.XRoadClient != "" {
			attrs = append(attrs, "xroad_client", m.XRoadClient)
		}
		s.log.InfoContext(r.Context(), "http", attrs...)
	})
}

// recoverPanics turns a panic into a 500 and a log line with the stack, so
// one bad request does not take the process down.
func (s *server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "web: panic", "method", r.Method, "path", r.URL.Path,
				"request_id", reqmeta.RequestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status != 0 {
				return // too late to change the response; the client sees it cut short
			}
			err := &platform.Error{Code: platform.CodeInternal, Err: fmt.Errorf("panic: %v", v)}
			if isAPI(r) {
				writeJSONError(w, toPublic(err))
			} else {
				s.renderError(w, r, err)
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// securityHeaders: no framing, no sniffing, scripts from nowhere (the site
// has none), and no caching: these pages hold health data.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if !isStatic(r) {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// pageHandler is a page that needs a signed-in user. It returns its error
// for the wrapper to render, so every page fails the same way.
type pageHandler func(w http.ResponseWriter, r *http.Request, sess *session) error

// page requires a session (else redirect to sign in, coming back here
// afterwards) and a valid CSRF token on POST.
func (s *server) page(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.sessions.get(r)
		if err != nil && !errors.Is(err, errBadCookie) {
			s.logError(r, err) // the session store failed: not a sign-out
			s.renderError(w, r, err)
			return
		}
		if err != nil {
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = homeFor("")
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !s.sessions.checkCSRF(sess, r.PostFormValue("csrf")) {
				s.renderError(w, r, &platform.Error{Code: platform.CodeForbidden,
					Message: "This form has expired. Go back, reload the page and try again."})
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionCtxKey{}, sess))
		if err := h(w, r, sess); err != nil {
			s.logError(r, err)
			s.renderError(w, r, err)
		}
	}
}

// sessionCtxKey carries the session page found in the request's context,
// so rendering the page does not look it up again.
type sessionCtxKey struct{}

// currentSession is the session of r: the one page put in its context, or
// looked up.
func (s *server) currentSession(r *http.Request) (*session, error) {
	if sess, ok := r.Context().Value(sessionCtxKey{}).(*session); ok && sess != nil {
		return sess, nil
	}
	return s.sessions.get(r)
}

// apiHandler is a JSON endpoint for a signed-in principal; it returns the
// value to encode, or an error for the table.
type apiHandler func(r *http.Request, p identity.Principal) (any, error)

// api requires a session and answers 401 in JSON without one: machine
// clients must not be redirected to an HTML sign-in page.
func (s *server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.sessions.get(r)
		if err != nil && !errors.Is(err, errBadCookie) {
			s.logError(r, err)
			writeJSONError(w, toPublic(err))
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Cookie realm="geneguard"`)
			writeJSONError(w, publicError{APIError{codeUnauthenticated, "Sign in first."}, http.StatusUnauthorized})
			return
		}
		v, err := h(r, sess.principal())
		if err != nil {
			s.logError(r, err)
			writeJSONError(w, toPublic(err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func isAPI(r *http.Request) bool    { return strings.HasPrefix(r.URL.Path, "/api/") }
func isStatic(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/static/") }

// crossOriginDenied answers a write from another site (the browser's
// Sec-Fetch-Site or Origin says so) in the same shape as every other error.
func (s *server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	err := &platform.Error{Code: platform.CodeForbidden, Message: "Requests from other sites are not accepted."}
	if isAPI(r) {
		writeJSONError(w, toPublic(err))
		return
	}
	s.renderError(w, r, err)
}
