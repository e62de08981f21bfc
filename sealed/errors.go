package sealed

import "errors"

var (
	// ErrOpen is returned for every authentication failure: wrong key,
	// wrong context, tampered header, encapsulated key or ciphertext, a
	// response opened with another request's opener. It never says which,
	// so a sender cannot use the service as an oracle.
	ErrOpen = errors.New("sealed: message authentication failed")

	// ErrSuite is returned for a header naming a KEM, KDF or AEAD outside
	// the allowlist, or a KEM other than the recipient key's. The ids are
	// public, so the error names them.
	ErrSuite = errors.New("sealed: unsupported suite")

	// ErrMalformed is returned for input too short to hold its fixed-size
	// parts, and for a key or JWK that does not parse.
	ErrMalformed = errors.New("sealed: malformed input")

	// ErrTooLarge is returned for a body, plaintext or context over its
	// limit (MaxBodySize, limits.go).
	ErrTooLarge = errors.New("sealed: input too large")
)
