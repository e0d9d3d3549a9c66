package platform

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers: the HTTP layer maps codes to
// statuses in one table, the CLI to exit messages.
type Code string

const (
	CodeInvalid   Code = "invalid"   // bad input; the message says what and where
	CodeNotFound  Code = "not_found" // no such person, result or algorithm
	CodeForbidden Code = "forbidden" // the principal's role may not do this
	CodeConsent   Code = "consent"   // the person's consent is not in force
	CodeConflict  Code = "conflict"  // the state does not allow it (e.g. four eyes)
	CodeInternal  Code = "internal"  // anything else; its detail is not shown
)

// Error is the platform's one error type. Message is safe to show to the
// user who caused it; Err, when set, is the cause for logs.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Error returns Message: it is written to be complete (callers put the
// cause's text in it where the user needs it), so the cause is not
// repeated. Err stays reachable through Unwrap for errors.Is and logs.
func (e *Error) Error() string {
	if e.Message == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message; a %w verb in format
// keeps the cause reachable.
func Errorf(code Code, format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorCode returns the code of err, CodeInternal for foreign errors.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "Internal error."
}
