package web

import (
	"errors"
	"net/http"

	"github.com/geneguard/geneguard/platform"
)

// statusByCode is the one table from platform error codes to HTTP
// statuses. A code missing here (a new one, or a bug) is served as 500
// with the internal message, so nothing unreviewed reaches a user.
var statusByCode = map[platform.Code]int{
	platform.CodeInvalid:   http.StatusBadRequest,
	platform.CodeNotFound:  http.StatusNotFound,
	platform.CodeForbidden: http.StatusForbidden,
	platform.CodeConsent:   http.StatusForbidden,
	platform.CodeConflict:  http.StatusConflict,
	platform.CodeInternal:  http.StatusInternalServerError,
}

// codeUnauthenticated is the API's answer without a session. It is not a
// platform code: the service never sees anonymous calls.
const codeUnauthenticated platform.Code = "unauthenticated"

const internalMessage = "Internal error."

// APIError is the body of every API error response, inside
// {"error": ...}. Code is a platform code, or "unauthenticated".
type APIError struct {
	Code    platform.Code `json:"code"`
	Message string        `json:"message"`
}

// publicError is what a user may see of err: its code, HTTP status and a
// message. Internal and unknown codes get "Internal error." whatever their
// message says, because such messages may name tables, files or people.
type publicError struct {
	APIError
	status int
}

func toPublic(err error) publicError {
	code := platform.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok || code == platform.CodeInternal {
		return publicError{APIError{platform.CodeInternal, internalMessage}, http.StatusInternalServerError}
	}
	return publicError{APIError{code, platform.ErrorMessage(err)}, status}
}

// invalid is a shortcut for errors the web layer itself finds in a request.
func invalid(msg string) error {
	return &platform.Error{Code: platform.CodeInvalid, Message: msg}
}

// logError records err when its detail is hidden from the user: the log is
// the only place the cause of a 500 can be found. Client errors are the
// client's business and are not logged beyond the access log.
func (s *server) logError(r *http.Request, err error) {
	if toPublic(err).status < 500 {
		return
	}
	var pe *platform.Error
	attrs := []any{"method", r.Method, "path", r.URL.Path, "request_id", RequestIDFrom(r.Context()), "err", err}
	if errors.As(err, &pe) {
		attrs = append(attrs, "code", string(pe.Code))
	}
	s.log.ErrorContext(r.Context(), "web: request failed", attrs...)
}
