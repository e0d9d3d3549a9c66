package platform

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/geneguard/geneguard/identity"
)

// MaxAccountLen is the longest staff or operator account name, in
// characters.
const MaxAccountLen = 64

// NormalizeAccount is the one spelling of a staff or operator account
// name under which it is recorded and compared: surrounding spaces
// trimmed, case folded. " alice" and "Alice" are the account "alice", so
// the four-eyes rule cannot be passed by spelling one's own name
// differently. An empty name, one that is not UTF-8, one longer than
// MaxAccountLen, or one holding control or other non-printing characters
// is refused.
func NormalizeAccount(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", &Error{Code: CodeInvalid, Message: "account name is not valid text (UTF-8)"}
	}
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "":
		return "", &Error{Code: CodeInvalid, Message: "account name is empty"}
	case utf8.RuneCountInString(n) > MaxAccountLen:
		return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("account name is longer than %d characters", MaxAccountLen)}
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("account name %q holds a control or non-printing character", name)}
		}
	}
	return n, nil
}

// sameAccount reports whether two recorded account names are one
// account, however either was spelled when it was stored.
func sameAccount(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// staffAccount is p's account as it is recorded, refusing a principal
// whose account name is not acceptable (see NormalizeAccount). Patients
// are recorded by pseudonym and need no account name.
func staffAccount(p identity.Principal) (string, error) {
	if p.Role == identity.RolePatient && p.Person != "" {
		return p.Person, nil
	}
	return NormalizeAccount(p.Subject)
}

// MaxPurposeLen is the longest purpose of use recorded with a view, in
// characters.
const MaxPurposeLen = 100

// CommonPurposes are the purposes the platform itself records; a caller
// may state another, as long as CheckPurpose accepts it.
var CommonPurposes = []string{"treatment", "prescribing", "self-access", "operator review", "quality assurance", "research"}

// CheckPurpose validates a purpose of use (the "why" recorded with each
// view in the audit log) and returns it trimmed: printable text of 1 to
// MaxPurposeLen characters, with no control characters. The error lists
// the common purposes.
func CheckPurpose(purpose string) (string, error) {
	hint := "; state why the results are viewed, e.g. " + strings.Join(CommonPurposes, ", ")
	if !utf8.ValidString(purpose) {
		return "", &Error{Code: CodeInvalid, Message: "purpose is not valid text (UTF-8)" + hint}
	}
	p := strings.TrimSpace(purpose)
	switch {
	case p == "":
		return "", &Error{Code: CodeInvalid, Message: "purpose is empty" + hint}
	case utf8.RuneCountInString(p) > MaxPurposeLen:
		return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("purpose is longer than %d characters%s", MaxPurposeLen, hint)}
	}
	for _, r := range p {
		if !unicode.IsPrint(r) {
			return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("purpose %q holds a control or non-printing character%s", purpose, hint)}
		}
	}
	return p, nil
}
