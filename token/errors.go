package token

import (
	"errors"
	"fmt"
)

// Refusal classes. Every refusal Verify returns is a *RefusalError that
// wraps exactly one of them; several refusals are joined with errors.Join.
// Test with errors.Is.
var (
	// ErrMalformed: the token, its header or its claims do not parse, or a
	// required claim is missing or of the wrong type.
	ErrMalformed = errors.New("malformed token")
	// ErrAlgorithm: the header names "none", an HMAC algorithm, an algorithm
	// outside the allowlist, or one that does not match the key's type.
	ErrAlgorithm = errors.New("signature algorithm not allowed")
	// ErrUnknownKey: no key in the issuer's JWKS has the token's kid, even
	// after a refresh.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrSignature: the signature does not verify with the named key.
	ErrSignature = errors.New("signature invalid")
	// ErrExpired: the token's exp is in the past (beyond the leeway).
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid: the token's iat or nbf is in the future (beyond the
	// leeway).
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrIssuer: iss is not the expected issuer.
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud does not name the relying party, or names audiences
	// when the relying party expects none.
	ErrAudience = errors.New("wrong audience")
	// ErrNonce: eat_nonce is not the nonce the relying party sent.
	ErrNonce = errors.New("wrong nonce")
	// ErrDraft: the token was issued for a draft policy (a dry run).
	ErrDraft = errors.New("draft token")
	// ErrStatus: the overall status is below the required tier.
	ErrStatus = errors.New("status below required tier")
	// ErrMeasurement: cpu0's measurement is not one of the expected ones.
	ErrMeasurement = errors.New("measurement not expected")
	// ErrConfirmation: the token is not bound (cnf) to the key the
	// presenter proved it holds.
	ErrConfirmation = errors.New("confirmation key mismatch")
	// ErrSimulation: the token attests a simulated TEE and the relying party
	// did not allow simulation.
	ErrSimulation = errors.New("simulated TEE not allowed")
)

// ErrUnavailable means the issuer's keys could not be obtained (network,
// HTTP status, an unparseable JWKS, or a refresh held back by the rate
// limit while the cached set is stale). It is not a verdict on the token:
// Verify returns it unwrapped by RefusalError, and the middleware answers
// 503.
var ErrUnavailable = errors.New("signing keys unavailable")

// refusalClasses lists the refusal classes in a fixed order, for Class.
var refusalClasses = []error{
	ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid,
	ErrIssuer, ErrAudience, ErrNonce, ErrDraft, ErrStatus, ErrMeasurement, ErrConfirmation, ErrSimulation,
}

// RefusalError is one failed check. Expected and Actual describe values
// taken from the token, the options or the presented certificate; they never
// hold the token itself. Values that come from the token are clipped to a
// bounded length, since the token is attacker-controlled until verified.
type RefusalError struct {
	Check    string // what was checked: "issuer", "submods.cpu0.measurement"…
	Expected string
	Actual   string
	Err      error // the refusal class (ErrIssuer…), possibly wrapping a cause
}

func (e *RefusalError) Error() string {
	msg := "token: " + e.Check
	if e.Expected != "" || e.Actual != "" {
		msg += fmt.Sprintf(": expected %s, got %s", orNone(e.Expected), orNone(e.Actual))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *RefusalError) Unwrap() error { return e.Err }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// refuse builds a RefusalError of class class.
func refuse(class error, check, expected, actual string) *RefusalError {
	return &RefusalError{Check: check, Expected: expected, Actual: clip(actual), Err: class}
}

// malformed is a refusal of class ErrMalformed with a cause.
func malformed(check string, cause error) *RefusalError {
	return &RefusalError{Check: check, Err: fmt.Errorf("%w: %w", ErrMalformed, cause)}
}

// malformedf is malformed with a formatted cause.
func malformedf(check, format string, args ...any) *RefusalError {
	return malformed(check, fmt.Errorf(format, args...))
}

// clip bounds a value taken from an untrusted token before it goes into an
// error (and from there into logs and HTTP responses).
func clip(s string) string {
	if len(s) <= maxErrorValue {
		return s
	}
	// Cut on a rune boundary so the result stays valid UTF-8.
	cut := maxErrorValue
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// Class returns the refusal class err belongs to (the first in a fixed
// order, for a joined error), ErrUnavailable, or nil.
func Class(err error) error {
	for _, c := range refusalClasses {
		if errors.Is(err, c) {
			return c
		}
	}
	if errors.Is(err, ErrUnavailable) {
		return ErrUnavailable
	}
	return nil
}

// Refusals flattens err into its RefusalErrors, following joined errors.
// It returns nil if err holds none.
func Refusals(err error) []*RefusalError {
	var out []*RefusalError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *RefusalError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		default:
			var re *RefusalError
			if errors.As(e, &re) {
				out = append(out, re)
			}
		}
	}
	walk(err)
	return out
}
