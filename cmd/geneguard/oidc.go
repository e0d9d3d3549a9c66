package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/geneguard/geneguard/web"
)

// oidcFlags are serve's flags for sign-in through an OpenID Connect
// provider (TARA, or any IdP).
type oidcFlags struct {
	issuer, clientID, secretFile, redirectURL, staff, scopes, acr *string
}

const oidcSecretEnv = "GENEGUARD_OIDC_CLIENT_SECRET"

func addOIDCFlags(fs *flag.FlagSet) *oidcFlags {
	return &oidcFlags{
		issuer:      fs.String("oidc-issuer", "", "OpenID Connect issuer URL, e.g. https://tara.ria.ee (discovered at start)"),
		clientID:    fs.String("oidc-client-id", "", "client id registered with the OIDC provider"),
		secretFile:  fs.String("oidc-client-secret-file", "", "file holding the client secret (default: $"+oidcSecretEnv+")"),
		redirectURL: fs.String("oidc-redirect-url", "", "this service's callback as registered with the provider, e.g. https://geneguard.example/login/callback"),
		staff:       fs.String("oidc-roles", "", "staff file: sub<TAB>role<TAB>account<TAB>display name per line (role physician or governance); everyone else signs in as a patient by personal code"),
		scopes:      fs.String("oidc-scopes", "openid", "scopes to request, space- or comma-separated"),
		acr:         fs.String("oidc-acr", "", "required authentication level, sent as acr_values and checked in the ID token (TARA: low, substantial or high)"),
	}
}

// enabled reports whether any OIDC flag was given.
func (f *oidcFlags) enabled() bool {
	return *f.issuer != "" || *f.clientID != "" || *f.secretFile != "" || *f.redirectURL != "" || *f.staff != ""
}

// config checks the flags and reads the secret and the staff file.
func (f *oidcFlags) config() (web.OIDCConfig, error) {
	var missing []string
	for _, m := range []struct{ flag, val string }{
		{"--oidc-issuer", *f.issuer}, {"--oidc-client-id", *f.clientID}, {"--oidc-redirect-url", *f.redirectURL},
	} {
		if m.val == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return web.OIDCConfig{}, fmt.Errorf("%w: OIDC sign-in also needs %s", errUsage, strings.Join(missing, " and "))
	}
	secret := os.Getenv(oidcSecretEnv)
	if *f.secretFile != "" {
		b, err := os.ReadFile(*f.secretFile)
		if err != nil {
			return web.OIDCConfig{}, fmt.Errorf("oidc client secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return web.OIDCConfig{}, fmt.Errorf("%w: no OIDC client secret: pass --oidc-client-secret-file or set %s", errUsage, oidcSecretEnv)
	}
	cfg := web.OIDCConfig{
		Issuer:       *f.issuer,
		ClientID:     *f.clientID,
		ClientSecret: secret,
		RedirectURL:  *f.redirectURL,
		Scopes:       strings.FieldsFunc(*f.scopes, func(r rune) bool { return r == ' ' || r == ',' }),
		ACR:          *f.acr,
	}
	if *f.staff != "" {
		file, err := os.Open(*f.staff)
		if err != nil {
			return web.OIDCConfig{}, fmt.Errorf("oidc roles: %w", err)
		}
		defer file.Close()
		if cfg.Staff, err = web.ParseStaff(file); err != nil {
			return web.OIDCConfig{}, fmt.Errorf("oidc roles %s: %w", *f.staff, err)
		}
	}
	return cfg, nil
}

// authenticator discovers the provider. key (the session key) derives the
// per-sign-in nonce and PKCE verifier, so every replica sharing sessions
// accepts the others' callbacks.
func (f *oidcFlags) authenticator(ctx context.Context, cfg web.OIDCConfig, key []byte, log *slog.Logger) (web.Authenticator, error) {
	cfg.Key, cfg.Logger = key, log
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	auth, err := web.NewOIDC(dctx, cfg)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (no answer within 30 s)", err)
		}
		return nil, fmt.Errorf("%w; check --oidc-issuer and that this host can reach it", err)
	}
	return auth, nil
}
