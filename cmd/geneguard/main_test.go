package main

import (
	"strings"
	"testing"
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
