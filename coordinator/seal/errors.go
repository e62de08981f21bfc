package seal

import (
	"errors"
	"fmt"
)

var (
	// ErrUnseal means sealed data could not be opened: a different key or
	// identity sealed it, or it was changed. AES-GCM cannot tell these
	// apart, and neither can this package.
	ErrUnseal = errors.New("seal: cannot unseal (wrong key or identity, or data changed)")

	// ErrMalformed means bytes do not have the shape this package writes:
	// a truncated file, a wrong PEM type, a bad field length.
	ErrMalformed = errors.New("seal: malformed")

	// ErrSealingKeyLost means the data-key file is well formed but cannot
	// be unsealed: the TEE's sealing key changed (new machine, new
	// measurement, lost key file) or the file's ciphertext was altered.
	// The coordinator then enters recovery.
	ErrSealingKeyLost = errors.New("seal: data key cannot be unsealed (sealing key lost or file altered)")

	// ErrInsecureKeyFile means a key file can be read or written by users
	// other than its owner.
	ErrInsecureKeyFile = errors.New("seal: key file is accessible to other users")

	// ErrUnsupportedKey means a recovery key is not P-256, P-384 or X25519.
	ErrUnsupportedKey = errors.New("seal: unsupported recovery key")

	// ErrWrongRecoveryKey means a holder's private key is not the one the
	// record encrypted their share to.
	ErrWrongRecoveryKey = errors.New("seal: not this holder's recovery key")

	// ErrUnknownHolder means a share was submitted for a name the record
	// does not list.
	ErrUnknownHolder = errors.New("seal: unknown recovery holder")

	// ErrShareMismatch means a share does not match its commitment: a
	// wrong, corrupted or malicious share.
	ErrShareMismatch = errors.New("seal: share does not match its commitment")

	// ErrTooFewShares means fewer valid shares than the threshold.
	ErrTooFewShares = errors.New("seal: too few recovery shares")

	// ErrCheckFailed means the combined secret does not match the record's
	// check value: the record is inconsistent (forged or corrupted).
	ErrCheckFailed = errors.New("seal: recovered secret fails its check value")
)

// ShareError names the recovery holder whose share or key was refused.
type ShareError struct {
	Holder string
	Err    error
}

func (e *ShareError) Error() string {
	return fmt.Sprintf("seal: recovery holder %q: %v", e.Holder, e.Err)
}

func (e *ShareError) Unwrap() error { return e.Err }
