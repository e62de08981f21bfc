package store

import "time"

const (
	// KeySize is the size of a namespace key: AES-256.
	KeySize = 32

	// MaxValueSize bounds one value. The largest values are manifest
	// documents (at most 1 MiB) and their history entries; 4 MiB leaves
	// room for encoding overhead while keeping a transaction's working set
	// (every value is decrypted into memory, inside the TEE) small.
	MaxValueSize = 4 << 20

	// MaxKeyLen bounds a key: keys are names, versions and instance IDs,
	// and appear in errors. bbolt's own limit is 32 KiB.
	MaxKeyLen = 1024

	// MaxNameLen bounds a table name and a manifest namespace's name; both
	// are identifiers, not data.
	MaxNameLen = 128

	// DefaultLockTimeout is how long Open waits for the file lock when
	// Options.LockTimeout is zero: long enough for a previous process to
	// finish exiting, short enough that a second coordinator on the same
	// file fails visibly instead of hanging.
	DefaultLockTimeout = 5 * time.Second

	// DefaultBatchDelay is the longest Batch waits to group concurrent
	// writers into one commit when Options.BatchDelay is zero. One fsync
	// costs about a millisecond on an SSD; 2 ms lets concurrent
	// activations share it without adding much to a lone activation's
	// latency (bbolt's own default, 10 ms, would).
	DefaultBatchDelay = 2 * time.Millisecond
)
