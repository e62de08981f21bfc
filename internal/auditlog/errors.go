package auditlog

import (
	"errors"
	"fmt"
)

// ErrChain is wrapped by every *ChainError: the log does not verify.
var ErrChain = errors.New("auditlog: chain broken")

// The kinds of break a ChainError reports (its Err field). Each is
// matched with errors.Is on the ChainError.
var (
	// ErrMalformed: a line is not a JSON object with a well-formed header
	// (seq, time, prev, sig_kid, sig), is too long, has no final newline,
	// or does not decode into the caller's entry type.
	ErrMalformed = errors.New("malformed line")
	// ErrSequence: seq does not count up from 1 by one: a line was
	// removed, inserted or moved.
	ErrSequence = errors.New("sequence number out of order")
	// ErrLink: prev is not the hash of the line before: that line was
	// edited (or the lines around it were rewritten).
	ErrLink = errors.New("prev does not match the line before")
	// ErrUnsigned: signatures are required and a line has none.
	ErrUnsigned = errors.New("line not signed")
	// ErrUnknownKey: a line (or a SignedHead) names a key that is not
	// among the verifier's public keys.
	ErrUnknownKey = errors.New("signed by an unknown key")
	// ErrSignature: a signature does not verify under the key it names.
	ErrSignature = errors.New("signature does not verify")
	// ErrTruncated: the log ends before the expected head.
	ErrTruncated = errors.New("log ends before the expected head")
	// ErrHeadMismatch: the line at the expected head's seq does not hash
	// to the expected head: the log was rewritten from there on.
	ErrHeadMismatch = errors.New("line differs from the expected head")
)

// ChainError says where and why a log stops verifying.
type ChainError struct {
	// Line is the 1-based line number of the break; for ErrTruncated, the
	// line after the last one read.
	Line int
	// Err is the kind of break: ErrMalformed, ErrSequence, ErrLink,
	// ErrUnsigned, ErrUnknownKey, ErrSignature, ErrTruncated or
	// ErrHeadMismatch.
	Err error
	// Reason gives the details (expected and actual values).
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%v at line %d: %v: %s", ErrChain, e.Line, e.Err, e.Reason)
}

// Unwrap makes errors.Is match both ErrChain and the kind.
func (e *ChainError) Unwrap() []error { return []error{ErrChain, e.Err} }

// Errors of Append and of the constructors; none is a *ChainError.
var (
	// ErrTooLarge: an entry does not fit in MaxLine. Nothing is written and
	// the log keeps working.
	ErrTooLarge = errors.New("auditlog: entry exceeds the line limit")
	// ErrUnsupportedKey: a signer or public key is neither Ed25519 nor
	// ECDSA P-256.
	ErrUnsupportedKey = errors.New("auditlog: unsupported key type (want Ed25519 or ECDSA P-256)")
	// ErrClosed: Append after Close.
	ErrClosed = errors.New("auditlog: log closed")
)
