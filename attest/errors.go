package attest

import (
	"errors"
	"fmt"
)

// Refusal classes. Every refusal a verifier returns wraps exactly one of
// them, so callers (and exit codes, and metrics) can tell why.
var (
	// ErrMalformed: the bytes do not parse as the format, or reserved fields
	// are set.
	ErrMalformed = errors.New("malformed evidence")
	// ErrSignature: a signature over the evidence does not verify.
	ErrSignature = errors.New("signature invalid")
	// ErrCertificate: a certificate chain does not lead to a trusted root,
	// is outside its validity, or is revoked.
	ErrCertificate = errors.New("certificate not trusted")
	// ErrCollateral: collateral is missing, unsigned, expired or does not
	// match the evidence.
	ErrCollateral = errors.New("collateral invalid")
	// ErrTCB: the platform's TCB matches no level the vendor recognizes, or a
	// revoked one.
	ErrTCB = errors.New("tcb not recognized")
	// ErrBinding: the report data does not bind the expected nonce, key and
	// workload digest.
	ErrBinding = errors.New("report data binding mismatch")
	// ErrUnsupportedFormat: no verifier is registered for the format.
	ErrUnsupportedFormat = errors.New("unsupported evidence format")
)

// CheckError is a refusal that names the check that failed, the field it
// looked at, and what it expected and found. Expected and Actual never hold
// secrets: evidence fields are public by construction.
type CheckError struct {
	Check    string // e.g. "quote signature", "tcb level"
	Field    string // e.g. "mr_enclave", "tcb_info.nextUpdate"
	Expected string
	Actual   string
	Err      error // the refusal class (ErrSignature…) or a more specific cause
}

func (e *CheckError) Error() string {
	msg := e.Check
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Expected != "" || e.Actual != "" {
		msg += fmt.Sprintf(": expected %s, got %s", orNone(e.Expected), orNone(e.Actual))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *CheckError) Unwrap() error { return e.Err }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Refuse builds a CheckError of the given class.
func Refuse(class error, check, field, expected, actual string) *CheckError {
	return &CheckError{Check: check, Field: field, Expected: expected, Actual: actual, Err: class}
}

// Malformed returns an error of class ErrMalformed; format may use %w to
// keep a cause.
func Malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Class returns which refusal class err belongs to, or nil.
func Class(err error) error {
	for _, c := range []error{ErrMalformed, ErrSignature, ErrCertificate, ErrCollateral, ErrTCB, ErrBinding, ErrUnsupportedFormat} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// Failures flattens a refusal into its failed checks: it follows joined
// errors into every branch and single wraps down to the *CheckError they
// carry. Each element is a *CheckError, or an error that carries none (a
// parse failure, say), so callers can report every reason, not the first.
func Failures(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if _, ok := e.(*CheckError); ok {
			out = append(out, e)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *CheckError
		if inner := errors.Unwrap(e); inner != nil && errors.As(inner, &ce) {
			walk(inner)
			return
		}
		out = append(out, e)
	}
	if err != nil {
		walk(err)
	}
	return out
}
