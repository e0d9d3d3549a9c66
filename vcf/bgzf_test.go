package vcf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biogo/hts/bgzf"
)

// TestTruncatedBGZF: a BGZF file cut between blocks is a valid shorter
// gzip stream, so only the missing end-of-file block reveals it.
func TestTruncatedBGZF(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.vcf.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bgzf.NewWriter(f, 1)
	if _, err := w.Write([]byte(good)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := readFile(path); err != nil {
		t.Fatalf("complete BGZF: %v", err)
	}
	b, _ := os.ReadFile(path)
	cut := filepath.Join(dir, "cut.vcf.gz")
	os.WriteFile(cut, b[:len(b)-28], 0o644)
	if err := readFile(cut); err == nil || !strings.Contains(err.Error(), "end-of-file block is missing") {
		t.Fatalf("cut BGZF: err = %v, want the missing end-of-file block named", err)
	}
}
