package pgcol

import "regexp"

const (
	// MaxKeyValues bounds the values one CEK name holds: two during a
	// rotation, a few more if rotations were interrupted. More is a sign of
	// tampering or neglect, and each costs a KMS call on every load.
	MaxKeyValues = 8

	// DefaultBatch is how many rows a rotation re-encrypts per transaction:
	// large enough to amortize round trips, small enough that the row locks
	// it takes are held for milliseconds, not seconds.
	DefaultBatch = 1000

	// MaxBatch bounds a rotation batch.
	MaxBatch = 100_000
)

var (
	ident   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	keyName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
)
