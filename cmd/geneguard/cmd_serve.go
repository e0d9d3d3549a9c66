package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/web"
)

func init() {
	register(command{Name: "serve", Summary: "serve the web UI and JSON API (and work queued jobs)", Run: runServe})
	register(command{Name: "worker", Summary: "work queued computations (run several against one PostgreSQL)", Run: runWorker})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "Serves the patient, physician and status pages and the JSON API.", stderr)
	dsn := fs.String("db", "", "database: SQLite file path or postgres:// URL (default DATA/geneguard.db)")
	data := fs.String("data", "geneguard-data", "data directory: genotype store and keys")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	workers := fs.Int("workers", 2, "queue workers in this process (0 leaves jobs to separate 'geneguard worker' processes)")
	demoLogin := fs.Bool("demo-login", false, "enable the demo sign-in page, where anyone can sign in as any patient, the demo physician or the governance board (evaluation only)")
	oidcf := addOIDCFlags(fs)
	verbose := fs.Bool("v", false, "verbose logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var oidcCfg web.OIDCConfig
	switch {
	case oidcf.enabled() && *demoLogin:
		return fmt.Errorf("%w: --demo-login and --oidc-* exclude each other: the demo page would let anyone past the identity provider", errUsage)
	case oidcf.enabled():
		var err error
		if oidcCfg, err = oidcf.config(); err != nil {
			return err
		}
	case !*demoLogin:
		// Serving without real sign-in would let anyone read anyone's
		// results; refuse rather than fall back to the demo page.
		return fmt.Errorf("%w: no identity provider is configured; pass --oidc-issuer, --oidc-client-id, --oidc-client-secret-file (or $%s) and --oidc-redirect-url to sign in through TARA or another OIDC provider, or --demo-login to evaluate with the demo sign-in page, where anyone can sign in as any patient, the demo physician or the governance board", errUsage, oidcSecretEnv)
	}
	if *demoLogin {
		if err := loopbackOnly(*addr); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, *dsn, *data, newLogger(*verbose))
	if err != nil {
		return err
	}
	defer a.Close()
	var auth web.Authenticator // nil: the demo sign-in page
	if *demoLogin {
		a.demoIdentities = demoStaffIdentities()
	}
	if oidcf.enabled() {
		key, err := loadKey(a.dataDir, "session.key", "GENEGUARD_SESSION_KEY")
		if err != nil {
			return err
		}
		if auth, err = oidcf.authenticator(ctx, oidcCfg, key, a.log); err != nil {
			return err
		}
	}
	return a.serve(ctx, *addr, *workers, auth, nil, stdout)
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("worker", "Works queued computations until interrupted. Safe to run many, and to kill at any time:\na job whose worker died is rescued and run again without duplicating its result.", stderr)
	dsn := fs.String("db", "", "database: SQLite file path or postgres:// URL (default DATA/geneguard.db)")
	data := fs.String("data", "geneguard-data", "data directory: genotype store and keys")
	workers := fs.Int("workers", 2, "concurrent jobs")
	rescue := fs.Duration("rescue-after", 2*time.Minute, "take over a job running longer than this (its worker died)")
	verbose := fs.Bool("v", false, "verbose logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openApp(ctx, *dsn, *data, newLogger(*verbose))
	if err != nil {
		return err
	}
	defer a.Close()
	a.startAuditSequencer(ctx)
	client, err := queue.Start(ctx, a.store, a.runner, a.queueConfig(*workers, *rescue))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "worker %s started with %d slots; Ctrl-C to stop\n", a.runner.Worker, *workers)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Stop(stopCtx)
}

// serve runs the HTTP server (and, with workers > 0, a queue client) until
// ctx ends; shutdown stops HTTP first, then the workers, then the caller
// closes the database. auth proves who signs in; nil means the demo
// sign-in page. ready, when set, is called once listening.
func (a *app) serve(ctx context.Context, addr string, workers int, auth web.Authenticator, ready func(url string), stdout io.Writer) error {
	var client *river.Client[*sql.Tx]
	if workers > 0 {
		var err error
		client, err = queue.Start(ctx, a.store, a.runner, a.queueConfig(workers, 0))
		if err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	key, err := loadKey(a.dataDir, "session.key", "GENEGUARD_SESSION_KEY")
	if err != nil {
		return err
	}
	a.startAuditSequencer(ctx)
	aud, err := a.startCheckpoints(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	opts := web.Options{Auth: auth, SessionKey: key, Logger: a.log, Demo: a.demoIdentities, Receipts: aud}
	srv := &http.Server{Handler: web.New(a.svc, opts), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if ready != nil {
		ready(url)
	} else {
		fmt.Fprintf(stdout, "geneguard serving on %s\n", url)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.log.Warn("http shutdown", slog.Any("err", err))
	}
	if client != nil {
		if err := client.Stop(shutCtx); err != nil {
			a.log.Warn("queue shutdown", slog.Any("err", err))
		}
	}
	return nil
}

// startCheckpoints signs an audit checkpoint now and then every interval
// while ctx lasts, keeping the last one in DATA/audit.checkpoint outside
// the database, so that receipts are available within one interval of an
// event and a database rolled back under the server is refused.
func (a *app) startCheckpoints(ctx context.Context, every time.Duration) (*platform.Auditor, error) {
	if err := mayMakeAuditKey(ctx, a.store, a.dataDir); err != nil {
		return nil, err
	}
	signer, vkey, _, err := loadAuditSigner(a.dataDir, defaultAuditOrigin, true)
	if err != nil {
		return nil, err
	}
	aud, err := platform.NewAuditor(a.store, vkey, signer)
	if err != nil {
		return nil, err
	}
	state := filepath.Join(a.dataDir, auditStateFile)
	last, err := os.ReadFile(state)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit state: %w", err)
	}
	save := func(n []byte) {
		if err := os.WriteFile(state, n, 0o600); err != nil {
			a.log.Error("audit: saving the last checkpoint", slog.Any("err", err))
		}
	}
	n, _, err := aud.Checkpoint(ctx, last)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	save(n)
	go aud.RunCheckpoints(ctx, every, n, save, func(err error) {
		a.log.Error("audit: checkpoint refused or failed", slog.Any("err", err))
	})
	return aud, nil
}

// loopbackOnly refuses to serve the demo sign-in page, where anyone can be
// any patient or the governance board, beyond this machine.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v", errUsage, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: --addr %s: the demo sign-in lets anyone sign in as any patient, physician or the governance board, so it listens on loopback only (127.0.0.1 or localhost); use OIDC (--oidc-*) to serve beyond this machine", errUsage, addr)
}
