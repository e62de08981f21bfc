package attestd

import (
	"time"

	"github.com/cofre-cc/cofre/internal/auditlog"
)

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
	// most eight GPUs today, and each part costs a full verification. It
	// also bounds the reasons of one refusal (with maxReasonsPerPiece).
	maxParts = 8

	// maxReasonsPerPiece bounds the reasons reported per piece of evidence
	// (one more says how many were dropped). A verifier or a policy fails
	// a handful of checks on real evidence; crafted evidence can fail
	// hundreds, and each reason lands in the response and the audit log.
	maxReasonsPerPiece = 16

	// maxReasonValue bounds each string of a Reason (check, field,
	// expected, actual, message…), in bytes. Real values are hex digests
	// and short names (a SHA-384 measurement is 96 hex digits); a
	// certificate subject in crafted evidence can be tens of KiB. With
	// maxParts and maxReasonsPerPiece this keeps a refusal's reasons near
	// (1+8)·17·9·256 ≈ 350 KiB at worst before JSON escaping (which can
	// multiply bytes by six); AuditLog.Append's line bound catches the
	// rest.
	maxReasonValue = 256

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

	// maxAuditLine bounds one audit log line, newline included, when
	// reading the log back (OpenAuditLog, VerifyAuditLog): an entry with
	// every reason of a refused multi-part request is a few KiB.
	// AuditLog.Append never writes a longer line (it drops the reasons, or
	// refuses the entry), because a line the reader cannot read would stop
	// the log verifying and the service from restarting. The bound is
	// internal/auditlog's, which writes and reads the lines.
	maxAuditLine = auditlog.MaxLine

	// defaultMaxChallenges bounds the used nonces remembered until they
	// expire when Config.MaxChallenges is zero. An entry costs about 64
	// bytes (map slot and heap entry), so the bound is ~64 MB; each entry
	// costs its sender a full attestation request, so reaching it takes
	// over 8,000 requests a second sustained for a whole challenge
	// lifetime (2 minutes by default).
	defaultMaxChallenges = 1_000_000
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
