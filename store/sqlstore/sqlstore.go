// Package sqlstore is the platform's storage adapter, for SQLite (the
// embedded default) and PostgreSQL (production) through database/sql.
//
// One adapter serves both because the SQL the platform needs is the common
// subset; only the schema (types, identity columns) differs, so each dialect
// has its own embedded goose migrations and the queries are rebound from
// '?' to '$n' for PostgreSQL. River, the job queue, runs on the same
// database/sql pool (riversqlite / riverdatabasesql), which lets a trigger's
// jobs be inserted in the same transaction as the event that caused them.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for database/sql
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/geneguard/geneguard/platform"
)

//go:embed migrations
var migrations embed.FS

// Dialect is the SQL dialect of a store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store implements platform.Store.
type Store struct {
	db       *sql.DB
	dialect  Dialect
	driver   riverdriver.Driver[*sql.Tx]
	inserter *river.Client[*sql.Tx]
	now      func() time.Time
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens (and migrates) the database named by dsn: a postgres:// URL or
// an SQLite file path (created when absent).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{now: func() time.Time { return time.Now().UTC() }}
	var err error
	if IsPostgres(dsn) {
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(16)
		// Keep them all: database/sql keeps 2 idle by default, so a
		// burst of concurrent requests would close and re-open
		// connections, each a new PostgreSQL backend (a fork) with an
		// empty statement cache: tens of milliseconds on a loaded host.
		s.db.SetMaxIdleConns(16)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
		s.driver = riverdatabasesql.New(s.db)
	} else {
		s.dialect = SQLite
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("sqlstore: %w", err)
			}
		}
		s.db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		// SQLite allows one writer; one connection keeps River and the
		// platform from tripping over SQLITE_BUSY (River's advice).
		s.db.SetMaxOpenConns(1)
		s.driver = riversqlite.New(s.db)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlstore: connect %s: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.inserter, err = river.NewClient(s.driver, &river.Config{})
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlstore: river client: %w", err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.db, sub)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.dialect, err)
	}
	m, err := rivermigrate.New(s.driver, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("sqlstore: migrate river: %w", err)
	}
	return nil
}

// DB returns the pool, for the queue worker and for tests that tamper.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Driver returns the River driver on the store's pool.
func (s *Store) Driver() riverdriver.Driver[*sql.Tx] { return s.driver }

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// InTx implements platform.Store. PostgreSQL serialization failures and
// SQLite busy errors are retried; fn may run more than once.
func (s *Store) InTx(ctx context.Context, fn func(platform.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.inTx(ctx, false, fn)
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return err
}

// Read implements platform.Store.
func (s *Store) Read(ctx context.Context, fn func(platform.Tx) error) error {
	return s.inTx(ctx, true, fn)
}

func (s *Store) inTx(ctx context.Context, readOnly bool, fn func(platform.Tx) error) (err error) {
	sqltx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if !readOnly && s.dialect == Postgres && platform.LazyCommit(ctx) {
		if _, err := sqltx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			sqltx.Rollback()
			return fmt.Errorf("sqlstore: lazy commit: %w", err)
		}
	}
	t := &tx{s: s, tx: sqltx, ctx: ctx, now: s.now()}
	defer func() {
		if p := recover(); p != nil {
			sqltx.Rollback()
			panic(p)
		}
	}()
	if err := fn(t); err != nil {
		sqltx.Rollback()
		return err
	}
	if readOnly {
		return sqltx.Rollback()
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40001") || strings.Contains(msg, "SQLSTATE 40P01") ||
		strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// JobStats implements platform.Store.
func (s *Store) JobStats(ctx context.Context) (platform.JobStats, error) {
	var st platform.JobStats
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job WHERE kind IN ('compute', 'compute-batch') GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("sqlstore: job stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return st, fmt.Errorf("sqlstore: job stats: %w", err)
		}
		switch state {
		case "available", "scheduled", "pending":
			st.Available += n
		case "running":
			st.Running += n
		case "completed":
			st.Completed += n
		case "retryable":
			st.Retryable += n
		case "cancelled":
			st.Cancelled += n
		case "discarded":
			st.Discarded += n
		}
	}
	return st, rows.Err()
}

// rebind turns '?' placeholders into '$n' for PostgreSQL.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

var errNoRows = sql.ErrNoRows

func notFound(err error, format string, a ...any) error {
	if errors.Is(err, errNoRows) {
		return &platform.Error{Code: platform.CodeNotFound, Message: fmt.Sprintf(format, a...), Err: platform.ErrNotFound}
	}
	return fmt.Errorf("sqlstore: "+format+": %w", append(a, err)...)
}
