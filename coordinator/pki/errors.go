package pki

import (
	"errors"
	"fmt"
)

// Error classes. Every error of this package wraps exactly one of them
// (VerifyWorkload may wrap a crypto/x509 error too); test with errors.Is.
var (
	// ErrUntrusted: a certificate does not chain to the root as it must
	// (bad signature, unknown issuer, wrong root, wrong key usage, a name
	// outside a name constraint, a chain of the wrong shape).
	ErrUntrusted = errors.New("certificate not trusted")
	// ErrExpired: a certificate (or the issuing CA) is outside its validity
	// period at the given time.
	ErrExpired = errors.New("certificate outside its validity period")
	// ErrIdentity: a workload certificate does not carry exactly one valid
	// SPIFFE ID, or is a CA.
	ErrIdentity = errors.New("invalid workload identity")
	// ErrTrustDomain: a SPIFFE ID names another trust domain.
	ErrTrustDomain = errors.New("wrong trust domain")
	// ErrManifest: a SPIFFE ID names another manifest than the issuing
	// intermediate's.
	ErrManifest = errors.New("identity outside the issuer's manifest")
	// ErrInvalidSPIFFEID: a string is not a SPIFFE ID of the form
	// spiffe://<trust-domain>/<manifest>/<service>/<instance>. The error is
	// a *SPIFFEIDError.
	ErrInvalidSPIFFEID = errors.New("invalid SPIFFE ID")
	// ErrUnsupportedKey: a public key is not ECDSA P-256/P-384, Ed25519 or
	// RSA of 2048 to 8192 bits. The error is a *KeyError.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrCSRSignature: a CSR is not signed by its own key.
	ErrCSRSignature = errors.New("CSR signature invalid")
	// ErrWrongCA: the operation needs the other kind of CA (an intermediate
	// issues workload and secret certificates; the root makes
	// intermediates and the server certificate).
	ErrWrongCA = errors.New("operation not allowed on this CA")
	// ErrInvalidArgument: a name, lifetime, version or host is out of
	// bounds or malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrMalformed: ParseCA's input is not a CA that Marshal wrote.
	ErrMalformed = errors.New("malformed CA")
)

// SPIFFEIDError says why a string is not a SPIFFE ID. ID is clipped: it
// comes from certificates and requests, not from the coordinator.
type SPIFFEIDError struct {
	ID     string
	Reason string
}

func (e *SPIFFEIDError) Error() string {
	return fmt.Sprintf("pki: invalid SPIFFE ID %q: %s", e.ID, e.Reason)
}

// Unwrap returns ErrInvalidSPIFFEID.
func (e *SPIFFEIDError) Unwrap() error { return ErrInvalidSPIFFEID }

// KeyError names a refused public key: its algorithm and size or curve
// ("rsa-1024", "ecdsa-P-521", "*ecdh.PublicKey").
type KeyError struct {
	Key string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("pki: unsupported key %s: want ecdsa-P-256, ecdsa-P-384, ed25519 or rsa-2048..8192", e.Key)
}

// Unwrap returns ErrUnsupportedKey.
func (e *KeyError) Unwrap() error { return ErrUnsupportedKey }

// clip bounds a string taken from untrusted input before it goes into an
// error.
func clip(s string) string {
	const maxShown = 128
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "…"
}
