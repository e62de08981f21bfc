package sealed

// MaxBodySize bounds a sealed request or response body, 32 MiB. HPKE
// decrypts a message in one piece, so the whole body is held in memory
// twice (ciphertext and plaintext); the bound keeps an unauthenticated
// sender from making the service allocate without limit before the AEAD
// tag is even checked. It is above any inference input cofre serves (a
// 1×224×224 FP32 tensor as JSON is under 1 MiB); services set a tighter
// bound on the HTTP body themselves.
const MaxBodySize = 32 << 20

// maxJWKSize bounds a public JWK handed to ParsePublicJWK, 4 KiB: an EC
// P-256 JWK is about 200 bytes; anything much larger is not a key.
const maxJWKSize = 4 << 10

// maxContextSize bounds the context string, 4 KiB: it names an HTTP method
// and path, and a path longer than this is refused by every common server.
const maxContextSize = 4 << 10
