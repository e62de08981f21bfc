package maa

import "time"

// maxTokenSize bounds the compact JWS accepted as evidence. Real MAA tokens
// are 4–12 KiB (an SGX token is about 4.5 KiB; an Azure CVM guest token with
// its runtime keys about 10 KiB). Custom policies can add claims, so the bound
// is generous, but it stops a hostile caller from making the verifier
// base64-decode and parse megabytes of JSON.
const maxTokenSize = 256 << 10

// maxJWKSSize bounds the JWKS document. A real MAA /certs response with its
// certificate chains is about 60 KiB; collateral.MaxItemSize (4 MiB) already
// bounds any source, this tighter bound bounds the JSON and X.509 work.
const maxJWKSSize = 1 << 20

// maxJWKSKeys bounds the number of keys in a JWKS. MAA publishes a handful
// (current and rotated keys); the bound keeps selection and parsing cheap.
const maxJWKSKeys = 64

// maxX5CLength bounds the certificates in one key's x5c. MAA's keys carry a
// single self-signed certificate or a three-certificate Microsoft chain.
const maxX5CLength = 8

// minRSABits is the smallest signing key accepted. MAA's shared instances
// signed with RSA-1024 keys generated inside their SGX enclave (the genuine
// 2021 vector in testdata is one); Go's crypto/rsa refuses anything smaller.
// Larger keys are accepted as MAA moves to them.
const minRSABits = 1024

// maxRSABits bounds the signing key size so that a hostile JWKS cannot make
// each verification arbitrarily slow.
const maxRSABits = 8192

// maxNesting bounds how deep JSON objects in the token may nest. MAA nests
// three levels at most (x-ms-isolation-tee → x-ms-runtime → keys); the bound
// keeps the duplicate-key scan from recursing without limit.
const maxNesting = 32

// clockSkew is the leeway applied to exp, nbf and iat. MAA stamps iat and nbf
// with its own clock at issue; a minute absorbs ordinary skew between MAA, the
// relying party and the caller's pinned clock without materially extending a
// token's 8-hour life.
const clockSkew = time.Minute
