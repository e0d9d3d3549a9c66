package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// Login is what an Authenticator proves: who signed in, and in which role.
type Login struct {
	Subject string // for patients "EE" + personal code, as TARA's sub claim
	Role    identity.Role
	// Name, when set, is shown on the pages if the platform has no better
	// name for the principal (a staff account's display name, or the name
	// the identity provider gives a patient without a record name).
	Name string
}

// Authenticator is the seam for real sign-in. The web layer owns the state
// value that binds a sign-in to one browser (a signed cookie checked before
// Callback is called); the Authenticator only talks to the identity
// provider. OIDC (oidc.go: TARA or any OpenID Connect provider, via
// go-oidc) returns the authorization URL from LoginURL, and in Callback
// exchanges r.FormValue("code"), verifies the ID token and maps its sub
// claim to a staff account or a patient.
type Authenticator interface {
	// LoginURL is where to send the browser to sign in. The provider must
	// return state unchanged to /login/callback.
	LoginURL(state string) string
	// Callback completes a sign-in at /login/callback, by GET (OIDC
	// redirect) or POST (demo form). Errors go through the error table:
	// a *platform.Error's message is shown, anything else is logged and
	// shown as "Internal error."
	Callback(r *http.Request) (Login, error)
}

// DemoIdentity is one button on the demo login page.
type DemoIdentity struct {
	Subject string // e.g. "EE60001019906", or "dr-tamm"
	Role    identity.Role
	Label   string // e.g. "Mari Maasikas"
	Note    string // e.g. "patient with genotype data"
}

// DemoAuthenticator signs people in without a password: they pick a listed
// identity, or type any valid personal code to sign in as that patient.
// For demonstrations and tests only; never configure it in production.
type DemoAuthenticator struct {
	Identities []DemoIdentity
}

func (d *DemoAuthenticator) LoginURL(state string) string {
	return "/login/demo?state=" + url.QueryEscape(state)
}

// Callback accepts form field "pick" (the subject of a listed identity) or
// "code" (a personal code, signing in as a patient). Listed roles cannot
// be claimed for other subjects: the form cannot make anyone a physician.
func (d *DemoAuthenticator) Callback(r *http.Request) (Login, error) {
	if pick := r.PostFormValue("pick"); pick != "" {
		for _, id := range d.Identities {
			if id.Subject == pick {
				return Login{Subject: id.Subject, Role: id.Role}, nil
			}
		}
		return Login{}, &signInRefusal{reason: "demo identity not on the list", err: invalid("That demo identity is not on the list.")}
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" {
		return Login{}, &signInRefusal{reason: "no identity given", err: invalid("Choose a demo identity or type a personal code.")}
	}
	pc, err := identity.ParsePersonalCode(code)
	if err != nil {
		return Login{}, &signInRefusal{reason: "not a valid personal code", err: invalid(personalCodeMessage(err))}
	}
	return Login{Subject: "EE" + string(pc), Role: identity.RolePatient}, nil
}

// personalCodeMessage turns a ParsePersonalCode error into a sentence for
// the person who typed the code.
func personalCodeMessage(err error) string {
	detail := strings.TrimPrefix(err.Error(), identity.ErrPersonalCode.Error()+": ")
	return fmt.Sprintf("That is not a valid Estonian personal code: %s.", detail)
}

// signInRefusal is a sign-in refused for a reason the audit log records
// ("login.refused"). The reason names no claim values; role and subject are
// set only when the identity provider vouched for them (see RefuseSignIn).
// err is what the person is shown.
type signInRefusal struct {
	reason  string
	role    identity.Role
	subject string
	err     error
}

func (e *signInRefusal) Error() string { return e.err.Error() }
func (e *signInRefusal) Unwrap() error { return e.err }

// auditRefusal records a refused sign-in. A failure to record it is
// logged: the person is refused either way.
func (s *server) auditRefusal(r *http.Request, role identity.Role, subject, reason string) {
	if err := s.svc.RefuseSignIn(r.Context(), role, subject, reason); err != nil {
		s.logError(r, fmt.Errorf("web: recording a refused sign-in: %w", err))
	}
}

// loginStart begins a sign-in: a state cookie, then off to the provider.
func (s *server) loginStart(w http.ResponseWriter, r *http.Request) {
	state := s.sessions.startLogin(w, r, localPath(r.URL.Query().Get("next")))
	http.Redirect(w, r, s.auth.LoginURL(state), http.StatusSeeOther)
}

func (s *server) demoLoginPage(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if _, err := s.sessions.loginState(r, state); err != nil {
		// Bookmarked or expired: start over rather than show a dead form.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderDemoLogin(w, r, http.StatusOK, state, "", "")
}

func (s *server) renderDemoLogin(w http.ResponseWriter, r *http.Request, status int, state, code, msg string) {
	s.render(w, r, status, "login.html", &view{
		Title: "Sign in",
		Error: msg,
		Data: struct {
			State      string
			Code       string
			Identities []DemoIdentity
		}{state, code, s.demo.Identities},
	})
}

func (s *server) loginCallback(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, invalid("The sign-in request could not be read."))
		return
	}
	state := r.FormValue("state")
	st, err := s.sessions.loginState(r, state)
	if err != nil {
		s.auditRefusal(r, "", "", "sign-in state missing, expired or from another browser")
		s.renderError(w, r, invalid("This sign-in has expired or was started in another browser. Please sign in again."))
		return
	}
	login, err := s.auth.Callback(r)
	if err == nil {
		var p identity.Principal
		p, err = s.svc.SignIn(r.Context(), login.Subject, login.Role)
		if err == nil {
			if login.Name != "" && (p.Name == "" || p.Name == p.Subject || p.Name == login.Subject) {
				p.Name = login.Name
			}
			if err = s.sessions.start(w, r, p); err == nil {
				s.sessions.endLogin(w, r)
				next := st.Next
				if next == "" {
					next = homeFor(p.Role)
				}
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
		} else if c := platform.ErrorCode(err); c == platform.CodeInvalid || c == platform.CodeForbidden {
			err = &signInRefusal{reason: "refused by the platform: " + string(c), err: err}
		}
	}
	s.logError(r, err)
	if ref := (*signInRefusal)(nil); errors.As(err, &ref) {
		s.auditRefusal(r, ref.role, ref.subject, ref.reason)
	}
	pub := toPublic(err)
	if s.demo != nil {
		// Same state: the pending sign-in is still good for another try.
		s.renderDemoLogin(w, r, pub.status, state, r.PostFormValue("code"), pub.Message)
		return
	}
	s.renderError(w, r, err)
}

// logout ends the session server-side (the cookie is worthless from now
// on, wherever a copy of it is) and records the sign-out.
func (s *server) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.sessions.end(w, r); err != nil {
		return err
	}
	if err := s.svc.SignOut(r.Context(), sess.principal()); err != nil {
		// Signed out all the same; the failure to record it is logged.
		s.logError(r, fmt.Errorf("web: recording a sign-out: %w", err))
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// homeFor is where a role lands after signing in.
func homeFor(role identity.Role) string {
	switch role {
	case identity.RolePatient:
		return "/patient"
	case identity.RolePhysician:
		return "/physician"
	default:
		return "/"
	}
}
