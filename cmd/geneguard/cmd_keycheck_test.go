package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// otherKey is a pseudonym key that is not testenv.PseudonymKey.
var otherKey = []byte("another-installation-key-000001")

// keyDir makes a data directory holding key as its pseudonym.key.
func keyDir(t *testing.T, key []byte) string {
	t.Helper()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, pseudonymKeyFile), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

func fingerprint(t *testing.T, key []byte) string {
	t.Helper()
	p, err := identity.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.Fingerprint()
}

// rowCounts counts the rows a refused command must not have added to.
func rowCounts(t *testing.T, dsn string) map[string]int {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := map[string]int{}
	for _, table := range []string{"persons", "consent_events", "datasets", "audit_pending", "audit_events", "river_job", "pseudonym_key"} {
		n[table] = testenv.Count(t, st, "SELECT COUNT(*) FROM "+table)
	}
	return n
}

// TestPseudonymKeyChecked: a database set up with one pseudonym key refuses
// every command run with another — from another data directory, from
// $GENEGUARD_PSEUDONYM_KEY, or a new one a setting-up command would make —
// naming the key and the database and writing nothing; its own key works.
func TestPseudonymKeyChecked(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			own := keyDir(t, testenv.PseudonymKey)
			people := demo.Cohort(3)
			code := string(people[0].Code)
			vcf := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")
			mustRun(t, "ingest", "--db", dsn, "--data", own, "--vcf", vcf)
			if got := rowCounts(t, dsn); got["persons"] != 3 || got["pseudonym_key"] != 1 {
				t.Fatalf("after set-up: %v", got)
			}
			before := rowCounts(t, dsn)

			wrong := keyDir(t, otherKey)
			keyless := t.TempDir()
			wrongPath := filepath.Join(wrong, pseudonymKeyFile)
			mismatch := "the pseudonym key at " + wrongPath + " is not the one this database (" + displayDSN(dsn) + ") was set up with"
			cases := []struct {
				name string
				env  string // $GENEGUARD_PSEUDONYM_KEY
				args []string
				want []string
			}{
				{"results", "", []string{"results", "--person", code, "--data", wrong}, []string{mismatch}},
				{"consent grant", "", []string{"consent", "grant", "--person", code, "--algorithm", demo.PGxAlgorithmID, "--data", wrong}, []string{mismatch}},
				{"ingest", "", []string{"ingest", "--data", wrong, "--vcf", vcf}, []string{mismatch}},
				{"env", hex.EncodeToString(otherKey), []string{"results", "--person", code, "--data", own}, []string{"the pseudonym key in $" + pseudonymKeyEnv + " is not the one this database (" + displayDSN(dsn) + ") was set up with"}},
				{"no key", "", []string{"worker", "--data", keyless}, []string{"no key at ", "but the database " + displayDSN(dsn) + " was set up with one (fingerprint " + fingerprint(t, testenv.PseudonymKey)[:12]}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Setenv(pseudonymKeyEnv, c.env)
					code, out, errb := runCommand(append(c.args, "--db", dsn)...)
					if code != 1 || out != "" {
						t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out)
					}
					for _, w := range append(c.want, "nothing was changed") {
						if !strings.Contains(errb, w) {
							t.Errorf("stderr %q\n does not say %q", errb, w)
						}
					}
					if got := rowCounts(t, dsn); !maps.Equal(got, before) {
						t.Errorf("rows %v after the refusal, %v before", got, before)
					}
				})
			}
			if _, err := os.Stat(filepath.Join(wrong, "genotypes")); !os.IsNotExist(err) {
				t.Errorf("the refused ingest made a genotype store: %v", err)
			}
			if left, _ := os.ReadDir(keyless); len(left) != 0 {
				t.Errorf("the refused worker left %v in its data directory", left)
			}
			if k, err := os.ReadFile(wrongPath); err != nil || string(k) != hex.EncodeToString(otherKey)+"\n" {
				t.Errorf("the other key file was changed: %q, %v", k, err)
			}

			// The database's own key still works.
			mustRun(t, "results", "--person", code, "--purpose", "qa", "--db", dsn, "--data", own)
			mustRun(t, "usage", "--db", dsn, "--data", own)

			// The key file's contents moved into the variable work as
			// they are; anything but hex is refused as such.
			k, err := os.ReadFile(filepath.Join(own, pseudonymKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv(pseudonymKeyEnv, string(k))
			mustRun(t, "results", "--person", code, "--purpose", "qa", "--db", dsn, "--data", t.TempDir())
			t.Setenv(pseudonymKeyEnv, "not a hex key")
			if c, _, errb := runCommand("results", "--person", code, "--db", dsn, "--data", own); c != 1 || !strings.Contains(errb, "$"+pseudonymKeyEnv+" must hold the key as the key file") {
				t.Errorf("a non-hex $%s: exit %d, %q", pseudonymKeyEnv, c, errb)
			}
		})
	}
}

// TestPseudonymKeyAdopted: a database set up before the key was recorded
// (migration 00008) takes the key it is first opened with, and from then
// on refuses another.
func TestPseudonymKeyAdopted(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			w := testenv.NewWorld(t, dsn)
			people := demo.Cohort(2)
			w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
			testenv.BeforeKeyRecords(t, w.Store)
			w.Store.Close()

			code := string(people[0].Code)
			mustRun(t, "results", "--person", code, "--purpose", "qa", "--db", dsn, "--data", keyDir(t, testenv.PseudonymKey))
			st := testenv.OpenStore(t, dsn)
			if fp, err := st.PseudonymKeyFingerprint(ctx); err != nil || fp != fingerprint(t, testenv.PseudonymKey) {
				t.Fatalf("recorded fingerprint %q, %v; want the key's", fp, err)
			}
			st.Close()
			c, _, errb := runCommand("results", "--person", code, "--db", dsn, "--data", keyDir(t, otherKey))
			if c != 1 || !strings.Contains(errb, "is not the one this database") {
				t.Errorf("another key after adoption: exit %d, %q", c, errb)
			}
		})
	}
}

// TestPseudonymKeyNotMadeForOldDatabase: a database set up before the key
// was recorded (migration 00008) that holds persons is not handed a new key
// by a setting-up command whose data directory has none: it refuses, leaves
// no key (nor data directory) and records no fingerprint; the database's own
// key is then adopted.
func TestPseudonymKeyNotMadeForOldDatabase(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			w := testenv.NewWorld(t, dsn)
			people := demo.Cohort(2)
			vcf := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")
			w.Ingest(t, vcf)
			testenv.BeforeKeyRecords(t, w.Store)
			w.Store.Close()

			parent := t.TempDir()
			keyless := filepath.Join(parent, "data")
			want := []string{
				"the database " + displayDSN(dsn) + " holds 2 persons and 1 datasets but records no pseudonym key",
				"there is no key at " + filepath.Join(keyless, pseudonymKeyFile),
				"give this database's key (--data DIR or $" + pseudonymKeyEnv + ")",
				"nothing was changed",
			}
			t.Setenv(pseudonymKeyEnv, "")
			for _, args := range [][]string{
				{"ingest", "--vcf", vcf},
				{"worker"},
			} {
				// A worker that is not refused runs until stopped.
				runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
				var outb, errbuf bytes.Buffer
				c := run(runCtx, append(args, "--db", dsn, "--data", keyless), &outb, &errbuf)
				cancel()
				out, errb := outb.String(), errbuf.String()
				if c != 1 || out != "" {
					t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", args[0], c, out)
				}
				for _, s := range want {
					if !strings.Contains(errb, s) {
						t.Errorf("%s: stderr %q\n does not say %q", args[0], errb, s)
					}
				}
				if left := walk(parent); len(left) > 0 {
					t.Errorf("%s: the refused command left %v", args[0], left)
				}
				got := rowCounts(t, dsn)
				if got["persons"] != 2 || got["datasets"] != 1 || got["pseudonym_key"] != 0 {
					t.Errorf("%s: rows %v after the refusal; want 2 persons, 1 dataset, no fingerprint", args[0], got)
				}
			}

			code := string(people[0].Code)
			mustRun(t, "results", "--person", code, "--purpose", "qa", "--db", dsn, "--data", keyDir(t, testenv.PseudonymKey))
			st := testenv.OpenStore(t, dsn)
			if fp, err := st.PseudonymKeyFingerprint(ctx); err != nil || fp != fingerprint(t, testenv.PseudonymKey) {
				t.Errorf("recorded fingerprint %q, %v; want the database's key's", fp, err)
			}
		})
	}
}
