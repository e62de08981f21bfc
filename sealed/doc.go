// Package sealed seals HTTP request bodies to a service's HPKE public key
// and seals the response back to the requester, with the message semantics
// of Oblivious HTTP (RFC 9458 §4.3–4.4) under cofre's own labels.
//
// A service generates a [PrivateKey] and publishes its public key as a JWK
// ([PrivateKey.PublicJWK]) inside its attestation token, so a client that
// has verified the token knows the key lives in the attested code. The
// client calls [SealRequest] with that key and a context string naming the
// endpoint (the HTTP method and path, "POST /v2/models/chest/infer"), sends
// the body with Content-Type [MediaType], and keeps the returned
// [ResponseOpener] for the answer. The service calls [OpenRequest] and
// answers through the returned [ResponseSealer]. The payload stays opaque to
// anything between the two, including a TLS-terminating proxy, and a proxy
// cannot move a sealed body to another endpoint (the context is
// authenticated) or to another key (the key's thumbprint is in the HPKE
// info).
//
// Only base-mode HPKE with DHKEM(X25519, HKDF-SHA256) or DHKEM(P-256,
// HKDF-SHA256), HKDF-SHA256 and AES-256-GCM is accepted. docs/sealed.md
// gives the wire format byte for byte.
//
// The package does not authenticate the client (HPKE base mode is
// anonymous: use TLS client certificates and tokens for that), does not
// prevent a captured request from being replayed to the same endpoint (the
// replayer cannot read the response, but the service runs the request
// again; callers that need replay protection put a nonce or id in the
// plaintext), does not hide message lengths, and does not verify the token
// that carries the key.
package sealed
