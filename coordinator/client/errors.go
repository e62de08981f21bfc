package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/internal/printable"
)

// ErrRefused is what every failure to establish the coordinator's identity
// unwraps to: its evidence, its appraisal, the binding of the evidence to
// its root, or its TLS certificate was refused. A caller that gets it has
// learned that the peer is not (provably) the coordinator it wants; a
// network error or an *APIError is something else.
var ErrRefused = errors.New("coordinator not verified")

// Causes of a refusal, besides the attest.Err* classes of the evidence
// verifier and attest.ErrBinding.
var (
	// ErrSimulation: the coordinator's evidence is sim.v1 and
	// Options.InsecureSimulation is not set.
	ErrSimulation = errors.New("evidence is SIMULATION (no confidentiality); not accepted without InsecureSimulation")
	// ErrPolicy: the evidence is genuine but its claims do not satisfy
	// Options.Policy, or there is no policy for hardware evidence.
	ErrPolicy = errors.New("evidence does not satisfy the policy")
	// ErrCertificate: the TLS server certificate was not issued directly by
	// the attested (or pinned) root, or the root is not a usable CA.
	ErrCertificate = errors.New("TLS server certificate not issued by the coordinator's root")
	// ErrResponse: the attestation response does not decode.
	ErrResponse = errors.New("malformed attestation response")
)

// RefusalError says which check refused the coordinator. It unwraps to
// ErrRefused and to its cause, so both errors.Is(err, ErrRefused) and
// errors.Is(err, attest.ErrBinding) (for example) hold.
type RefusalError struct {
	// Check names the failed check: "evidence", "simulation", "appraisal",
	// "binding", "root certificate", "tls certificate" or "response".
	Check string
	// Reasons are the appraisal's reasons (Check "appraisal" only).
	Reasons []appraise.Reason
	Err     error
}

func (e *RefusalError) Error() string {
	msg := fmt.Sprintf("client: coordinator not verified: %s: %v", e.Check, e.Err)
	for _, r := range e.Reasons {
		msg += "; " + r.String()
	}
	return msg
}

func (e *RefusalError) Unwrap() []error { return []error{ErrRefused, e.Err} }

func refuse(check string, err error) *RefusalError {
	return &RefusalError{Check: check, Err: err}
}

// APIError is a non-2xx response of the coordinator: the HTTP status and
// the api.Error body (Code is empty when the body was not an api.Error).
// It cannot embed api.Error, whose field named Error would clash with the
// method. The coordinator never puts secrets in it; the client strips
// control characters from it anyway, since the CLI prints it to a terminal.
type APIError struct {
	Status  int
	Code    string // an api.Code* value, or empty
	Message string
	Reasons []api.Reason
}

// HTTPStatus returns the answer's HTTP status, for callers that must not
// import this package to tell a refusal (4xx) from an outage.
func (e *APIError) HTTPStatus() int { return e.Status }

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = strings.ToLower(http.StatusText(e.Status))
	}
	msg := fmt.Sprintf("coordinator: %d %s", e.Status, code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	for _, r := range e.Reasons {
		msg += "; " + r.Check
		if r.Field != "" {
			msg += ": " + r.Field
		}
		if r.Expected != "" || r.Actual != "" {
			msg += fmt.Sprintf(": expected %s, got %s", r.Expected, r.Actual)
		}
	}
	return msg
}

// decodeAPIError turns a non-2xx body into an *APIError. It never fails:
// a body that is not an api.Error leaves Code empty and keeps a sanitized
// prefix of the body as the message.
func decodeAPIError(status int, body []byte) *APIError {
	var ae api.Error
	if err := json.Unmarshal(body, &ae); err != nil || ae.Code == "" {
		ae = api.Error{Message: string(body)}
	}
	e := &APIError{Status: status, Code: sanitize(ae.Code), Message: sanitize(ae.Message), Reasons: ae.Reasons}
	if len(e.Reasons) > maxReasons {
		e.Reasons = e.Reasons[:maxReasons]
	}
	for i := range e.Reasons {
		r := &e.Reasons[i]
		r.Check, r.Field, r.Expected, r.Actual = sanitize(r.Check), sanitize(r.Field), sanitize(r.Expected), sanitize(r.Actual)
	}
	return e
}

// sanitize makes text from the peer safe to print.
func sanitize(s string) string { return printable.Text(s, maxErrorString) }
