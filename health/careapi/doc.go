// Package careapi is the care API of the healthcare scenario: staff sign
// in, register patients and observations as FHIR R4 JSON, upload images
// and get a DiagnosticReport from the attested diagnostics service, and
// every access to a patient record is audited.
//
// Build a Server with New(Config) and serve Server.Handler() over HTTPS.
// The routes:
//
//	POST /api/login                      {"username","password"} → {"user","role","csrf"} + session cookie
//	POST /api/logout
//	GET  /fhir/Patient                   searchset Bundle
//	POST /fhir/Patient                   201, server-assigned UUID id
//	GET  /fhir/Patient/{id}
//	POST /fhir/Observation
//	GET  /fhir/Observation?subject=Patient/{id}
//	POST /api/patients/{id}/images       {"contentType","data"} → 201 {"imageId"}
//	POST /api/patients/{id}/diagnose     {"imageId"} → DiagnosticReport
//	GET  /fhir/DiagnosticReport?subject=Patient/{id}
//	GET  /api/audit                      admin only
//	POST /api/sealed                     the sealed gateway
//	GET  /api/attestation                {"token","tls_token"}, public
//	GET  /healthz, /readyz
//
// Sealed gateway. A client (the portal) verifies the service's
// attestation token, seals {"method","path","headers","body","nonce","ts"}
// to the HPKE key in it with sealed.SealRequest under the context
// GatewayContext and POSTs it to /api/sealed; the request runs through
// the same routes and the answer {"status","headers","body"} is sealed
// back. nonce (16 random bytes, unpadded base64url) and ts (the sender's
// clock, Unix milliseconds) are required: a ts more than MaxClockSkew
// from the server's clock, or a nonce already accepted within that
// window, is refused, so a proxy that captured sealed bytes cannot replay
// them. Unless
// Config.AllowPlain, every other /api and /fhir request is refused with
// 403, so patient data never crosses the network unsealed, even to a
// TLS-terminating proxy. Through the gateway the CSRF token is required
// on every authenticated request, reads included: the session cookie is
// in the outer headers a proxy sees, the CSRF token only ever travels
// sealed.
//
// Authentication. Staff accounts come from the policy (ParseAccounts)
// with argon2id password hashes (HashPassword). Login attempts are
// limited per username, known or not (MaxLoginFailures per LoginWindow,
// counted before the password is hashed, cleared by a success), so a
// concurrent burst gets no more guesses and 429 does not reveal which
// names exist. Sessions are random
// 32-byte ids in a __Host- cookie (Secure, HttpOnly, SameSite=Strict),
// held server-side with a SessionIdle idle and SessionMax absolute
// lifetime; state-changing requests need the session's CSRF token in
// X-CSRF-Token. Clinicians and admins read and write patient records;
// only admins read the audit log.
//
// Storage. The sealed Redis cache (health/cache) is the store in this
// demonstration: patients, observations, images, reports, the indexes
// that list them, and sessions, all sealed with AES-GCM under
// pseudonymized key names, records with the longest TTL the cache allows
// (RecordTTL, a week). Index updates are serialized by an in-process
// mutex, so the care API runs as a single replica. Nothing survives the
// TTL or a Redis restart; a real deployment needs a durable store.
//
// Audit. Every access to a patient record (list, read, search, create,
// image upload, diagnose, including refusals as invalid or not found),
// every login (successful or not;
// refusals of a locked username once per lock window), logout and role denial is appended to
// a hash-chained audit log (internal/auditlog) before the answer is sent;
// if the entry cannot be written the request fails. Requests without a
// session (401) or with a wrong CSRF token (403) are not audited: they
// never reach a record. Entries name the user, role, action, resource type and id,
// patient id (a random UUID), time and outcome, and hold no PHI.
//
// Validation. FHIR bodies are decoded strictly with the
// github.com/samply/golang-fhir-models types: unknown members, wrong
// types, codes outside their value sets, missing required fields,
// malformed or future dates, and strings or resources over their caps
// (limits.go) are refused with 400 and an OperationOutcome whose
// diagnostics name the field but never quote the value. Per-patient
// caps on observations, reports and images answer 409, so no clinician
// can grow a listing past what the gateway seals back.
//
// What it does not do: it is not a FHIR server (no other resources, no
// update, delete, history, paging or search parameters besides subject),
// it does not validate every nested date or terminology binding, it keeps
// records only as long as the cache does, it does not protect against
// the Redis host deleting or rolling back entries (see health/cache), and
// it does not verify the diagnostics service's token itself: the
// Diagnoser the caller supplies does that before sending an image. It
// logs no PHI, passwords, session ids, CSRF tokens or request bodies.
package careapi
