package attestd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
)

// Code is a stable, machine-readable error code, the "code" member of every
// error response. Clients switch on it; the message is for people. Codes
// are never renamed (docs/api/attestd.yaml lists them).
type Code string

const (
	CodeBadRequest        Code = "bad_request"         // 400: malformed JSON, base64 or field
	CodeInvalidPolicy     Code = "invalid_policy"      // 400: a policy document does not parse or validate
	CodeUnauthenticated   Code = "unauthenticated"     // 401: admin endpoint without a client certificate
	CodeForbidden         Code = "forbidden"           // 403: client certificate not from the admin CA
	CodeNonceUnknown      Code = "nonce_unknown"       // 403: never issued, or already used
	CodeNonceExpired      Code = "nonce_expired"       // 403: issued, but its lifetime is over
	CodeEvidenceRefused   Code = "evidence_refused"    // 403: a verifier refused the evidence
	CodeBindingMismatch   Code = "binding_mismatch"    // 403: evidence does not bind nonce and runtime data
	CodePolicyRefused     Code = "policy_refused"      // 403: appraisal is contraindicated (or none)
	CodeNotFound          Code = "not_found"           // 404: no such route or policy
	CodeUnsupportedFormat Code = "unsupported_format"  // 404: no verifier for the format
	CodeUnknownPolicy     Code = "unknown_policy"      // 404: the named policy does not exist
	CodeMethodNotAllowed  Code = "method_not_allowed"  // 405
	CodePrecondition      Code = "precondition_failed" // 412: If-Match does not match the stored policy
	CodeBodyTooLarge      Code = "body_too_large"      // 413
	CodeInternal          Code = "internal"            // 500
	CodeUnavailable       Code = "unavailable"         // 503: audit log unwritable, too many challenges, shutting down
)

// Reason is one failed check, or one fact, in an error response and in the
// audit log.
type Reason struct {
	// Submod names the evidence the reason is about: "cpu0", "gpu0",
	// "part0"… (the token's submodule names).
	Submod string `json:"submod,omitempty"`
	// Check and Class come from the evidence verifier (attest.CheckError
	// and its refusal class, e.g. "signature invalid").
	Check string `json:"check,omitempty"`
	Class string `json:"class,omitempty"`
	// Field, Expected and Actual name what was compared.
	Field    string `json:"field,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Tier and Toleration come from appraisal (appraise.Reason).
	Tier       string `json:"tier,omitempty"`
	Toleration string `json:"toleration,omitempty"`
	// Message holds what a verifier said that fits no field above.
	Message string `json:"message,omitempty"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Status is the EAR status of a refused appraisal (policy_refused).
	Status  string   `json:"status,omitempty"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// apiError is an error answer on its way out.
type apiError struct {
	status int
	body   ErrorResponse
	// retryAfter, if non-zero, sets Retry-After (seconds).
	retryAfter int
}

func (e *apiError) Error() string { return string(e.body.Code) + ": " + e.body.Message }

func newError(status int, code Code, msg string) *apiError {
	return &apiError{status: status, body: ErrorResponse{Code: code, Message: msg}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.status, e.body)
}

// verifierReasons flattens a verifier's refusal into one Reason per failed
// check: it follows joined errors into each branch and single wraps down to
// the *attest.CheckError they carry. The result is bounded (boundReasons).
func verifierReasons(submod string, err error) []Reason {
	var out []Reason
	for _, e := range attest.Failures(err) {
		ce, ok := e.(*attest.CheckError)
		if !ok {
			out = append(out, Reason{Submod: submod, Class: className(e), Message: e.Error()})
			continue
		}
		r := Reason{Submod: submod, Check: ce.Check, Field: ce.Field, Expected: ce.Expected, Actual: ce.Actual, Class: className(e)}
		if ce.Err != nil && attest.Class(ce.Err) != ce.Err {
			r.Message = ce.Err.Error()
		}
		out = append(out, r)
	}
	return boundReasons(submod, out)
}

func className(err error) string {
	if c := attest.Class(err); c != nil {
		return c.Error()
	}
	return ""
}

// appraisalReasons converts appraise reasons, tagging each with its submod.
// The result is bounded (boundReasons).
func appraisalReasons(submod string, rs []appraise.Reason) []Reason {
	out := make([]Reason, 0, min(len(rs), maxReasonsPerPiece+1))
	for _, r := range rs {
		out = append(out, Reason{Submod: submod, Field: r.Field, Expected: r.Expected, Actual: r.Actual, Tier: r.Tier.String(), Toleration: r.Toleration})
	}
	return boundReasons(submod, out)
}

// boundReasons keeps the first maxReasonsPerPiece reasons of one piece of
// evidence, adds one saying how many it dropped, and clips every string.
//
// Reasons quote what the client sent (certificate subjects, report fields),
// and they go into the error response and the audit log. Unbounded, one
// request of many parts with huge certificate subjects wrote a 1.6 MB
// audit line, more than the reader's line limit: the log stopped
// verifying and the service could not restart.
func boundReasons(submod string, rs []Reason) []Reason {
	if len(rs) > maxReasonsPerPiece {
		dropped := len(rs) - maxReasonsPerPiece
		rs = append(rs[:maxReasonsPerPiece:maxReasonsPerPiece], Reason{Submod: submod, Message: fmt.Sprintf("%d more reasons omitted", dropped)})
	}
	for i := range rs {
		r := &rs[i]
		for _, f := range []*string{&r.Submod, &r.Check, &r.Class, &r.Field, &r.Expected, &r.Actual, &r.Tier, &r.Toleration, &r.Message} {
			*f = clip(*f)
		}
	}
	return rs
}

// clip cuts s to maxReasonValue bytes on a rune boundary, saying how long
// it was.
func clip(s string) string {
	if len(s) <= maxReasonValue {
		return s
	}
	cut := maxReasonValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}
