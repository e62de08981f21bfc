package fuse

import "time"

const (
	// maxRequest is the largest READ or WRITE the kernel may send (1 MiB,
	// its own cap with max_pages): 16 default segments per round trip
	// instead of 2 at the 128 KiB default.
	maxRequest = 1 << 20

	// attrTimeout is how long the kernel trusts a lookup or attributes.
	// Only this mount writes the volume, so staleness can come only from
	// someone bypassing it (which sealfs detects on read); 1 s keeps
	// stat-heavy programs from making a round trip per call.
	attrTimeout = time.Second

	// blockSize is st_blksize: cp and stdio size their buffers from it; the
	// default sealfs segment (64 KiB) avoids read-modify-write of partial
	// segments for sequential writers.
	blockSize = 64 << 10

	// maxFileSize bounds offsets (EFBIG beyond): far above any spill file,
	// and it keeps off+len from overflowing int64.
	maxFileSize = 1 << 50
)
