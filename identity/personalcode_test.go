package identity_test

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/internal/testcorpus"
)

func TestParsePersonalCode(t *testing.T) {
	cases := []struct {
		in      string
		ok      bool
		wantErr string
	}{
		{"37605030299", true, ""},   // check digit by the first pass
		{"EE37605030299", true, ""}, // TARA sub form
		{"376 0503 0299", true, ""}, // pasted with grouping
		{"37605030298", false, "check digit 8, want 9"},
		{"3760503029", false, "want 11 digits"},
		{"3760503029x", false, "non-digit"},
		{"77605030299", false, "want 1–6"},
		{"37602300299", false, "does not exist"},
	}
	for _, c := range cases {
		_, err := identity.ParsePersonalCode(c.in)
		if c.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, identity.ErrPersonalCode) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want one containing %q", c.in, err, c.wantErr)
			}
		}
	}
}

// TestCheckDigitSecondPass covers the rule's rarely taken branches: a first
// remainder of 10 falls back to the second weights, and a second 10 gives 0.
func TestCheckDigitSecondPass(t *testing.T) {
	found2, found0 := false, false
	for n := 0; n < 200000 && !(found2 && found0); n++ {
		s := "3800101" + pad(n%1000) // only the serial varies
		w1 := weighted(s, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 1})
		if w1 != 10 {
			continue
		}
		w2 := weighted(s, []int{3, 4, 5, 6, 7, 8, 9, 1, 2, 3})
		got := identity.CheckDigit(s)
		if w2 == 10 {
			found0 = true
			if got != 0 {
				t.Errorf("CheckDigit(%s) = %d, want 0", s, got)
			}
		} else {
			found2 = true
			if got != w2 {
				t.Errorf("CheckDigit(%s) = %d, want %d", s, got, w2)
			}
		}
	}
	if !found2 {
		t.Error("no code exercised the second pass")
	}
}

func weighted(s string, w []int) int {
	sum := 0
	for i := range w {
		sum += int(s[i]-'0') * w[i]
	}
	return sum % 11
}

func pad(n int) string {
	s := "000" + itoa(n)
	return s[len(s)-3:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestDerived(t *testing.T) {
	c, err := identity.ParsePersonalCode("60001019906")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sex() != "female" || !c.BirthDate().Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("sex %s birth %v", c.Sex(), c.BirthDate())
	}
	if a := c.Age(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)); a != 26 {
		t.Errorf("age = %d, want 26", a)
	}
	p, _ := identity.NewPseudonymizer([]byte("0123456789abcdef"))
	if p.Pseudonym(c) != p.Pseudonym(c) || !strings.HasPrefix(p.Pseudonym(c), "P-") {
		t.Errorf("pseudonym not stable: %s", p.Pseudonym(c))
	}
	q, _ := identity.NewPseudonymizer([]byte("fedcba9876543210"))
	if p.Pseudonym(c) == q.Pseudonym(c) {
		t.Error("pseudonyms under different keys must differ")
	}
}

// TestCorpusVectors checks the published test vectors.
func TestCorpusVectors(t *testing.T) {
	path := testcorpus.Require(t, "interop", "estonia", "isikukood_test_vectors.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		n++
		_, err := identity.ParsePersonalCode(fields[0])
		if want := fields[1] == "valid"; want != (err == nil) {
			t.Errorf("%s: err = %v, want valid=%v", fields[0], err, want)
		}
	}
	if n == 0 {
		t.Fatal("no vectors read")
	}
}

// TestFingerprint: the key's fingerprint is a fixed, documented function of
// the key (so any installation computes the same one), differs between
// keys and does not contain the key.
func TestFingerprint(t *testing.T) {
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	for _, c := range []struct {
		name string
		key  []byte
		want string // hex HMAC-SHA256(key, "geneguard pseudonym key check v1")
	}{
		{"test key", []byte("geneguard-test-pseudonym-key-01"), "0a04fc121cb9330857d7a80cada1259edf923a7c6319094ec5da45ad999acdbf"},
		{"bytes 0..31", seq, "6c2f9b51372bfda7fcff9cb5dd5b6fa8104106c93e080b4d8b77cb14216a15a1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := identity.NewPseudonymizer(c.key)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Fingerprint()
			if got != c.want {
				t.Errorf("Fingerprint() = %s, want %s", got, c.want)
			}
			if strings.Contains(got, hex.EncodeToString(c.key)) {
				t.Error("the fingerprint contains the key")
			}
		})
	}
}
