package imaging

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownFormat: the bytes are not a PNG, JPEG or DICOM file.
	ErrUnknownFormat = errors.New("imaging: unknown image format")
	// ErrMalformed: the file claims a supported format but does not parse.
	ErrMalformed = errors.New("imaging: malformed image")
	// ErrUnsupported: a well-formed file uses a feature this package does not
	// decode (compressed transfer syntax, colour DICOM, 32-bit pixels...).
	ErrUnsupported = errors.New("imaging: unsupported image")
	// ErrLimit: the file exceeds one of the limits in limits.go.
	ErrLimit = errors.New("imaging: limit exceeded")
)

// LimitError names the limit an input exceeded. It unwraps to ErrLimit.
type LimitError struct {
	What   string // e.g. "input bytes", "rows", "pixels"
	Limit  int64
	Actual int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("imaging: %s %d exceeds limit %d", e.What, e.Actual, e.Limit)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// TransferSyntaxError reports a DICOM transfer syntax this package cannot
// decode. It unwraps to ErrUnsupported.
type TransferSyntaxError struct {
	UID  string // the Transfer Syntax UID from the file meta header
	Name string // its name from the DICOM registry, or "" if unknown
}

func (e *TransferSyntaxError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("imaging: dicom: unsupported transfer syntax %q (only native uncompressed pixel data is decoded)", e.UID)
	}
	return fmt.Sprintf("imaging: dicom: unsupported transfer syntax %s (%s; only native uncompressed pixel data is decoded)", e.UID, e.Name)
}

func (e *TransferSyntaxError) Unwrap() error { return ErrUnsupported }
