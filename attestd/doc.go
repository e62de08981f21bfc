// Package attestd is cofre's attestation service: relying parties (a
// browser, a diagnostics provider, a database) trust a workload because a
// signed token says what it is, instead of trusting the operator.
//
// A workload asks for a challenge (POST /v1/challenge), produces evidence
// whose report data binds the challenge nonce and its runtime data
// (attest.ReportData(nonce, runtime_data, nil)), and presents it
// (POST /v1/attest/{format}). The service verifies the evidence with an
// attest.Registry, checks the binding, appraises the claims against a named
// policy (package appraise) and answers with an EAR JWT signed by package
// token. Relying parties verify that token offline with the keys published
// at GET /certs (also named by GET /.well-known/openid-configuration).
//
// Construct a Server with New and serve Handler (or call Serve, which adds
// TLS, timeouts and graceful shutdown). Everything the server depends on is
// in Config: verifiers, policy store, signing keys and where they are kept,
// the clock, the logger and the audit log. The package reads no flags and
// no environment.
//
// Security decisions made here:
//   - A nonce is single-use: it is consumed by the first well-formed
//     request that presents it, whatever that request's outcome, and it
//     expires (Config.ChallengeLifetime). Unknown, used and expired nonces
//     are refused. This is what makes evidence fresh: the verifiers do not
//     check freshness themselves.
//   - Refused evidence, a binding mismatch and a contraindicated appraisal
//     are answered with a JSON error that names every failed check (field,
//     expected, actual), never with a token.
//   - Every issuance and refusal is appended to a hash-chained audit log
//     (AuditLog) before the answer is sent; if the log cannot be written the
//     service issues nothing (fail closed). The log holds hashes, formats,
//     statuses, reasons, measurements and policy names: no tokens, no
//     evidence bytes, no keys.
//   - The signing keys are sealed at rest (KeyFile, AES-256-GCM under a key
//     encryption key). In development the key encryption key is a 0600 file
//     under the state directory; in production it must come from a TEE
//     sealing key or a KMS (Sealer), which the coordinator provides.
//   - Policy administration (PUT/GET/DELETE /v1/policies/{name}) and key
//     rotation need a TLS client certificate that chains to the admin CA
//     (Config.AdminCAs). The TLS layer requests but does not verify client
//     certificates, so ordinary clients need none; the handlers verify them
//     at the injected clock.
//   - Draft policies (POST /v1/attest/{format}?draft=1) are never stored
//     and yield tokens marked draft, which every token verifier refuses.
//
// What it does not do: rate-limit per client (put it behind a proxy that
// does, or rely on Config.MaxChallenges as a global bound), revoke issued
// tokens (they are short-lived), terminate TLS behind a proxy for admin
// requests (the client certificate must reach this process), or pin
// per-policy token lifetimes (one Config.TokenLifetime for all).
package attestd
