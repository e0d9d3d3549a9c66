package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/runner"
	"github.com/geneguard/geneguard/store/sqlstore"
	"github.com/geneguard/geneguard/web"
)

// app is everything a platform command needs, wired once.
type app struct {
	store   *sqlstore.Store
	svc     *platform.Service
	runner  *runner.Runner
	dataDir string
	log     *slog.Logger
	// demoIdentities are offered on the login page (demo only).
	demoIdentities []web.DemoIdentity
}

// openApp opens the database (migrating it), loads or creates the keys in
// dataDir, and wires the service and the runner. It is for the commands
// that set a deployment up (demo, ingest, serve, worker); the others use
// openExistingApp.
func openApp(ctx context.Context, dsn, dataDir string, log *slog.Logger) (*app, error) {
	return openAppMode(ctx, dsn, dataDir, log, true)
}

// openExistingApp is openApp for commands that work on an existing
// deployment: it refuses, creating nothing, when the SQLite database or
// the pseudonym key is not there (a mistyped --data or --db must not
// start an empty deployment under a fresh key).
func openExistingApp(ctx context.Context, dsn, dataDir string, log *slog.Logger) (*app, error) {
	return openAppMode(ctx, dsn, dataDir, log, false)
}

// requireDB refuses a database that does not exist yet: an SQLite file
// path (default DATA/geneguard.db) with no file. A PostgreSQL database is
// the server's to have.
func requireDB(dsn, dataDir string) error {
	if dsn == "" {
		dsn = filepath.Join(dataDir, "geneguard.db")
	}
	if sqlstore.IsPostgres(dsn) {
		return nil
	}
	if _, err := os.Stat(dsn); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database at %s (run `geneguard ingest` or `geneguard demo` first, or point --data/--db at an existing one)", dsn)
		}
		return fmt.Errorf("database %s: %w", dsn, err)
	}
	return nil
}

func openAppMode(ctx context.Context, dsn, dataDir string, log *slog.Logger, create bool) (*app, error) {
	if dsn == "" {
		dsn = filepath.Join(dataDir, "geneguard.db")
	}
	if create {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	} else if err := requireDB(dsn, dataDir); err != nil {
		return nil, err
	}
	key, err := loadKeyMode(dataDir, "pseudonym.key", "GENEGUARD_PSEUDONYM_KEY", create)
	if err != nil {
		return nil, err
	}
	pseudo, err := identity.NewPseudonymizer(key)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	r := &runner.Runner{
		Store:   st,
		Engines: map[algorithm.Kind]runner.Engine{algorithm.KindPGx: runner.NewPGxEngine(), algorithm.KindPRS: runner.NewPRSEngine(), algorithm.KindMonogenic: runner.NewMonogenicEngine()},
		Worker:  fmt.Sprintf("%s/%d", host, os.Getpid()),
		// Files are read from this data directory's store by their
		// content address, checked while read.
		GenotypeDir: filepath.Join(dataDir, "genotypes"),
	}
	svc := platform.NewService(st, pseudo)
	// Ingest reports (and refuses) genome builds no active algorithm can use.
	svc.SetBuildChecker(r)
	// Validation cases (a submitted version's, or a built-in's before the
	// system activates it) run through the same engines as persons' jobs.
	svc.SetValidator(r)
	return &app{store: st, svc: svc, runner: r, dataDir: dataDir, log: log}, nil
}

// Close sequences the audit events still queued and closes the database.
func (a *app) Close() error {
	a.sequenceAtExit()
	return a.store.Close()
}

func (a *app) genotypeDir() string { return a.runner.GenotypeDir }

// loadKey returns a secret from env, else from dataDir/name, creating a
// random one there on first use. Losing the pseudonym key means personal
// codes can no longer be matched to records, so it is kept beside the data
// and must be backed up with it.
func loadKey(dataDir, name, env string) ([]byte, error) {
	return loadKeyMode(dataDir, name, env, true)
}

// loadKeyMode is loadKey; without create a missing key is an error.
func loadKeyMode(dataDir, name, env string, create bool) ([]byte, error) {
	if v := os.Getenv(env); v != "" {
		return []byte(v), nil
	}
	path := filepath.Join(dataDir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("key file %s is not 16+ bytes of hex", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key: %w", err)
	}
	if !create {
		return nil, fmt.Errorf("no key at %s (nor $%s): the data directory --data does not belong to this database; a new key would give every person another pseudonym", path, env)
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return k, nil
}

func newLogger(verbose bool) *slog.Logger {
	lvl := slog.LevelWarn
	if verbose {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// queueConfig is the worker configuration every long-running process uses.
// The daily age-milestone pass is registered as a River periodic job, which
// River runs on the elected leader only, so N workers still run it once a
// day; the pass itself remembers the last day it covered.
func (a *app) queueConfig(workers int, rescueAfter time.Duration) queue.Config {
	return queue.Config{
		Workers:     workers,
		RescueAfter: rescueAfter,
		Log:         a.log,
		AgeMilestones: func(ctx context.Context, day time.Time) error {
			rep, err := a.svc.AgeMilestones(ctx, identity.System, day)
			if err != nil {
				return err
			}
			if n := len(rep.Queued); n > 0 {
				a.log.Info("age milestones", "day", day.Format("2006-01-02"), "queued", n)
			}
			return nil
		},
	}
}
