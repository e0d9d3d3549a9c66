// Package testcorpus finds ../shared/corpus, the outside reference data that
// conformance tests read. The corpus is not part of the project; tests that
// need it skip with a message when it is absent.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus folder or "" when there is none. It walks up from
// the working directory to the module root (the folder with go.mod) and
// looks beside it, because the project is checked out next to shared/.
func Dir() string {
	if d := os.Getenv("GENEGUARD_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpus")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Require returns the corpus folder joined with elem, or skips the test.
func Require(t testing.TB, elem ...string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skip("reference corpus ../shared/corpus not found; conformance test skipped")
	}
	return filepath.Join(append([]string{d}, elem...)...)
}
