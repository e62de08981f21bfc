package tsm

import (
	"errors"
	"fmt"
)

// Error classes of in-guest evidence production, shared by every producer.
// Producers wrap them with their own prefix; attest/guest re-exports them.
var (
	// ErrUnavailable: the attestation interface (configfs-tsm, a guest
	// device, Gramine's /dev/attestation) does not exist here.
	ErrUnavailable = errors.New("attestation interface not available")
	// ErrGeneration: the configfs-tsm report entry was written by someone
	// else between our write and our read, so the report may not bind our
	// report data. Retrying is safe.
	ErrGeneration = errors.New("configfs-tsm report entry changed concurrently")
	// ErrOutput: the interface returned bytes that are empty, of the wrong
	// size, or do not parse as the format's evidence.
	ErrOutput = errors.New("attestation interface returned malformed evidence")
	// ErrReportData: the evidence returned does not carry the report data
	// that was asked for (a race with another user of the interface, or a
	// misbehaving host).
	ErrReportData = errors.New("evidence does not carry the requested report data")
)

// ProviderError reports an attestation interface of the wrong kind: a
// configfs-tsm provider other than the format's, or a Gramine attestation
// type other than "dcap".
type ProviderError struct {
	Want, Got string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("attestation provider is %q, want %q", e.Got, e.Want)
}
