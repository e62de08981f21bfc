package colenc

import "errors"

// Sentinel errors. Every refusal wraps exactly one of these, so callers can
// classify it with errors.Is; the message adds the field and the expected and
// actual values (never key or plaintext bytes).
var (
	// ErrFormat means the bytes are not a well-formed cell or key value:
	// wrong length, bad padding after a valid MAC, or fields out of range.
	ErrFormat = errors.New("malformed input")

	// ErrVersion means the leading version byte names a format this package
	// does not handle with the call that was made.
	ErrVersion = errors.New("unsupported version")

	// ErrAuthentication means the MAC, GCM tag or RSA signature did not
	// verify: the cell was tampered with, moved, or the key is wrong.
	ErrAuthentication = errors.New("authentication failed")

	// ErrUnknownKey means a v2 cell names a key ID that the key or keyring
	// does not hold.
	ErrUnknownKey = errors.New("unknown key id")

	// ErrKey means a key argument is unusable (wrong length, too small).
	ErrKey = errors.New("invalid key")
)
