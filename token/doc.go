// Package token issues and verifies cofre attestation tokens: EAR (EAT
// Attestation Result, draft-ietf-rats-ear) JWTs that an attestation service
// signs after appraising evidence, and that relying parties — services, the
// browser, a database — verify offline with the service's public keys.
//
// The issuer side: a KeySet holds the signing keys (ES256 by default, ES384
// or EdDSA) with rotation and overlap and publishes them as a JWKS; an
// Issuer signs Claims; NewMetadata builds the OpenID metadata document
// that points relying parties to the JWKS.
//
// The relying-party side: Verify checks a token against Options (issuer,
// audience, time, required status, expected measurements, nonce, the key
// the presenter holds, simulation) with keys from StaticJWKS or a
// RemoteJWKS (cached, refreshed on an unknown kid, rate-limited, https
// only). RequireAttestation is net/http middleware for service-to-service
// hops: it requires "Authorization: Attestation <jwt>" bound (cnf) to the
// TLS client certificate. Every refusal is a *RefusalError wrapping one
// class (ErrSignature, ErrExpired…), named check, expected and actual.
//
// Security rules that hold whatever the options say: the algorithm comes
// from the allowlist and the key's type, never from the header alone, so
// "none" and HMAC (key confusion) are always refused; only keys from the
// relying party's JWKS are used (header jku, x5u, jwk and x5c are ignored);
// draft tokens are always refused; simulated TEEs are refused unless
// AllowSimulation is set; JSON with duplicate or case-variant member names
// is refused so that every parser reads a token the same way; sizes are
// bounded (limits.go).
//
// Wire format (JWT payload): iss, aud, iat, exp, eat_profile
// ("tag:github.com,2023:veraison/ear"), eat_nonce (base64url), ear.verifier-id,
// submods (cpu0 always, gpu0…: ear.status, ear.trustworthiness-vector,
// ear.appraisal-policy-id, cofre.claims, cofre.reasons), cnf, cofre.tee,
// cofre.simulation, cofre.draft, cofre.runtime (optional: a workload's
// self-reported runtime claims, name → value, bounded by CheckRuntime), and
// with ProfileMAA Azure Attestation's x-ms-* names. Header: alg, kid (RFC
// 7638 thumbprint), typ "JWT".
//
// What this package does not do: verify or appraise evidence (packages
// attest and appraise do, before Issue); revoke a token before its exp
// (tokens are short-lived instead); check submodules other than cpu0 against
// expected measurements; encrypt tokens (they are signed, not secret, and
// carry no secrets); vouch for runtime claims (cofre.runtime is what the
// attested workload says of itself, checked for bounds only); store keys (KeySet.MarshalBinary is plaintext: the
// caller seals it); fetch OpenID metadata (RemoteJWKS takes the jwks_uri).
package token
