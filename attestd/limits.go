package attestd

import "time"

// Bounds on what a client can make the service read, hold or wait for. Each
// is a guess at the largest legitimate value, with headroom; none is tuned
// for performance.
const (
	// maxAttestBody bounds a POST /v1/attest request. The largest evidence
	// cofre verifies (a TPM attestation with its event log) is well under
	// 1 MiB; base64 adds a third and a few GPU parts (about 10 KiB each)
	// ride along. Beyond this the server would buffer JSON for nothing.
	maxAttestBody = 4 << 20

	// maxPolicyBody bounds a PUT /v1/policies/{name} body. It equals
	// appraise's own bound on a policy document (1 MiB); real policies are
	// a few kilobytes.
	maxPolicyBody = 1 << 20

	// maxParts bounds the extra evidence of one request: a host carries at
	// most eight GPUs today, and each part costs a full verification.
	maxParts = 8

	// maxRuntimeData bounds runtime_data, a public key (a JWK or PKIX DER):
	// an RSA-4096 JWK is under 1 KiB.
	maxRuntimeData = 16 << 10

	// maxFormatName and maxPolicyName bound names taken from the URL and
	// the body; they end up in logs, metrics labels and the audit log.
	maxFormatName = 64
	maxPolicyName = 64

	// maxHeaderBytes bounds request headers (http.Server.MaxHeaderBytes):
	// the API uses none beyond the usual few.
	maxHeaderBytes = 16 << 10

	// maxAuditLine bounds one audit log line when reading the log back
	// (OpenAuditLog, VerifyAuditLog): an entry with every reason of a
	// refused multi-part request is a few KiB.
	maxAuditLine = 1 << 20

	// defaultMaxChallenges bounds outstanding (issued, not yet used, not
	// expired) challenges when Config.MaxChallenges is zero. An entry costs
	// about 100 bytes, so the bound is ~10 MB; honest clients use a nonce
	// within milliseconds, so this many outstanding means someone is
	// collecting nonces.
	defaultMaxChallenges = 100_000
)

// Server timeouts (http.Server). They stop a slow or silent client from
// holding a connection and its goroutine forever.
const (
	readHeaderTimeout = 5 * time.Second   // slowloris: headers are small
	readTimeout       = 30 * time.Second  // a maxAttestBody body over a slow link
	writeTimeout      = 30 * time.Second  // verification takes milliseconds; collateral is local
	idleTimeout       = 120 * time.Second // keep-alive for clients that attest repeatedly
	shutdownTimeout   = 10 * time.Second  // in-flight requests finish within writeTimeout anyway
)

// Defaults of Config durations.
const (
	defaultTokenLifetime     = 5 * time.Minute
	defaultChallengeLifetime = 2 * time.Minute
	// defaultKeyOverlap keeps a retired signing key in the JWKS for a day:
	// far longer than any token it signed lives, and long enough for
	// relying parties that cache the JWKS for hours.
	defaultKeyOverlap = 24 * time.Hour
)
