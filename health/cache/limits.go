package cache

import "time"

const (
	// MaxValueSize caps a cached value's plaintext. Cache entries are FHIR
	// resources and small derived records, not images; the cap bounds what
	// a hostile Redis host can make Get decrypt and allocate, and what a
	// caller's bug can push into shared memory.
	MaxValueSize = 4 << 20

	// MaxKeySize caps a logical key. Keys are identifiers (resource type
	// and id); the name sent to Redis is a fixed-size hash either way, so
	// the cap only catches callers that put data into keys.
	MaxKeySize = 1024

	// MaxNamespaceSize caps Config.Namespace, a short constant per use.
	MaxNamespaceSize = 64

	// MaxTTL caps an entry's lifetime. This is a cache of patient data,
	// not a store: PHI in it must age out, and a week is longer than any
	// session or report workflow that reads it.
	MaxTTL = 7 * 24 * time.Hour

	// MinTTL is Redis's expiry resolution (SET ... PX takes milliseconds):
	// a shorter TTL cannot be expressed, and zero would mean "never".
	MinTTL = time.Millisecond
)
