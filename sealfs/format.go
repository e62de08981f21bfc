package sealfs

import (
	"encoding/binary"
	"fmt"
)

// Byte layout of a ciphertext file (docs/sealfs.md, "File format").
const (
	magic   = "COFRESF1"
	version = 1

	offMagic   = 0  // 8 bytes "COFRESF1"
	offVersion = 8  // 1 byte, version
	offSegLog  = 9  // 1 byte, log2 of the segment size (12..20)
	offKeyID   = 10 // 8 bytes, key ID
	offFileID  = 18 // 16 bytes, random file ID
	offNonce   = 34 // 12 bytes, header nonce (new on every rewrite)
	offBinding = 46 // 16 bytes, GCM tag binding the header to the path

	// HeaderSize is the size of the file header in bytes. It does not depend
	// on the path, so a rename rewrites 62 bytes and never moves segments.
	HeaderSize = 62

	keyIDSize  = offFileID - offKeyID
	fileIDSize = offNonce - offFileID
	nonceSize  = 12
	tagSize    = 16

	// SegmentOverhead is the per-segment cost on disk: nonce ‖ … ‖ tag.
	SegmentOverhead = nonceSize + tagSize

	// segment AAD = file ID (16) ‖ segment index (8, big-endian) ‖ final (1)
	aadSize = fileIDSize + 8 + 1
)

// header is a parsed, not yet authenticated, file header.
type header struct {
	segLog  uint8
	keyID   [keyIDSize]byte
	fileID  [fileIDSize]byte
	nonce   [nonceSize]byte
	binding [tagSize]byte
}

// parseHeader parses the first HeaderSize bytes of a ciphertext file. It
// checks structure only (magic, version, segment size); the key ID and the
// path binding are checked by keys.verifyHeader.
func parseHeader(path string, b []byte) (header, error) {
	var h header
	if len(b) < len(magic) || string(b[offMagic:offMagic+len(magic)]) != magic {
		return h, ErrNotSealfs
	}
	if len(b) < HeaderSize {
		return h, tampered(path, HeaderSegment, "header truncated")
	}
	if b[offVersion] != version {
		return h, &versionError{got: b[offVersion]}
	}
	h.segLog = b[offSegLog]
	if h.segLog < MinSegmentLog || h.segLog > MaxSegmentLog {
		return h, tampered(path, HeaderSegment, "segment size out of range")
	}
	copy(h.keyID[:], b[offKeyID:])
	copy(h.fileID[:], b[offFileID:])
	copy(h.nonce[:], b[offNonce:])
	copy(h.binding[:], b[offBinding:])
	return h, nil
}

// versionError wraps ErrNotSealfs with the version found.
type versionError struct{ got byte }

func (e *versionError) Error() string {
	return fmt.Sprintf("sealfs: format version %d not supported: not a sealfs file", e.got)
}
func (e *versionError) Unwrap() error { return ErrNotSealfs }

// marshal returns the header bytes. The first offBinding bytes are the AAD
// of the path binding.
func (h *header) marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b[offMagic:], magic)
	b[offVersion] = version
	b[offSegLog] = h.segLog
	copy(b[offKeyID:], h.keyID[:])
	copy(b[offFileID:], h.fileID[:])
	copy(b[offNonce:], h.nonce[:])
	copy(b[offBinding:], h.binding[:])
	return b
}

// segment geometry for a file with segment size seg (bytes).

// numSegments is the number of segments of a file of plaintext size size:
// every file has at least one (an empty file is one empty final segment).
func numSegments(size, seg int64) int64 {
	if size == 0 {
		return 1
	}
	return (size + seg - 1) / seg
}

// segmentOffset is the ciphertext offset of segment i.
func segmentOffset(i, seg int64) int64 { return HeaderSize + i*(seg+SegmentOverhead) }

// cipherSize is the ciphertext file size for a plaintext size.
func cipherSize(size, seg int64) int64 {
	return HeaderSize + numSegments(size, seg)*SegmentOverhead + size
}

// plainSize inverts cipherSize. It accepts only canonical lengths: a torn
// segment (shorter than its overhead) or a trailing empty segment is
// refused, so a length never maps to a plaintext size whose final segment
// is not the last one on disk.
func plainSize(path string, csize, seg int64) (int64, error) {
	body := csize - HeaderSize
	if body < SegmentOverhead {
		return 0, tampered(path, 0, "file truncated: no segment")
	}
	stride := seg + SegmentOverhead
	n := (body + stride - 1) / stride
	size := body - n*SegmentOverhead
	if size < 0 || cipherSize(size, seg) != csize {
		return 0, tampered(path, n-1, "file length is not a whole number of segments")
	}
	if size > MaxFileSize {
		// No write of ours makes such a file; refusing it keeps offsets
		// and segment indices within what writeAt and truncate handle.
		return 0, tampered(path, n-1, "file larger than MaxFileSize")
	}
	return size, nil
}

// segmentAAD is file ID ‖ index (big-endian) ‖ final flag.
func segmentAAD(dst *[aadSize]byte, fileID *[fileIDSize]byte, i int64, final bool) []byte {
	copy(dst[:], fileID[:])
	binary.BigEndian.PutUint64(dst[fileIDSize:], uint64(i))
	dst[aadSize-1] = 0
	if final {
		dst[aadSize-1] = 1
	}
	return dst[:]
}
