package pki

import "time"

// Validity periods and bounds. Each bound is a guess at the largest
// legitimate value, with headroom.
const (
	// rootLifetime: the root is the coordinator's identity that clients pin
	// and that its attestation binds; replacing it means re-pinning every
	// client, so it lives as long as a deployment (10 years).
	rootLifetime = 10 * 365 * 24 * time.Hour

	// intermediateLifetime: an intermediate is replaced on every manifest
	// update; one year bounds a manifest that is never updated.
	intermediateLifetime = 365 * 24 * time.Hour

	// serverLifetime: the coordinator makes a new server certificate at each
	// start and whenever the caller rotates it; clients pin the root, not
	// this certificate.
	serverLifetime = 365 * 24 * time.Hour

	// backdate is subtracted from NotBefore so that a peer whose clock is a
	// little behind accepts a certificate issued just now.
	backdate = time.Minute

	// maxLeafLifetime bounds IssueWorkload and IssueLeaf lifetimes; the
	// issuer's own NotAfter (at most a year) caps them further.
	maxLeafLifetime = 10 * 365 * 24 * time.Hour

	// maxSPIFFEIDLength is the SPIFFE specification's bound on an ID
	// (SPIFFE-ID.md, section 2.3): 2048 bytes.
	maxSPIFFEIDLength = 2048

	// maxTrustDomainLength is the SPIFFE specification's bound on a trust
	// domain name (SPIFFE-ID.md, section 2.1): 255 bytes.
	maxTrustDomainLength = 255

	// maxNames bounds the DNS names plus IP addresses of one certificate.
	// A service has a handful of names; the bound keeps certificates (and
	// the work of verifying them) small.
	maxNames = 64

	// maxRSABits bounds CSR RSA keys: verifying with a huge modulus costs
	// the verifier quadratic time, and no deployment uses more than 8192.
	maxRSABits = 8192

	// maxChain bounds the certificates a peer presents to VerifyWorkload:
	// a workload sends its leaf and one intermediate; each extra
	// certificate costs the verifier a signature check.
	maxChain = 4

	// maxMarshaledCA bounds ParseCA's input: two certificates and a key
	// are under 4 KiB.
	maxMarshaledCA = 64 << 10
)
