package testenv

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
)

// VCF is a plain-text VCF held as lines, for tests that need a file the
// demo generator does not make: a genotype missing, a bad line deep in the
// file, filler records that make every job read more.
type VCF struct {
	Meta    []string   // "##" lines, without the newline
	Columns []string   // the #CHROM line's fields; samples from index 9
	Rows    [][]string // data lines split on tabs
}

// DemoVCF returns the demo generator's VCF for people (the CYP2C19
// definition positions and the demo score's variants, sample IDs being
// personal codes).
func DemoVCF(t testing.TB, people []demo.Person) *VCF {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.vcf.gz")
	if err := demo.WriteVCF(path, people); err != nil {
		t.Fatalf("demo VCF: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("demo VCF: %v", err)
	}
	v := &VCF{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "##"):
			v.Meta = append(v.Meta, line)
		case strings.HasPrefix(line, "#"):
			v.Columns = strings.Split(line, "\t")
		case line != "":
			v.Rows = append(v.Rows, strings.Split(line, "\t"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("demo VCF: %v", err)
	}
	return v
}

// Sample returns the column index (from 0 among samples) of a sample ID.
func (v *VCF) Sample(t testing.TB, id string) int {
	t.Helper()
	for i, s := range v.Columns[9:] {
		if s == id {
			return i
		}
	}
	t.Fatalf("VCF has no sample %q", id)
	return -1
}

// Row returns the index of the data row at chrom:pos.
func (v *VCF) Row(t testing.TB, chrom string, pos int) int {
	t.Helper()
	for i, r := range v.Rows {
		if r[0] == chrom && r[1] == fmt.Sprint(pos) {
			return i
		}
	}
	t.Fatalf("VCF has no row at %s:%d", chrom, pos)
	return -1
}

// AddFiller appends n records on chr22 past every demo position, all
// samples homozygous reference. No algorithm declares them, but every
// extraction streams (and validates) them, so they make jobs slower.
func (v *VCF) AddFiller(n int) {
	gts := strings.Repeat("\t0/0", len(v.Columns)-9)
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("chr22\t%d\t.\tA\tG\t.\tPASS\t.\tGT%s", 45_000_000+i, gts)
		v.Rows = append(v.Rows, strings.Split(line, "\t"))
	}
}

// Line returns the 1-based file line of data row i.
func (v *VCF) Line(i int) int { return len(v.Meta) + 1 + i + 1 }

// Bytes returns the file.
func (v *VCF) Bytes() []byte {
	var b bytes.Buffer
	for _, m := range v.Meta {
		b.WriteString(m)
		b.WriteByte('\n')
	}
	b.WriteString(strings.Join(v.Columns, "\t"))
	b.WriteByte('\n')
	for _, r := range v.Rows {
		b.WriteString(strings.Join(r, "\t"))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Write writes the file to a new path in t's temp dir named name.
func (v *VCF) Write(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, v.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
