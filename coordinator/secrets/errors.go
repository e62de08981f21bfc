package secrets

import "errors"

// Error classes. Every error of this package wraps one of them (or one of
// package pki's, for certificates the coordinator's CA refuses); test with
// errors.Is. Messages name the secret or the part, never a value.
var (
	// ErrKind: the secret's kind is unknown.
	ErrKind = errors.New("unknown secret kind")
	// ErrNotGenerated: uploaded and imported secrets get their value from
	// a user or another manifest, never from Generate.
	ErrNotGenerated = errors.New("secret is not generated")
	// ErrSize: Size is out of range for the kind.
	ErrSize = errors.New("size out of range")
	// ErrAlphabet: an ascii alphabet is not 2 to 95 distinct printable
	// ASCII characters.
	ErrAlphabet = errors.New("invalid alphabet")
	// ErrKeyType: KeyType is not one of rsa-2048, rsa-3072, rsa-4096,
	// ecdsa-p256, ecdsa-p384, ed25519.
	ErrKeyType = errors.New("unsupported key type")
	// ErrValidity: Validity does not parse or is out of range, or the
	// issuer is not valid at the time of issue.
	ErrValidity = errors.New("invalid validity")
	// ErrName: a DNS name or IP address of a certificate is malformed.
	ErrName = errors.New("invalid certificate name")
	// ErrIssuer: an x509 secret's issuer is missing or not an x509-ca.
	ErrIssuer = errors.New("invalid issuer")
	// ErrPart: the part does not exist or does not apply to the kind.
	ErrPart = errors.New("invalid part")
	// ErrNotReleasable: the secret is never rendered into a workload's
	// configuration (a parquet-master-key stays in the KMS).
	ErrNotReleasable = errors.New("secret not releasable")
	// ErrMalformed: UnmarshalValue's input is not a Value Marshal wrote.
	ErrMalformed = errors.New("malformed secret value")
)
