package plink_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/plink"
)

func write(t *testing.T, bed []byte, bim, fam string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x")
	for ext, b := range map[string][]byte{".bed": bed, ".bim": []byte(bim), ".fam": []byte(fam)} {
		if err := os.WriteFile(p+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

const fam5 = "f1 s1 0 0 2 -9\nf2 s2 0 0 2 -9\nf3 s3 0 0 1 -9\nf4 s4 0 0 2 -9\nf5 s5 0 0 2 -9\n"

func TestRead(t *testing.T) {
	// Five samples → 2 bytes per variant. Variant 1 codes, low bits
	// first: s1 00 (A1/A1), s2 01 (missing), s3 10 (het), s4 11 (A2/A2);
	// s5 10. Byte 0 = 11 10 01 00 = 0xE4, byte 1 = 0x02.
	bed := []byte{0x6c, 0x1b, 0x01, 0xE4, 0x02, 0xFF, 0x03}
	p := write(t, bed, "1\trs1\t0\t100\tA\tG\nchr1\trs2\t0\t200\tC\tT\n", fam5)
	r, err := plink.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := len(r.Samples()); n != 5 || r.Samples()[2].IID != "s3" {
		t.Fatalf("samples %+v", r.Samples())
	}
	v, packed, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if v.Pos != 100 || v.A1 != "A" || v.A2 != "G" {
		t.Errorf("variant %+v", v)
	}
	want := []uint8{plink.HomA1, plink.Missing, plink.Het, plink.HomA2, plink.Het}
	for i, w := range want {
		if c := plink.Code(packed, i); c != w {
			t.Errorf("sample %d: code %d, want %d", i, c, w)
		}
	}
	if _, packed, err = r.Next(); err != nil || plink.Code(packed, 4) != plink.HomA2 {
		t.Errorf("variant 2: %v %v", packed, err)
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
}

func TestReject(t *testing.T) {
	bim2 := "1\trs1\t0\t100\tA\tG\n1\trs2\t0\t200\tC\tT\n"
	for name, c := range map[string]struct {
		bed      []byte
		bim, fam string
		want     string
	}{
		"bad magic":     {[]byte{0, 0, 1, 0, 0}, bim2, fam5, "bad magic"},
		"sample-major":  {[]byte{0x6c, 0x1b, 0x00, 0, 0}, bim2, fam5, "sample-major"},
		"truncated":     {[]byte{0x6c, 0x1b, 0x01, 0, 0, 0}, bim2, fam5, "not 3 + a whole number of 2-byte variants"},
		"bim too short": {[]byte{0x6c, 0x1b, 0x01, 0, 0, 0, 0}, "1\trs1\t0\t100\tA\tG\n", fam5, "1 variants, but the .bed holds 2"},
		"bim too long":  {[]byte{0x6c, 0x1b, 0x01, 0, 0}, bim2, fam5, "the .bim has more"},
		"bim fields":    {[]byte{0x6c, 0x1b, 0x01, 0, 0}, "1 rs1 100 A G\n", fam5, "x.bim:1: 5 fields"},
		"fam fields":    {[]byte{0x6c, 0x1b, 0x01, 0}, bim2, "f1 s1 0 0\n", "x.fam:1: 4 fields"},
		"bad position":  {[]byte{0x6c, 0x1b, 0x01, 0, 0}, "1\trs1\t0\tx\tA\tG\n", fam5, `position "x"`},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := plink.Open(write(t, c.bed, c.bim, c.fam))
			if err == nil {
				defer r.Close()
				for err == nil {
					_, _, err = r.Next()
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
