package coordinator

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// Error is a refusal or failure the API reports: an HTTP status, an api
// error code, a message safe to show (it never holds a secret) and, for a
// refused activation, the checks that failed.
type Error struct {
	Status  int
	Code    string
	Message string
	Reasons []api.Reason
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is lets errors.Is match on the code: errors.Is(err, ErrRefused).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == 0 && t.Code == e.Code
}

// Sentinels for errors.Is, one per api error code.
var (
	ErrBadRequest   = &Error{Code: api.CodeBadRequest}
	ErrUnauthorized = &Error{Code: api.CodeUnauthorized}
	ErrForbidden    = &Error{Code: api.CodeForbidden}
	ErrNotFound     = &Error{Code: api.CodeNotFound}
	ErrConflict     = &Error{Code: api.CodeConflict}
	ErrRefused      = &Error{Code: api.CodeRefused}
	ErrLocked       = &Error{Code: api.CodeLocked}
)

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func unauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Message: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: api.CodeConflict, Message: fmt.Sprintf(format, args...)}
}

func locked(name string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: api.CodeLocked,
		Message: fmt.Sprintf("manifest %q is locked: the sealing key was lost and its recovery holders have not yet restored it", name)}
}

func refused(reasons []api.Reason, format string, args ...any) *Error {
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons:maxReasons], api.Reason{Check: fmt.Sprintf("and %d more", len(reasons)-maxReasons)})
	}
	return &Error{Status: http.StatusForbidden, Code: api.CodeRefused, Message: fmt.Sprintf(format, args...), Reasons: reasons}
}

// internal hides the cause from the client (it is logged, never sent: it
// may name paths or state) and reports a generic failure.
var errInternal = &Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: "internal error; see the coordinator's log"}

// checkReasons turns attestation refusals (attest.CheckError, possibly
// joined) into API reasons, every failure named.
func checkReasons(prefix string, err error) []api.Reason {
	var out []api.Reason
	for _, f := range attest.Failures(err) {
		var ce *attest.CheckError
		if errors.As(f, &ce) {
			out = append(out, api.Reason{Check: prefix + ce.Check, Field: ce.Field, Expected: ce.Expected, Actual: ce.Actual})
			continue
		}
		out = append(out, api.Reason{Check: prefix + className(f), Actual: clip(f.Error())})
	}
	return out
}

func className(err error) string {
	if c := attest.Class(err); c != nil {
		return c.Error()
	}
	return "error"
}

// clip bounds text that came, in part, from untrusted input.
func clip(s string) string {
	const max = 512
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// clipName bounds a name taken from a request before it reaches an audit
// line or an error: names in manifests are short, and a request must not
// make audit lines (fsynced, kept forever) large.
func clipName(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
