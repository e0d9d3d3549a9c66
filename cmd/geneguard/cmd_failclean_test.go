package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
)

// walk lists every path under root, root excluded.
func walk(root string) []string {
	var left []string
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error {
		if p != root {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestFailedCommandsCreateNothing: a command that fails before doing its
// work leaves no new files: an ingest of a file it refuses, and an ingest
// or worker that cannot reach its database, create no data directory,
// database, key or genotype copy (and leave an existing empty data
// directory empty).
func TestFailedCommandsCreateNothing(t *testing.T) {
	people := demo.Cohort(3)
	good := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")
	empty := testenv.DemoVCF(t, people)
	empty.Rows = nil
	emptyPath := empty.Write(t, "empty.vcf")
	badMap := filepath.Join(t.TempDir(), "map.tsv")
	if err := os.WriteFile(badMap, []byte("S1\t60001019906\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: the connection is refused at once.
	unreachable := "postgres://postgres@127.0.0.1:1/geneguard?sslmode=disable&connect_timeout=5"
	type fail struct {
		name string
		args []string
		want string
	}
	cases := []fail{
		{"ingest of a file without records", []string{"ingest", "--vcf", emptyPath}, "the VCF has no records; nothing was ingested"},
		{"ingest with a map for another file", []string{"ingest", "--vcf", good, "--sample-map", badMap}, "not columns of this VCF"},
		{"ingest, database unreachable", []string{"ingest", "--vcf", good, "--db", unreachable}, "sqlstore: connect postgres"},
		{"worker, database unreachable", []string{"worker", "--db", unreachable}, "sqlstore: connect postgres"},
	}
	if base := os.Getenv(testenv.PostgresEnv); base != "" {
		// A server that answers, without the database named.
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/geneguard_no_such_db"
		missing := u.String()
		cases = append(cases,
			fail{"ingest, no such postgres database", []string{"ingest", "--vcf", good, "--db", missing}, "does not exist"},
			fail{"worker, no such postgres database", []string{"worker", "--db", missing}, "does not exist"},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				parent := t.TempDir()
				data := filepath.Join(parent, "new", "data")
				if existing {
					data = parent
				}
				code, out, errb := runCommand(append(c.args, "--data", data)...)
				if code != 1 || out != "" || !strings.Contains(errb, c.want) {
					t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errb, c.want)
				}
				if left := walk(parent); len(left) > 0 {
					t.Errorf("data dir existing=%v: left %v", existing, left)
				}
			}
		})
	}
}
