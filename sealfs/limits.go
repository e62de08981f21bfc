package sealfs

// Limits of the format and of the implementation, each with its reason.
const (
	// MinSegmentLog and MaxSegmentLog bound the segment size (4 KiB to 1 MiB).
	// Below 4 KiB the 28-byte per-segment overhead exceeds 0.7 % and the
	// read-modify-write cost of small writes dominates; above 1 MiB a
	// one-byte write re-encrypts too much and a parser of untrusted headers
	// would let a file make us allocate large buffers.
	MinSegmentLog = 12
	MaxSegmentLog = 20

	// DefaultSegmentSize is 64 KiB, the size gocryptfs uses 4 KiB for; larger
	// segments amortise the GCM overhead for the sequential spill and shuffle
	// files sealfs is built for.
	DefaultSegmentSize = 1 << 16

	// MaxNameLen bounds a file's path within the volume, in bytes (Linux
	// PATH_MAX minus the terminating NUL).
	MaxNameLen = 4095

	// MaxFileSize bounds a file's plaintext size (1 TiB). sealfs has no
	// sparse files: a write far beyond the end fills the gap with sealed
	// zero segments, so an unbounded offset would be an unbounded write.
	// Each file has its own GCM key with random 96-bit nonces; 2^32 segment
	// writes per file keep the nonce-collision probability below 2^-32, and
	// 1 TiB at the minimum segment size is 2^28 segments, leaving room for
	// rewrites.
	MaxFileSize = 1 << 40

	// ioBatchBytes bounds the plaintext handled by one pread or pwrite, so
	// a large ReadAt or WriteAt does not allocate a buffer of its own size.
	ioBatchBytes = 1 << 20

	// KeySize is the size of the volume key in bytes (AES-256 strength).
	KeySize = 32
)
