package manifest

import "time"

// Limits. Each bounds what an untrusted or careless document can make the
// parser, the validator or the coordinator do.
const (
	// maxDocumentSize bounds a manifest. Real ones are a few kilobytes (a
	// large one lists a few dozen services); the bound keeps a hostile
	// upload from making the YAML parser build a huge tree.
	maxDocumentSize = 1 << 20

	// maxProblems bounds the problems one Error lists: past a hundred, the
	// author needs to fix the first ones, not read more.
	maxProblems = 100

	// maxSecrets, maxServices and maxRSASecrets bound what one manifest
	// makes the coordinator generate and keep in memory: hundreds of
	// secrets is a large deployment; RSA key generation takes up to
	// seconds per key, with the coordinator's write lock held.
	maxSecrets    = 512
	maxServices   = 256
	maxRSASecrets = 16
	// maxOwners and maxRecoveryKeys bound the signature and share loops.
	// k-of-n governance with more than 64 parties is not a real setup.
	maxOwners       = 64
	maxRecoveryKeys = 64

	// minSymmetricSize is 128 bits: anything shorter is not a key.
	// maxSymmetricSize allows HMAC keys and seeds of a block's length and
	// more, without letting a manifest ask the coordinator for megabytes.
	minSymmetricSize = 16
	maxSymmetricSize = 4096

	// minASCIIEntropyBits refuses ascii secrets that can be guessed:
	// size × log2(len(alphabet)) must reach 128 bits. The default (32
	// letters and digits) has 190. A PIN-like secret must be explicit or
	// uploaded, where the manifest says plainly who chose it.
	minASCIIEntropyBits = 128
	maxASCIISize        = 4096

	// maxValidity bounds x509 and x509-ca certificates: 20 years outlives
	// any key's expected life; a longer one is a typo.
	maxValidity = 20 * 365 * 24 * time.Hour

	// maxHostValueLen bounds a host-supplied parameter value: they are
	// ports, sizes and names, and the host is untrusted.
	maxHostValueLen = 1024

	// maxSignatureFileSize and maxSignatureLen bound a signature file and
	// the signature in it. An ECDSA P-384 ASN.1 signature is at most 104
	// bytes, Ed25519 64.
	maxSignatureFileSize = 4096
	maxSignatureLen      = 512
)
