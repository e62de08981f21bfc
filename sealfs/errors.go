package sealfs

import (
	"errors"
	"fmt"
)

var (
	// ErrTampered means a ciphertext file failed authentication or is not
	// well formed: its content cannot be trusted. Errors wrapping it are
	// *TamperError values that name the path, the segment and the check.
	ErrTampered = errors.New("sealfs: file tampered with")

	// ErrWrongKey means a file was sealed under another volume key (its key
	// ID differs). A changed key ID byte looks the same as a wrong key.
	ErrWrongKey = errors.New("sealfs: file sealed with another key")

	// ErrInvalidName means a name is not a clean, relative, slash-separated
	// path inside the volume (see fs.ValidPath), or is too long.
	ErrInvalidName = errors.New("sealfs: invalid name")

	// ErrNotSealfs means a file does not start with the sealfs magic, or has
	// a format version this package does not read.
	ErrNotSealfs = errors.New("sealfs: not a sealfs file")

	// ErrInvalidOptions means OpenVolume got a bad key length or segment
	// size.
	ErrInvalidOptions = errors.New("sealfs: invalid options")
)

// HeaderSegment is the Segment value of a TamperError about the file header
// rather than a segment.
const HeaderSegment = -1

// TamperError reports a failed integrity check. It matches ErrTampered with
// errors.Is. It never contains key material or plaintext.
type TamperError struct {
	Path    string // path within the volume
	Segment int64  // segment index, or HeaderSegment
	Reason  string // which check failed, e.g. "segment authentication failed"
}

func (e *TamperError) Error() string {
	if e.Segment == HeaderSegment {
		return fmt.Sprintf("sealfs: %s: header: %s: file tampered with", e.Path, e.Reason)
	}
	return fmt.Sprintf("sealfs: %s: segment %d: %s: file tampered with", e.Path, e.Segment, e.Reason)
}

// Is makes errors.Is(err, ErrTampered) true.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

func tampered(path string, seg int64, reason string) error {
	return &TamperError{Path: path, Segment: seg, Reason: reason}
}
