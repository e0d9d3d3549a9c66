package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
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
	// created lists what this process created and abandon removes.
	created *undo
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

// The pseudonym key's file in the data directory, and the variable that
// may hold it instead.
const (
	pseudonymKeyFile = "pseudonym.key"
	pseudonymKeyEnv  = "GENEGUARD_PSEUDONYM_KEY"
)

// openAppMode opens the database and checks the pseudonym key against the
// one it was set up with (sqlstore.CheckPseudonymKey): a key that is not
// the database's would give every person another pseudonym, so that
// look-ups find no one and consent lands on phantoms. With create, a
// missing data directory, SQLite database and key are made, in that order
// of need: the key is written only once the database has been reached, so a
// command that cannot connect leaves no key behind, and whatever this call
// created is removed again when it fails. What it created stays listed in
// the app's undo (abandon), except a key whose fingerprint a database
// that outlives the command now holds.
func openAppMode(ctx context.Context, dsn, dataDir string, log *slog.Logger, create bool) (_ *app, err error) {
	if dsn == "" {
		dsn = filepath.Join(dataDir, "geneguard.db")
	}
	if !create {
		if err := requireDB(dsn, dataDir); err != nil {
			return nil, err
		}
	}
	keyPath := filepath.Join(dataDir, pseudonymKeyFile)
	key, keySrc, err := readKey(dataDir, pseudonymKeyFile, pseudonymKeyEnv)
	if err != nil {
		return nil, err
	}
	if key == nil && !create {
		return nil, fmt.Errorf("no key at %s (nor $%s): the data directory --data does not belong to this database; a new key would give every person another pseudonym", keyPath, pseudonymKeyEnv)
	}
	newKey := key == nil
	if newKey {
		// Made now, written to keyPath only once the database is reached.
		key = make([]byte, 32)
		rand.Read(key)
	}
	pseudo, err := identity.NewPseudonymizer(key)
	if err != nil {
		return nil, err
	}
	u := &undo{}
	defer func() {
		if err != nil {
			u.run()
		}
	}()
	newDB := false
	if create {
		if err := u.mkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		if !sqlstore.IsPostgres(dsn) {
			if err := u.mkdirAll(filepath.Dir(dsn), 0o755); err != nil {
				return nil, fmt.Errorf("database dir: %w", err)
			}
			if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
				newDB = true
				u.addIfAbsent(dsn, dsn+"-journal", dsn+"-wal", dsn+"-shm")
			}
		}
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close() // before undo removes its files
		}
	}()
	if newKey {
		// A database that recorded a key must not be handed a new one.
		recorded, err := st.PseudonymKeyFingerprint(ctx)
		if err != nil {
			return nil, err
		}
		if recorded != "" {
			return nil, fmt.Errorf("no key at %s (nor $%s), but the database %s was set up with one (fingerprint %.12s…): the data directory --data does not belong to this database, or its key was lost; restore %s from the backup. A new key would give every person another pseudonym; nothing was changed", keyPath, pseudonymKeyEnv, displayDSN(dsn), recorded, pseudonymKeyFile)
		}
		// Nor must one set up before its key was recorded (migration
		// 00008) that is in use: it adopts the key it is opened with, and
		// it was used with another.
		persons, datasets, err := st.Holdings(ctx)
		if err != nil {
			return nil, err
		}
		if persons > 0 || datasets > 0 {
			return nil, fmt.Errorf("the database %s holds %d persons and %d datasets but records no pseudonym key (it was set up before keys were recorded), and there is no key at %s: give this database's key (--data DIR or $%s); a new key would give every person another pseudonym; nothing was changed", displayDSN(dsn), persons, datasets, keyPath, pseudonymKeyEnv)
		}
		var written bool
		if key, written, err = writeNewKey(keyPath, key); err != nil {
			return nil, err
		}
		if written {
			u.add(keyPath)
		}
		if pseudo, err = identity.NewPseudonymizer(key); err != nil {
			return nil, err
		}
		keySrc = "at " + keyPath
	}
	// A database set up before its key was recorded (migration 00008)
	// adopts this key, an existing one (a new key was refused above unless
	// the database is empty): it is the one it has been used with, unless
	// the data directory was already mixed up, which nothing recorded could
	// show.
	if _, err := st.CheckPseudonymKey(ctx, pseudo.Fingerprint()); err != nil {
		if errors.Is(err, sqlstore.ErrPseudonymKeyMismatch) {
			fix := fmt.Sprintf("use the data directory that belongs to this database (--data), or restore its %s from the backup", pseudonymKeyFile)
			if strings.HasPrefix(keySrc, "in $") {
				fix = fmt.Sprintf("set $%s to this database's key, or unset it to use %s", pseudonymKeyEnv, keyPath)
			}
			return nil, fmt.Errorf("the pseudonym key %s is not the one this database (%s) was set up with: %w; nothing was changed. Another key would give every person another pseudonym: %s", keySrc, displayDSN(dsn), err, fix)
		}
		return nil, err
	}
	if !newDB {
		// Its fingerprint is in a database that stays.
		u.keep(keyPath)
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
	return &app{store: st, svc: svc, runner: r, dataDir: dataDir, log: log, created: u}, nil
}

// displayDSN is dsn as an error may show it: a PostgreSQL URL without its
// password.
func displayDSN(dsn string) string {
	if !sqlstore.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}

// Close sequences the audit events still queued and closes the database.
func (a *app) Close() error {
	a.sequenceAtExit()
	return a.store.Close()
}

// abandon is Close for a command that failed before doing its work: it also
// removes what opening the app created (a new data directory, SQLite
// database and key) and whatever the command recorded in a.created since —
// unless the database now holds persons or datasets. Then another process
// set the same data directory up at the same time, found the database and
// key this one created, and recorded its data in them (and may use the
// genotype copy this one made): all of it stays. Left, they are harmless:
// the database records the key's fingerprint.
func (a *app) abandon() {
	persons, datasets, err := a.store.Holdings(context.Background())
	if err != nil {
		a.log.Warn("failed command: its new database and key are kept, whether another process uses them is unknown", "error", err)
	}
	a.Close()
	if err != nil || persons > 0 || datasets > 0 {
		a.created.forget()
		return
	}
	a.created.run()
}

func (a *app) genotypeDir() string { return a.runner.GenotypeDir }

// loadKey returns a secret from env, else from dataDir/name, creating a
// random one there on first use. Losing the pseudonym key means personal
// codes can no longer be matched to records, so it is kept beside the data
// and must be backed up with it.
func loadKey(dataDir, name, env string) ([]byte, error) {
	k, _, err := readKey(dataDir, name, env)
	if err != nil || k != nil {
		return k, err
	}
	k = make([]byte, 32)
	rand.Read(k)
	k, _, err = writeNewKey(filepath.Join(dataDir, name), k)
	return k, err
}

// readKey returns a secret from env, else from dataDir/name, and where it
// came from ("in $ENV", "at PATH"); nil when there is none.
func readKey(dataDir, name, env string) ([]byte, string, error) {
	if v := os.Getenv(env); v != "" {
		// The same form as the key file, so that its contents can be
		// moved into the variable (a secret store) as they are.
		k, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) < 16 {
			return nil, "", fmt.Errorf("$%s must hold the key as the key file %s does: 16+ bytes as hex (its contents, e.g. $(cat DATA/%s))", env, name, name)
		}
		return k, "in $" + env, nil
	}
	path := filepath.Join(dataDir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) < 16 {
		return nil, "", fmt.Errorf("key file %s is not 16+ bytes of hex", path)
	}
	return k, "at " + path, nil
}

// writeNewKey writes k, hex, to path unless a key is there already, and
// returns the key now at path and whether it is k. The file appears whole or not at all (a
// temporary file linked into place), so two processes setting up one data
// directory at once end up with the same key instead of the second
// overwriting the first's.
func writeNewKey(path string, k []byte) (_ []byte, written bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return nil, false, fmt.Errorf("key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, _, err := readKey(filepath.Dir(path), filepath.Base(path), "")
			return k, false, err
		}
		return nil, false, fmt.Errorf("key: %w", err)
	}
	return k, true, nil
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
