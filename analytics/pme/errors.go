package pme

import "errors"

// Error classes. Every error this package returns wraps exactly one of
// them (a KMS refusal wraps ErrNoKey and the KMS's own error), so callers
// tell them apart with errors.Is.
var (
	// ErrConfig: the Config is invalid (unknown algorithm, bad key
	// length, malformed or conflicting key properties).
	ErrConfig = errors.New("invalid encryption config")
	// ErrNoKey: a key could not be obtained: the KMS does not know the
	// master key, refused the caller, was unreachable, or could not unwrap
	// (wrong master key). The KMS's error is wrapped; it never carries key
	// bytes.
	ErrNoKey = errors.New("key not available")
	// ErrKeyMaterial: a key_metadata field is not parquet-java key
	// material this package can use (bad JSON, unknown type, external
	// storage, missing or malformed field).
	ErrKeyMaterial = errors.New("malformed key material")
	// ErrTampered: authentication failed: a module of the file (footer,
	// page header, GCM page data) or a locally wrapped key was modified,
	// or was encrypted under other keys. No plaintext is returned.
	ErrTampered = errors.New("authentication failed")
	// ErrPlaintext: a file expected to be encrypted is a plaintext
	// Parquet file (refused unless FactoryOptions.AllowPlaintextFiles).
	ErrPlaintext = errors.New("file is not encrypted")
	// ErrFile: the file is not a readable (encrypted) Parquet file:
	// truncated, malformed, or using a feature arrow-go rejects.
	ErrFile = errors.New("unreadable parquet file")
	// ErrUnknownMasterKey: MemoryKMS holds no master key by that ID.
	ErrUnknownMasterKey = errors.New("unknown master key")
)
