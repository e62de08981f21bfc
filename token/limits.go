package token

import "time"

// MaxTokenSize bounds a token, in bytes, on both sides: Issue refuses to
// produce a larger one and Verify refuses to parse one. A token with a CPU
// and a GPU submodule and their normalized claims is 3–8 KiB; 64 KiB leaves
// room for more submodules and the MAA profile while stopping a caller from
// making a relying party base64-decode and scan megabytes of JSON. Tokens
// travel in HTTP headers: proxies often cap a header line at 8–16 KiB, so
// issuers should stay far below this bound.
const MaxTokenSize = 64 << 10

// maxJWKSSize bounds a JWKS document (static or fetched). cofre's JWKS holds
// a few EC or Ed25519 keys of ~200 bytes each; other issuers' sets with
// x5c chains reach ~60 KiB (Azure Attestation). Fetches stop reading beyond
// it, so a hostile or broken endpoint cannot make the verifier buffer an
// unbounded body.
const maxJWKSSize = 256 << 10

// maxJWKSKeys bounds the keys in a JWKS: an issuer publishes its current key
// and the few it rotated out; the bound keeps parsing and lookup cheap.
const maxJWKSKeys = 64

// maxSubmods bounds the submodules of a token (cpu0, gpu0…gpu7, …). A
// machine has one CPU TEE and at most eight GPUs today.
const maxSubmods = 32

// maxSubmodName bounds a submodule name ("cpu0"), which ends up in errors
// and logs.
const maxSubmodName = 64

// maxReasons bounds the appraisal reasons per submodule: a policy check
// yields one reason per failed field, a few dozen at most.
const maxReasons = 256

// minConfirmationRSABits and maxConfirmationRSABits bound an RSA cnf key.
// Below 2048 bits RSA is factorable by a determined attacker (NIST SP
// 800-57 retired it in 2013), and the portal encrypts secrets to this key;
// above 8192 bits every encryption costs the relying party for nothing.
const (
	minConfirmationRSABits = 2048
	maxConfirmationRSABits = 8192
)

// maxRuntimeEntries, maxRuntimeName and maxRuntimeValue bound the
// cofre.runtime claim (CheckRuntime). The claim is what a workload says of
// itself (the models it loaded: name → SHA-256, 64 hex digits), so it must
// not let a workload grow the token, or what relying parties display and
// log, without end: 32 entries of at most 64 + 256 bytes stay near 10 KiB,
// far under MaxTokenSize, and leave room for a digest with an algorithm
// prefix ("sha384:…", 103 bytes) or a short version string.
const (
	maxRuntimeEntries = 32
	maxRuntimeName    = 64
	maxRuntimeValue   = 256
)

// maxAudiences bounds the aud array.
const maxAudiences = 16

// minNonceSize and maxNonceSize are the eat_nonce bounds of EAT (RFC 9711
// §4.1: 8 to 64 bytes). cofre's challenges are 32 bytes (attest.NonceSize).
const (
	minNonceSize = 8
	maxNonceSize = 64
)

// maxJSONDepth bounds how deeply the token's JSON may nest. cofre's claims
// nest five levels (submods → cpu0 → cofre.claims → raw → value); the bound
// keeps the strict scanner's recursion small whatever the input.
const maxJSONDepth = 32

// maxErrorValue bounds a token-supplied value quoted in a RefusalError.
const maxErrorValue = 256

// maxRedirects bounds the redirects a JWKS fetch follows; each is checked
// against the same https rule as the first URL.
const maxRedirects = 3

// DefaultLeeway is the clock skew Verify tolerates on exp, iat and nbf when
// Options.Leeway is zero. Issuer and relying party clocks drift by seconds;
// 30 s absorbs that without materially extending a 5-minute token.
const DefaultLeeway = 30 * time.Second

// DefaultMinRefreshInterval is the least time between two fetches of a
// RemoteJWKS when MinRefreshInterval is zero. A token naming an unknown kid
// triggers at most one fetch per interval, so an attacker sending random
// kids costs the issuer one request a minute per relying party. The price:
// tokens signed by a key that appeared less than a minute after the last
// fetch are refused until the next one.
const DefaultMinRefreshInterval = time.Minute

// DefaultMaxAge is how long a RemoteJWKS uses a fetched set before fetching
// it again when MaxAge is zero. A key the issuer retires stops verifying at
// most this long after it leaves the issuer's JWKS.
const DefaultMaxAge = 10 * time.Minute

// DefaultFetchTimeout bounds one JWKS fetch when FetchTimeout is zero
// (on top of the http.Client's own timeout).
const DefaultFetchTimeout = 10 * time.Second
