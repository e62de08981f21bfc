package oip

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is returned for a request or response that is not valid
	// protocol JSON: syntax, unknown fields, a missing field, a shape that
	// does not match the data, a number out of the datatype's range.
	ErrMalformed = errors.New("oip: malformed message")

	// ErrTooLarge is returned for a message over a limit in limits.go.
	ErrTooLarge = errors.New("oip: message too large")

	// ErrUnsupported is returned for a valid protocol feature this package
	// does not implement: the BYTES and 16-bit datatypes, the binary data
	// extension.
	ErrUnsupported = errors.New("oip: unsupported feature")

	// ErrModelNotFound is returned by a Backend for a model it does not
	// serve; the handler answers 404.
	ErrModelNotFound = errors.New("oip: model not found")

	// ErrInvalidInput is wrapped by a Backend whose model refuses the
	// inputs (a shape the graph does not accept); the handler answers 400
	// with the error's text, so a Backend must not put tensor data in it.
	ErrInvalidInput = errors.New("oip: invalid input")
)

// FieldError names the field of a message that failed to decode and why.
// Its Err is ErrMalformed, ErrTooLarge or ErrUnsupported. The reason never
// contains tensor data, only names, lengths and positions.
type FieldError struct {
	Field  string // JSON path, e.g. "inputs[0].shape[1]"
	Reason string
	Err    error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(sentinel error, field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}
