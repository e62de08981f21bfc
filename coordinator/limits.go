package coordinator

// Limits, each with its reason.
const (
	// maxUploadedSecret bounds an uploaded secret: secrets are keys,
	// passwords and certificates, and every value is held in memory (in
	// the TEE) and rendered into configurations.
	maxUploadedSecret = 64 << 10
	// maxKMSPlaintext bounds what wrap accepts: data keys are at most 32
	// bytes; 4 KiB leaves room for key material JSON, and no more, so the
	// KMS is not an encryption service for bulk data.
	maxKMSPlaintext = 4096
	// maxWrapped bounds a wrapped key before decoding it.
	maxWrapped = 2 * maxKMSPlaintext
	// maxReasons bounds the reasons of one refusal: evidence with many
	// parts cannot make the answer (and the audit line) grow without end.
	maxReasons = 32
	// maxParts bounds the extra evidence of one activation: a CPU TEE
	// with a few GPUs; each part costs a full verification.
	maxParts = 8
	// maxAuditPage bounds one audit read, in lines.
	maxAuditPage = 10000
	// maxAuditPageBytes bounds one audit read in bytes: lines are bounded
	// (names are clipped) but a page is held in memory before it is sent.
	maxAuditPageBytes = 16 << 20
	// minTokenNonce and maxTokenNonce bound the nonce a workload passes
	// into a workload token: EAT's eat_nonce bounds (RFC 9711 §4.1), which
	// token.Issue enforces too; checked here first so that a bad nonce is
	// the caller's 400, not an issuing failure.
	minTokenNonce = 8
	maxTokenNonce = 64
)
