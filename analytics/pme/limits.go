package pme

// Limits, each with its reason.
const (
	// maxKeyMetadata bounds a key_metadata field (bytes) before it is
	// parsed. parquet-java's internal key material is ~350 bytes with
	// double wrapping and short IDs; 16 KiB leaves room for long master
	// key IDs and instance URLs while keeping a hostile footer from making
	// the JSON decoder allocate much.
	maxKeyMetadata = 16 << 10

	// maxIDLen bounds master key IDs and KMS instance IDs/URLs (bytes):
	// they are names, and they end up (quoted, clipped) in errors.
	maxIDLen = 1024

	// maxWrappedLen bounds a wrapped key string handed to the KMS (bytes).
	// The coordinator's format for a 32-byte key is ~80 characters; 4 KiB
	// covers any KMS's envelope while keeping a hostile file from sending
	// megabytes to the KMS per key.
	maxWrappedLen = 4 << 10

	// kekLen and kekIDLen are parquet-java's FileKeyWrapper.KEK_LENGTH and
	// KEK_ID_LENGTH: a 128-bit key encryption key with a random 128-bit ID
	// (the ID is also the AAD of every DEK it wraps). Files written by
	// parquet-java and Arrow C++ always use these sizes; other sizes are
	// refused.
	kekLen   = 16
	kekIDLen = 16

	// gcmNonceLen and gcmTagLen: KeyToolkit.encryptKeyLocally writes
	// nonce(12) ‖ ciphertext ‖ tag(16) (AesGcmEncryptor without length
	// prefix).
	gcmNonceLen = 12
	gcmTagLen   = 16

	// maxCacheEntries bounds each KEK cache. Entries are only added after
	// a successful KMS call, so a hostile file cannot grow them by itself;
	// the bound caps memory when a long-lived process sees many KEKs. When
	// full, expired entries are dropped, then the cache is emptied.
	maxCacheEntries = 4096

	// maxErrIDLen clips IDs taken from files before they go into errors.
	maxErrIDLen = 64
)
