// Package identity owns who a person is to the platform: the Estonian
// personal identification code (isikukood) that citizens and physicians use,
// the pseudonym under which every genomic record is kept, and the roles of
// the people who act on the system.
package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrPersonalCode is wrapped by every personal-code validation failure.
var ErrPersonalCode = errors.New("invalid personal code")

// PersonalCode is a validated Estonian personal identification code
// (GYYMMDDSSSC). It is what a citizen types and what TARA puts in the
// ID token's sub claim as "EE"+code; the platform stores only its pseudonym.
type PersonalCode string

// ParsePersonalCode validates s (spaces and dashes ignored): eleven digits, a century-and-sex digit 1–6,
// a real calendar date, and the check digit by the two-pass mod-11 rule.
// An "EE" prefix (TARA's sub claim) is accepted and removed.
func ParsePersonalCode(s string) (PersonalCode, error) {
	// People paste codes grouped with spaces or dashes; those carry no digits.
	s = strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "EE"), "ee")
	if len(s) != 11 {
		return "", fmt.Errorf("%w: %q has %d characters, want 11 digits", ErrPersonalCode, s, len(s))
	}
	d := make([]int, 11)
	for i := range s {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("%w: %q has a non-digit at position %d", ErrPersonalCode, s, i+1)
		}
		d[i] = int(s[i] - '0')
	}
	if d[0] < 1 || d[0] > 6 {
		return "", fmt.Errorf("%w: %q starts with %d, want 1–6 (century and sex)", ErrPersonalCode, s, d[0])
	}
	if _, err := birthDate(s); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrPersonalCode, s, err)
	}
	if want := CheckDigit(s[:10]); d[10] != want {
		return "", fmt.Errorf("%w: %q has check digit %d, want %d", ErrPersonalCode, s, d[10], want)
	}
	return PersonalCode(s), nil
}

// CheckDigit computes the eleventh digit of a personal code from its first
// ten: weights 1..9,1; if the remainder mod 11 is 10, weights 3..9,1,2,3;
// if that is 10 again, the digit is 0.
func CheckDigit(first10 string) int {
	w1 := [10]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 1}
	w2 := [10]int{3, 4, 5, 6, 7, 8, 9, 1, 2, 3}
	sum := func(w [10]int) int {
		s := 0
		for i := 0; i < 10; i++ {
			s += int(first10[i]-'0') * w[i]
		}
		return s % 11
	}
	if r := sum(w1); r != 10 {
		return r
	}
	if r := sum(w2); r != 10 {
		return r
	}
	return 0
}

func birthDate(s string) (time.Time, error) {
	century := map[byte]int{'1': 1800, '2': 1800, '3': 1900, '4': 1900, '5': 2000, '6': 2000}[s[0]]
	y := century + int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	dd := int(s[5]-'0')*10 + int(s[6]-'0')
	t := time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != dd {
		return time.Time{}, fmt.Errorf("birth date %04d-%02d-%02d does not exist", y, m, dd)
	}
	return t, nil
}

// BirthDate is the date of birth encoded in the code.
func (c PersonalCode) BirthDate() time.Time {
	t, _ := birthDate(string(c))
	return t
}

// Sex is "female" or "male", from the parity of the first digit.
func (c PersonalCode) Sex() string {
	if (c[0]-'0')%2 == 0 {
		return "female"
	}
	return "male"
}

// Age is the age in whole years on day now.
func (c PersonalCode) Age(now time.Time) int {
	b := c.BirthDate()
	age := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		age--
	}
	return age
}

// Pseudonymizer derives stable pseudonyms from personal codes with a keyed
// hash, so the database never holds a personal code and a stolen database
// cannot be joined back to people without the key.
type Pseudonymizer struct{ key []byte }

// NewPseudonymizer returns a pseudonymizer keyed by key (at least 16 bytes).
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("identity: pseudonym key must be at least 16 bytes, got %d", len(key))
	}
	return &Pseudonymizer{key: append([]byte(nil), key...)}, nil
}

// Pseudonym returns "P-" followed by 16 base32 characters (80 bits) of
// HMAC-SHA256(key, code).
func (p *Pseudonymizer) Pseudonym(c PersonalCode) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(c))
	sum := m.Sum(nil)
	return "P-" + base32.StdEncoding.EncodeToString(sum[:10])
}

// keyCheckLabel is what a key's fingerprint is the HMAC of. Its version
// lets a later fingerprint scheme coexist with recorded ones.
const keyCheckLabel = "geneguard pseudonym key check v1"

// Fingerprint identifies the key without revealing it: the hex
// HMAC-SHA256(key, "geneguard pseudonym key check v1"). The database
// records it when it is first set up, so that opening it with another key
// is refused: every person would otherwise get another pseudonym, and a
// look-up by personal code would find no one (or record consent under a
// phantom). Being an HMAC under the key, it gives no help in guessing the
// key or in linking personal codes to pseudonyms.
func (p *Pseudonymizer) Fingerprint() string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(keyCheckLabel))
	return hex.EncodeToString(m.Sum(nil))
}
