package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
)

// TestTopLevelHelp: help that was asked for is the answer (stdout, exit 0)
// and lists every command aligned; no command at all is a usage error.
func TestTopLevelHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		code, out, errb := runCommand(arg)
		if code != 0 || errb != "" || !strings.Contains(out, "usage: geneguard <command>") {
			t.Errorf("geneguard %s: exit %d, stdout %q, stderr %q", arg, code, out, errb)
		}
		// Every summary starts in the same column.
		col := -1
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || !strings.HasPrefix(line, "  ") {
				continue
			}
			if _, ok := commands[f[0]]; !ok {
				continue
			}
			rest := line[2+len(f[0]):]
			c := 2 + len(f[0]) + len(rest) - len(strings.TrimLeft(rest, " "))
			if col == -1 {
				col = c
			} else if c != col {
				t.Errorf("summary of %s starts at column %d, others at %d", f[0], c, col)
			}
		}
	}
	if code, out, errb := runCommand(); code != 2 || out != "" || !strings.Contains(errb, "usage: geneguard <command>") {
		t.Errorf("geneguard with no command: exit %d, stdout %q, stderr %q", code, out, errb)
	}
}

// TestUnknownPersonSaid: a valid personal code nobody has data for is
// answered as such, not with a bare pseudonym.
func TestUnknownPersonSaid(t *testing.T) {
	data := dataDir(t)
	dsn := filepath.Join(data, "geneguard.db")
	testenv.NewWorld(t, dsn)
	for _, args := range [][]string{
		{"results", "--person", "60001019906", "--purpose", "qa"},
		{"consent", "history", "--person", "60001019906", "--algorithm", demo.PGxAlgorithmID},
	} {
		code, _, errb := runCommand(append(args, "--db", dsn, "--data", data)...)
		if code == 0 || !strings.Contains(errb, "no person P-") || !strings.Contains(errb, "nothing (no genotypes, consent or order) is recorded") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb)
		}
	}
}

// TestDemoLoginLoopbackOnly: the demo sign-in (anyone can be anyone) is
// refused on a non-loopback address before anything is opened or created.
func TestDemoLoginLoopbackOnly(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--demo-login", "--addr", "0.0.0.0:0"},
		{"serve", "--demo-login", "--addr", ":0"},
		{"demo", "--addr", "192.0.2.1:0"},
	} {
		data := filepath.Join(t.TempDir(), "d")
		code, _, errb := runCommand(append(args, "--data", data)...)
		if code != 2 || !strings.Contains(errb, "loopback only") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("%v: created %s", args, data)
		}
	}
	for _, a := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		if err := loopbackOnly(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
}
