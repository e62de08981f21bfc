package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cofre-cc/cofre/internal/printable"
)

// ErrMalformedResponse: an agent's answer does not decode, or is not what
// the agent may send (evidence of another format, not marked simulation,
// too large).
var ErrMalformedResponse = errors.New("agent: malformed response")

// ErrInvalidWorkload: a Workload the client was asked to send would be
// refused by the agent (see Workload's field limits). Nothing was sent.
var ErrInvalidWorkload = errors.New("agent: invalid workload")

// APIError is a non-2xx answer of the agent: its HTTP status and the code
// and message of its error body (Code is empty when the body was not one).
// Code and Message are stripped of control characters, since an agent is
// untrusted and the CLI prints them.
type APIError struct {
	Status  int
	Code    string // a Code* value, or empty
	Message string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = strings.ToLower(http.StatusText(e.Status))
	}
	msg := fmt.Sprintf("agent: %d %s", e.Status, code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// decodeAPIError turns a non-2xx body into an *APIError. It never fails.
func decodeAPIError(status int, body []byte) *APIError {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Code == "" {
		eb = errorBody{Message: string(body)}
	}
	return &APIError{Status: status, Code: sanitize(eb.Code), Message: sanitize(eb.Message)}
}

// sanitize makes text from the peer safe to print.
func sanitize(s string) string { return printable.Text(s, maxErrorString) }
