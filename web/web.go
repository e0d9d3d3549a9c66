// Package web is the HTTP adapter: server-rendered pages for patients,
// physicians and the demo audience, and a small JSON API. It holds no
// policy. Every decision about who may see or change what is made by the
// Service, which returns a *platform.Error; this package only maps error
// codes to HTTP statuses in one table (errors.go) and renders.
package web

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// Service is the platform as the web sees it. *platform.Service satisfies
// it; tests use a fake. Every method that takes a Principal authorises it
// and returns *platform.Error codes (forbidden, consent, not_found, ...).
type Service interface {
	// SignIn turns an authenticated subject into a principal. For patients subject is the
	// personal code ("EE"+code or bare); the returned Principal.Person is their pseudonym.
	SignIn(ctx context.Context, subject string, role identity.Role) (identity.Principal, error)
	PersonByCode(ctx context.Context, p identity.Principal, code string) (*platform.Person, error)
	Person(ctx context.Context, p identity.Principal, id string) (*platform.Person, error)
	Consents(ctx context.Context, p identity.Principal, person string) ([]platform.ConsentState, error)
	GrantConsent(ctx context.Context, p identity.Principal, person, algorithmID, channel string) error
	WithdrawConsent(ctx context.Context, p identity.Principal, person, algorithmID, channel string) error
	// Results returns the person's current results in clinical view (consent in force, not
	// superseded) and records the view in the audit log with the given purpose.
	Results(ctx context.Context, p identity.Principal, person, purpose string) ([]result.Result, error)
	// BreakGlass is a physician's emergency access to the same view, with a mandatory reason,
	// recorded as "break-glass"; it never shows results whose consent is not in force.
	BreakGlass(ctx context.Context, p identity.Principal, person, reason string) ([]result.Result, error)
	Algorithms(ctx context.Context, p identity.Principal) ([]*algorithm.Version, error)
	AuditTrail(ctx context.Context, p identity.Principal, person string) ([]platform.AuditEntry, error)
	JobStats(ctx context.Context) (platform.JobStats, error)
	// SignOut records that p signed out ("logout"); the web layer has
	// already ended the session.
	SignOut(ctx context.Context, p identity.Principal) error
	// RefuseSignIn records a refused sign-in ("login.refused") with its
	// reason. subject is what the identity provider vouched for, or "":
	// a personal code (recorded only as its pseudonym, so the refusal is
	// in that patient's access log) or a staff account.
	RefuseSignIn(ctx context.Context, role identity.Role, subject, reason string) error
}

// SessionKeeper is implemented by a Service whose store keeps web sessions
// (platform.Service over sqlstore); New uses it when Options.Sessions is
// nil.
type SessionKeeper interface {
	Sessions() platform.SessionStore
}

// Options configures New. The zero value works for a demo: demo login,
// a random session key, slog.Default.
type Options struct {
	// Auth proves who is at the browser. Nil means the demo login page,
	// listing Demo.
	Auth Authenticator
	// Demo lists the identities offered on the demo login page.
	Demo []DemoIdentity
	// SessionKey signs the login-state cookie and seals the stored
	// sessions; at least 32 bytes. Empty means a random key: sessions then
	// end when the process restarts, and several replicas will not accept
	// each other's sessions.
	SessionKey []byte
	// SecureCookies sets the Secure attribute; turn it on behind TLS. It
	// is on whenever Auth is an OIDC authenticator with an https redirect
	// URL (the site is then reached over TLS).
	SecureCookies bool
	// SessionTTL is how long a sign-in lasts at most, however active;
	// default 8 hours (a shift).
	SessionTTL time.Duration
	// SessionIdle ends a session after this long without a request;
	// default 30 minutes.
	SessionIdle time.Duration
	// Sessions keeps the server-side sessions. Nil means the Service's
	// store when it keeps them (SessionKeeper: the database, shared by
	// replicas), else this process's memory (MemorySessions).
	Sessions platform.SessionStore
	// Location is the time zone pages show times in; default time.Local.
	Location *time.Location
	Logger   *slog.Logger
	// Receipts, when set, adds downloadable audit receipts to the access
	// log and publishes the verifier key at /audit/key.
	Receipts Receipts
}

// Purposes recorded in the audit log when results are viewed. A physician
// opening a patient's page does so to treat them; a patient reading their
// own page is self-access. API clients may state their own.
const (
	PurposeTreatment  = "treatment"
	PurposeSelfAccess = "self-access"
)

// Channels recorded on consent events.
const (
	ChannelPortal = "portal"
	ChannelAPI    = "api"
)

// server holds the handlers' dependencies; handlers are its methods.
type server struct {
	svc      Service
	auth     Authenticator
	demo     *DemoAuthenticator // nil unless auth is the demo login
	sessions *sessions
	pages    *pages
	log      *slog.Logger
	receipts Receipts // nil: no receipt links
}

// New returns the whole web interface as one handler, middleware included.
// It panics if opts.SessionKey is set but shorter than 32 bytes: a weak
// key is a configuration mistake that must not start silently.
func New(svc Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	key := opts.SessionKey
	switch {
	case len(key) == 0:
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand panics instead)
		log.Warn("web: no session key configured; using a random one, sessions end at restart")
	case len(key) < 32:
		panic("web: session key must be at least 32 bytes")
	}
	ttl := opts.SessionTTL
	if ttl <= 0 {
		ttl = 8 * time.Hour
	}
	idle := opts.SessionIdle
	if idle <= 0 {
		idle = 30 * time.Minute
	}
	store := opts.Sessions
	if store == nil {
		if k, ok := svc.(SessionKeeper); ok {
			store = k.Sessions()
		}
	}
	if store == nil {
		store = MemorySessions()
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	s := &server{
		svc:      svc,
		auth:     opts.Auth,
		sessions: &sessions{key: key, ttl: ttl, idle: idle, store: store, secure: opts.SecureCookies || httpsOIDC(opts.Auth)},
		pages:    newPages(loc),
		log:      log,
		receipts: opts.Receipts,
	}
	if s.auth == nil {
		s.demo = &DemoAuthenticator{Identities: opts.Demo}
		s.auth = s.demo
	} else if d, ok := s.auth.(*DemoAuthenticator); ok {
		s.demo = d
	}
	return s.middleware(s.routes())
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	mux.HandleFunc("GET /healthz", s.healthz)

	// Sign-in and out.
	mux.HandleFunc("GET /login", s.loginStart)
	mux.HandleFunc("GET /login/callback", s.loginCallback)  // OIDC providers redirect back with GET
	mux.HandleFunc("POST /login/callback", s.loginCallback) // the demo form posts
	if s.demo != nil {
		mux.HandleFunc("GET /login/demo", s.demoLoginPage)
	}
	mux.HandleFunc("POST /logout", s.page(s.logout))

	// Pages.
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /status", s.status)
	mux.HandleFunc("GET /patient", s.page(s.patient))
	mux.HandleFunc("POST /patient/consents/{algorithm}", s.page(s.patientConsent))
	mux.HandleFunc("GET /patient/access-log", s.page(s.patientAccessLog))
	mux.HandleFunc("GET /patient/access-log/receipts/{seq}", s.page(s.patientReceipt))
	mux.HandleFunc("GET /audit/key", s.verifierKey)
	mux.HandleFunc("GET /physician", s.page(s.physician))
	mux.HandleFunc("POST /physician/search", s.page(s.physicianSearch))
	mux.HandleFunc("GET /physician/patients/{id}", s.page(s.physicianPatient))
	s.breakGlassRoutes(mux) // emergency access: page and API

	// JSON API.
	mux.HandleFunc("GET /api/v1/me", s.api(s.apiMe))
	mux.HandleFunc("GET /api/v1/persons/{id}/results", s.api(s.apiResults))
	mux.HandleFunc("GET /api/v1/persons/{id}/consents", s.api(s.apiConsents))
	mux.HandleFunc("POST /api/v1/persons/{id}/consents/{algorithm}", s.api(s.apiSetConsent))
	mux.HandleFunc("GET /api/v1/persons/{id}/audit", s.api(s.apiAudit))
	mux.HandleFunc("GET /api/v1/algorithms", s.api(s.apiAlgorithms))
	mux.HandleFunc("GET /api/v1/jobs", s.api(s.apiJobs))
	s.governanceRoutes(mux) // governance page, usage, FHIR consent, prescription events
	mux.HandleFunc("GET /api/v1/audit/receipts/{seq}", s.api(s.apiReceipt))
	mux.HandleFunc("/api/", s.apiNotFound)
	mux.HandleFunc("/", s.notFound)
	return mux
}
