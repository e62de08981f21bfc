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
//     check freshness themselves. Nonces are self-authenticating (expiry,
//     random bytes and an HMAC under a per-process secret), so issuing one
//     stores nothing and no client can exhaust challenges; only used
//     nonces are remembered, until they expire (Config.MaxChallenges bounds
//     them). Challenges therefore do not survive a restart.
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
//   - Draft policies (POST /v1/attest/{format}?draft=1) are never stored,
//     and a draft is answered with the appraisal as plain JSON
//     (DraftResponse), never with a token: drafts are unauthenticated and
//     take any policy, so anything signed with a key in /certs could be
//     presented to a relying party that does not read cofre.draft.
//
// What it does not do: rate-limit per client (put it behind a proxy that
// does), revoke issued
// tokens (they are short-lived), terminate TLS behind a proxy for admin
// requests (the client certificate must reach this process), or pin
// per-policy token lifetimes (one Config.TokenLifetime for all).
package attestd
