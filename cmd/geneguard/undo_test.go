package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
