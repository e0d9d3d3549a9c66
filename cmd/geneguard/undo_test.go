package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestAbandon: a command that fails after opening a deployment it created
// takes all of it back (directories, database, key, genotype copy); one that
// fails on an existing deployment removes nothing that was there.
func TestAbandon(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	data := filepath.Join(parent, "a", "b")
	a, err := openApp(ctx, "", data, newLogger(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"geneguard.db", pseudonymKeyFile} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("open made no %s: %v", f, err)
		}
	}
	copyPath := filepath.Join(a.genotypeDir(), "copy.vcf")
	if err := a.created.mkdirAll(a.genotypeDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.created.add(copyPath)
	a.abandon()
	if left := walk(parent); len(left) > 0 {
		t.Errorf("a new deployment abandoned left %v", left)
	}

	// An existing deployment: set up, then opened again and abandoned.
	a, err = openApp(ctx, "", data, newLogger(false))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	before := walk(parent)
	a, err = openApp(ctx, "", data, newLogger(false))
	if err != nil {
		t.Fatal(err)
	}
	a.abandon()
	for _, p := range before {
		if _, err := os.Stat(p); err != nil && !strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") {
			t.Errorf("abandoning an existing deployment removed %s", p)
		}
	}
}

// TestWriteNewKey: the first key written to a path stays; a second writer
// gets that key back instead of replacing it.
func TestWriteNewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), pseudonymKeyFile)
	for i, c := range []struct {
		key         []byte
		want        []byte
		wantWritten bool
	}{
		{testenv.PseudonymKey, testenv.PseudonymKey, true},
		{otherKey, testenv.PseudonymKey, false},
	} {
		got, written, err := writeNewKey(path, c.key)
		if err != nil || string(got) != string(c.want) || written != c.wantWritten {
			t.Errorf("write %d: %q, written %v, %v; want %q, %v", i+1, got, written, err, c.want, c.wantWritten)
		}
	}
	if left, _ := os.ReadDir(filepath.Dir(path)); len(left) != 1 {
		t.Errorf("%d files next to the key, want the key alone", len(left))
	}
}

// TestAbandonKeepsDatabaseInUse: when two commands set a new data directory
// up at once, the one that fails keeps the database and key it created if
// the other has recorded data in them meanwhile, and the genotype copy the
// other's dataset may name.
func TestAbandonKeepsDatabaseInUse(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			data := filepath.Join(t.TempDir(), "data")
			people := demo.Cohort(2)
			vcf := testenv.DemoVCF(t, people).Write(t, "cohort.vcf")

			// A sets the deployment up and stores the file's copy, as
			// ingest does, then fails after B has ingested the same file.
			a, err := openApp(ctx, dsn, data, newLogger(false))
			if err != nil {
				t.Fatal(err)
			}
			p, err := ingest.Check(ctx, vcf, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.created.mkdirAll(a.genotypeDir(), 0o750); err != nil {
				t.Fatal(err)
			}
			if added, err := p.Store(a.genotypeDir()); err != nil || !added {
				t.Fatalf("store the copy: added %v, %v", added, err)
			}
			a.created.add(p.Dataset.Path)
			mustRun(t, "ingest", "--db", dsn, "--data", data, "--vcf", vcf)
			a.abandon()

			kept := []string{filepath.Join(data, pseudonymKeyFile), p.Dataset.Path}
			if b.Name == "sqlite" {
				kept = append(kept, dsn)
			}
			for _, f := range kept {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("abandon removed %s, which another command uses: %v", f, err)
				}
			}
			if got := rowCounts(t, dsn); got["persons"] != 2 || got["datasets"] != 1 || got["pseudonym_key"] != 1 {
				t.Errorf("rows %v after abandon; want the other command's 2 persons and 1 dataset", got)
			}
			mustRun(t, "results", "--person", string(people[0].Code), "--purpose", "qa", "--db", dsn, "--data", data)
		})
	}
}
