package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/geneguard/geneguard/identity"
)

// Refused actions are audited too: a refused sign-in ("login.refused"), a
// refused read of someone's data ("view.refused") or a refused consent
// change ("consent.refused"). Each is its own small transaction — there is
// no action for it to commit with — appended under the data subject's
// pseudonym when there is one, so a patient's access log shows who tried
// and was turned away. Details hold the reason; nothing about the target
// beyond the pseudonym is recorded.

// maxRefusalReason bounds a recorded reason, in characters.
const maxRefusalReason = 300

// refusalText is reason as it is recorded: valid, printable, bounded.
func refusalText(reason string) string {
	reason = strings.ToValidUTF8(strings.TrimSpace(reason), "?")
	reason = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, reason)
	if utf8.RuneCountInString(reason) > maxRefusalReason {
		reason = string([]rune(reason)[:maxRefusalReason]) + "…"
	}
	if reason == "" {
		reason = "refused"
	}
	return reason
}

// refused records that p was refused action on person's data (object says
// what: "results", "record", ...) and returns refusal, the error to give p.
// The event is filed under person only when such a person exists: a
// probe with a made-up pseudonym is recorded without one. If recording
// fails, p is refused all the same; the failure is kept as the cause.
func (s *Service) refused(ctx context.Context, p identity.Principal, person, action, object, purpose string, refusal error) error {
	err := s.store.InTx(ctx, func(tx Tx) error {
		details := map[string]string{"reason": refusalText(ErrorMessage(refusal))}
		target := ""
		if person != "" {
			_, err := tx.Person(person)
			switch {
			case err == nil:
				target = person
			case IsNotFound(err):
				details["target"] = "no such person"
			default:
				return err
			}
		}
		return audit(ctx, tx, p, target, action, refusalText(object), purpose, details)
	})
	if err != nil {
		return &Error{Code: ErrorCode(refusal), Message: ErrorMessage(refusal), Err: errors.Join(refusal, fmt.Errorf("platform: recording the refusal: %w", err))}
	}
	return refusal
}

// RefuseSignIn records a refused sign-in ("login.refused") with its reason
// (which names no claim values). role and subject are what the identity
// provider vouched for, when it did (e.g. a sign-in method too weak for the
// service): a patient's personal code is recorded only as its pseudonym,
// so the refusal is in that patient's access log; a staff subject is an
// account name. Otherwise both are empty and the actor is "unknown".
func (s *Service) RefuseSignIn(ctx context.Context, role identity.Role, subject, reason string) error {
	p := identity.Principal{Subject: "unknown", Role: role}
	person, purpose := "", string(role)
	switch role {
	case identity.RolePatient:
		code, err := identity.ParsePersonalCode(subject)
		if err != nil {
			p.Role, purpose = "", ""
			break
		}
		person = s.pseudo.Pseudonym(code)
		p.Person, purpose = person, "patient self-service"
	case identity.RolePhysician, identity.RoleGovernance, identity.RoleOperator:
		if a, err := NormalizeAccount(subject); err == nil {
			p.Subject = a
		}
	default:
		p.Role, purpose = "", ""
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		who, target, why := p, person, purpose
		if target != "" {
			// The event is filed under the pseudonym only if the patient
			// has a record (their access log); else it names no one.
			if _, err := tx.Person(target); IsNotFound(err) {
				who, target, why = identity.Principal{Subject: "unknown"}, "", ""
			} else if err != nil {
				return err
			}
		}
		return audit(ctx, tx, who, target, "login.refused", "portal", why, map[string]string{"reason": refusalText(reason)})
	})
}
