package secrets

import "time"

// Bounds on what a manifest can make the coordinator generate. Each is a
// guess at the largest legitimate value, with headroom.
const (
	// minSymmetricSize: a symmetric secret is a key; below 128 bits it is
	// not one cofre should hand out.
	minSymmetricSize = 16
	// maxSymmetricSize bounds a symmetric secret: keys are 16 to 64 bytes;
	// 4 KiB leaves room for HMAC keys and key material blobs.
	maxSymmetricSize = 4096
	// maxASCIISize bounds an ascii secret: passwords and tokens are tens
	// of characters.
	maxASCIISize = 4096
	// maxValidity bounds an x509 or x509-ca validity: 100 years, beyond
	// which a validity is a typo.
	maxValidity = 100 * 365 * 24 * time.Hour
	// maxExplicitSize bounds an explicit value (a manifest is at most 1 MiB).
	maxExplicitSize = 1 << 20
	// maxMarshaled bounds UnmarshalValue's input: an uploaded secret (the
	// largest value) plus base64 and a certificate chain.
	maxMarshaled = 4 << 20
	// maxChain bounds the issuer chain of a stored certificate: cofre
	// makes chains of one or two certificates.
	maxChain = 8
	// maxNames bounds the DNS names plus IP addresses of a certificate.
	maxNames = 64
)
