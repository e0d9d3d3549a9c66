// Package testenv gives the platform's tests real databases and a wired
// platform on them: a fresh SQLite file per test always, and a fresh
// PostgreSQL schema per test when GENEGUARD_TEST_POSTGRES names a server
// (CI sets it). Nothing here is used outside tests.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" for database/sql

	"github.com/geneguard/geneguard/store/sqlstore"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL database
// the tests may create schemas in, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "GENEGUARD_TEST_POSTGRES"

// Backend is a kind of database a test can get a fresh, empty one of.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// DSN returns the DSN of a new empty database for t; it is removed
	// when t ends.
	DSN func(t testing.TB) string
}

// Backends lists SQLite, and PostgreSQL when PostgresEnv is set. A test
// that ranges over it runs once per dialect; the log says when PostgreSQL
// was left out so a green run is not mistaken for a full one.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{{Name: "sqlite", DSN: SQLiteDSN}}
	if os.Getenv(PostgresEnv) != "" {
		bs = append(bs, Backend{Name: "postgres", DSN: PostgresDSN})
	} else {
		t.Logf("%s is not set: PostgreSQL cases skipped", PostgresEnv)
	}
	return bs
}

// SQLiteDSN returns the path of a new SQLite file in t's temp dir.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "geneguard.db")
}

// PostgresDSN creates a schema with a random name in the PostgresEnv
// database and returns a DSN whose search_path is that schema, so every
// table (the platform's, goose's and River's) lands there and tests do not
// see each other. The schema is dropped when t ends. It skips t when
// PostgresEnv is not set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "gg_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("postgres: create schema (is %s reachable?): %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("postgres: drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenStore opens (and migrates) the store at dsn and closes it when t
// ends.
func OpenStore(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Count runs a query returning one integer, e.g. a COUNT(*).
func Count(t testing.TB, st *sqlstore.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(context.Background(), rebind(st, query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// rebind turns '?' into '$n' on PostgreSQL.
func rebind(st *sqlstore.Store, q string) string {
	if st.Dialect() != sqlstore.Postgres {
		return q
	}
	out := make([]byte, 0, len(q)+8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = fmt.Appendf(out, "$%d", n)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

// Exec runs statements in order on st, failing t on the first error.
func Exec(t testing.TB, st *sqlstore.Store, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := st.DB().ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// BeforeKeyRecords turns st back into a database set up before migration
// 00008 recorded the pseudonym key (and every later migration undone, so
// that the next open runs them again in order).
func BeforeKeyRecords(t testing.TB, st *sqlstore.Store) {
	t.Helper()
	Exec(t, st, `DROP TABLE pseudonym_key`, `DELETE FROM goose_db_version WHERE version_id >= 8`)
}
