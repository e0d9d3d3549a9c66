package web

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// OIDCConfig configures NewOIDC: an OpenID Connect provider (TARA, or any
// IdP) and this service's client registration with it.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document states it (e.g. https://tara.ria.ee).
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this service's /login/callback as the provider
	// knows it, e.g. https://geneguard.example/login/callback.
	RedirectURL string
	// Scopes requested; "openid" is always included.
	Scopes []string
	// ACR, when set, is sent as acr_values and the ID token's acr claim
	// must reach it (TARA's low < substantial < high; other values must
	// match exactly).
	ACR string
	// Staff maps the sub claim of physicians and governance members to
	// their account. Anyone else signs in as a patient, and only with a
	// valid Estonian personal code as sub ("EE" + code, as TARA sends).
	Staff map[string]StaffAccount
	// Key derives each sign-in's nonce and PKCE code verifier from its
	// state. Replicas that share sessions must share it (serve passes
	// the session key); empty means a random key.
	Key []byte
	// HTTPClient talks to the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// StaffAccount is an operator-registered account for a staff sub claim.
type StaffAccount struct {
	Role identity.Role // physician or governance
	// Account names the person in the audit log and the session, so a
	// staff member's personal code (their TARA sub) is never stored.
	Account string
	Name    string // shown on the pages
}

// OIDC is the Authenticator for a real identity provider: the
// authorization-code flow with PKCE (S256), state and nonce. The state is
// the web layer's (a signed cookie binds it to one browser); the nonce and
// the code verifier are HMACs of the state under a server key, so they are
// bound to that same browser and nothing is stored between the two legs.
type OIDC struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
	acr      string
	staff    map[string]StaffAccount
	key      []byte
	client   *http.Client
	log      *slog.Logger
	https    bool // the redirect URL is https: cookies get Secure
}

// httpsOIDC reports whether auth is OIDC reached over https.
func httpsOIDC(auth Authenticator) bool {
	o, ok := auth.(*OIDC)
	return ok && o.https
}

// NewOIDC discovers the provider at cfg.Issuer (its
// /.well-known/openid-configuration) and returns the authenticator. It
// fails if the issuer cannot be reached or names itself differently.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oidc: no issuer URL")
	case cfg.ClientID == "":
		return nil, errors.New("oidc: no client id")
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || !ru.IsAbs() || !strings.HasSuffix(ru.Path, "/login/callback") {
		return nil, fmt.Errorf("oidc: redirect URL %q must be this service's absolute /login/callback URL", cfg.RedirectURL)
	}
	for sub, a := range cfg.Staff {
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("oidc: staff %q: %w", sub, err)
		}
	}
	o := &OIDC{
		issuer: cfg.Issuer,
		acr:    cfg.ACR,
		staff:  cfg.Staff,
		client: cfg.HTTPClient,
		log:    cfg.Logger,
		https:  ru.Scheme == "https",
	}
	if o.client == nil {
		o.client = http.DefaultClient
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	key := cfg.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("geneguard oidc nonce and pkce v1"))
	o.key = m.Sum(nil) // a subkey: the session key's own MACs never collide with these

	provider, err := oidc.NewProvider(o.ctx(ctx), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s/.well-known/openid-configuration: %w", strings.TrimSuffix(cfg.Issuer, "/"), shortError{err})
	}
	var meta struct {
		PKCE []string `json:"code_challenge_methods_supported"`
	}
	if err := provider.Claims(&meta); err == nil && !slices.Contains(meta.PKCE, "S256") {
		// A provider without PKCE ignores the parameters (RFC 7636 §5);
		// state, nonce and the client secret still protect the flow.
		o.log.Warn("oidc: the provider does not advertise PKCE S256; sending the code challenge anyway", "issuer", cfg.Issuer)
	}
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range cfg.Scopes {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	o.oauth = oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  cfg.RedirectURL,
		Scopes:       scopes,
	}
	o.verifier = provider.VerifierContext(o.ctx(context.Background()), &oidc.Config{ClientID: cfg.ClientID})
	return o, nil
}

// ctx carries the HTTP client to go-oidc and oauth2.
func (o *OIDC) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.client)
}

// derive returns a per-sign-in secret for purpose: 43 base64url characters,
// a valid PKCE code verifier (RFC 7636 §4.1) and an unguessable nonce.
func (o *OIDC) derive(purpose, state string) string {
	m := hmac.New(sha256.New, o.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// LoginURL is the provider's authorization endpoint for this sign-in.
func (o *OIDC) LoginURL(state string) string {
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(o.derive("pkce", state)),
		oidc.Nonce(o.derive("nonce", state)),
	}
	if o.acr != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", o.acr))
	}
	return o.oauth.AuthCodeURL(state, opts...)
}

// Messages of refused sign-ins. They name no claim values: the log has
// the cause, and the person on the page needs only what to do next.
const (
	msgNotVerified  = "Your sign-in could not be verified, so it was refused. Please sign in again."
	msgInvalidCode  = "The identity provider signed you in with an Estonian personal code that is not valid, so the sign-in was refused."
	msgUnknownStaff = "This service does not know the account you signed in with. Patients sign in with an Estonian personal code; physicians and governance members need an account registered by the operator."
	msgACR          = "Your sign-in method is not strong enough for this service. Please sign in again with ID-card, Mobile-ID or Smart-ID."
)

var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,40}$`)

// Callback completes the flow at /login/callback (the web layer has
// already matched state against this browser's cookie): the code is
// exchanged with the PKCE verifier, the ID token verified (signature,
// issuer, audience, expiry) and its nonce checked, then sub is mapped to a
// staff account or a patient.
func (o *OIDC) Callback(r *http.Request) (Login, error) {
	ctx := r.Context()
	state := r.FormValue("state")
	if e := r.FormValue("error"); e != "" {
		// The person cancelled, or the provider refused (RFC 6749 §4.1.2.1).
		if !oauthErrorCode.MatchString(e) {
			e = "error"
		}
		return Login{}, o.refuse(ctx, "the provider returned an error",
			&platform.Error{Code: platform.CodeForbidden,
				Message: fmt.Sprintf("The sign-in was cancelled or refused at the identity provider (%s). Please sign in again.", e),
				Err:     fmt.Errorf("oidc: provider error %s: %s", e, r.FormValue("error_description"))})
	}
	if iss := r.FormValue("iss"); iss != "" && iss != o.issuer {
		// RFC 9207: an answer from another provider (mix-up attack).
		return Login{}, o.refuse(ctx, "issuer mismatch", refusal(msgNotVerified, fmt.Errorf("oidc: callback iss %q, want %q", iss, o.issuer)))
	}
	code := r.FormValue("code")
	if code == "" {
		return Login{}, o.refuse(ctx, "no code", refusal(msgNotVerified, errors.New("oidc: callback without code")))
	}
	tok, err := o.oauth.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(o.derive("pkce", state)))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// invalid_grant: a code used twice, expired, or not issued
			// for this browser's code challenge.
			return Login{}, o.refuse(ctx, "token exchange refused", refusal(msgNotVerified, fmt.Errorf("oidc: token exchange: %w", err)))
		}
		return Login{}, fmt.Errorf("oidc: token exchange with %s: %w", o.issuer, err) // the provider is down: 500, logged
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Login{}, o.refuse(ctx, "no id token", refusal(msgNotVerified, errors.New("oidc: token response without id_token")))
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return Login{}, o.refuse(ctx, "id token rejected", refusal(msgNotVerified, err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(o.derive("nonce", state))) != 1 {
		return Login{}, o.refuse(ctx, "nonce mismatch", refusal(msgNotVerified, errors.New("oidc: id token nonce does not match this sign-in")))
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return Login{}, o.refuse(ctx, "claims unreadable", refusal(msgNotVerified, err))
	}
	if o.acr != "" && !acrReaches(c.ACR, o.acr) {
		err := o.refuse(ctx, "acr too low", refusal(msgACR, fmt.Errorf("oidc: acr %q, want %q", c.ACR, o.acr)))
		// The provider did vouch for who it is, at too low a level: the
		// refusal is filed under them (a staff account, or a patient's
		// pseudonym, never the code itself) so they can see it.
		if ref := (*signInRefusal)(nil); errors.As(err, &ref) {
			if a, ok := o.staff[idt.Subject]; ok {
				ref.role, ref.subject = a.Role, a.Account
			} else if pc, perr := identity.ParsePersonalCode(idt.Subject); perr == nil && strings.HasPrefix(idt.Subject, "EE") {
				ref.role, ref.subject = identity.RolePatient, "EE"+string(pc)
			}
		}
		return Login{}, err
	}
	if a, ok := o.staff[idt.Subject]; ok {
		return Login{Subject: a.Account, Role: a.Role, Name: a.Name}, nil
	}
	if !strings.HasPrefix(idt.Subject, "EE") {
		return Login{}, o.refuse(ctx, "subject is neither staff nor an Estonian personal code", refusal(msgUnknownStaff, nil))
	}
	pc, err := identity.ParsePersonalCode(idt.Subject)
	if err != nil {
		// The error names the code; it is not logged (personal codes stay out of logs).
		return Login{}, o.refuse(ctx, "invalid personal code", refusal(msgInvalidCode, nil))
	}
	return Login{Subject: "EE" + string(pc), Role: identity.RolePatient, Name: c.name()}, nil
}

// refuse logs why a sign-in was refused and returns err as a
// *signInRefusal with reason, which the web layer records in the audit log
// ("login.refused"). No claim values are logged: a sub may be a personal
// code.
func (o *OIDC) refuse(ctx context.Context, reason string, err error) error {
	attrs := []any{"reason", reason, "request_id", RequestIDFrom(ctx)}
	if cause := errors.Unwrap(err); cause != nil {
		attrs = append(attrs, "err", cause.Error())
	}
	o.log.WarnContext(ctx, "oidc: sign-in refused", attrs...)
	return &signInRefusal{reason: reason, err: err}
}

func refusal(msg string, cause error) error {
	return &platform.Error{Code: platform.CodeForbidden, Message: msg, Err: cause}
}

// idClaims are the ID token claims used beyond sub: TARA puts names in
// profile_attributes, other providers use the standard claims.
type idClaims struct {
	ACR        string `json:"acr"`
	Name       string `json:"name"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	TARA       struct {
		GivenName  string `json:"given_name"`
		FamilyName string `json:"family_name"`
	} `json:"profile_attributes"`
}

func (c *idClaims) name() string {
	for _, n := range []string{
		strings.TrimSpace(c.TARA.GivenName + " " + c.TARA.FamilyName),
		strings.TrimSpace(c.Name),
		strings.TrimSpace(c.GivenName + " " + c.FamilyName),
	} {
		if n != "" {
			return n
		}
	}
	return ""
}

// acrReaches reports whether the token's acr meets want: TARA's levels are
// ordered, anything else must match exactly.
func acrReaches(got, want string) bool {
	levels := []string{"low", "substantial", "high"}
	g, w := slices.Index(levels, got), slices.Index(levels, want)
	if g >= 0 && w >= 0 {
		return g >= w
	}
	return got == want
}

func (a StaffAccount) check() error {
	switch a.Role {
	case identity.RolePhysician, identity.RoleGovernance:
	default:
		return fmt.Errorf("role %q: want physician or governance", a.Role)
	}
	if a.Account == "" || strings.ContainsAny(a.Account, " \t\r\n") {
		return fmt.Errorf("account %q: want one word", a.Account)
	}
	if _, err := identity.ParsePersonalCode(a.Account); err == nil {
		return errors.New("the account is a personal code; accounts are stored in the audit log, personal codes must not be")
	}
	return nil
}

// ParseStaff reads the operator's staff file: one account a line,
// tab-separated
//
//	sub	role	account	display name
//
// where sub is the ID token's sub claim (TARA: "EE" + personal code), role
// is physician or governance, and account is the name the audit log
// records. Blank lines and lines starting with # are skipped.
func ParseStaff(r io.Reader) (map[string]StaffAccount, error) {
	out := map[string]StaffAccount{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("line %d: want sub<TAB>role<TAB>account[<TAB>display name], got %d tab-separated fields", n, len(f))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		sub := f[0]
		a := StaffAccount{Role: identity.Role(f[1]), Account: f[2], Name: f[2]}
		if len(f) == 4 && f[3] != "" {
			a.Name = f[3]
		}
		if sub == "" {
			return nil, fmt.Errorf("line %d: empty sub", n)
		}
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if _, dup := out[sub]; dup {
			return nil, fmt.Errorf("line %d: sub listed twice", n)
		}
		out[sub] = a
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// shortError says the first line of err (at most 300 bytes): go-oidc
// quotes a failed discovery's whole response body, often a provider's
// HTML error page, which buries the reason in an operator's terminal.
type shortError struct{ err error }

func (e shortError) Error() string {
	msg := e.err.Error()
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i] + " …"
	}
	if len(msg) > 300 {
		msg = msg[:300] + " …"
	}
	return msg
}

func (e shortError) Unwrap() error { return e.err }
