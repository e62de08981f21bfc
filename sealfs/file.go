package sealfs

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// node is the shared state of one open ciphertext file: every File opened
// on the same path of a Volume shares it, so they see each other's writes.
type node struct {
	keys     *keys // the volume's, to seal a renewed header
	segLog   uint8
	f        *os.File
	writable bool

	refs int // number of open Files; guarded by Volume.mu

	// mu guards the fields below and the ciphertext on disk: readers
	// (ReadAt) take it shared, writers (WriteAt, Truncate) exclusively, so
	// a reader never sees a half-written segment of this process.
	mu     sync.RWMutex
	aead   cipher.AEAD // per-file segment cipher; replaced with fileID
	fileID [fileIDSize]byte
	path   string // current path in the volume
	size   int64  // plaintext size
	broken error  // set when a failed write left the file inconsistent

	// finalOK is set once the last segment on disk was authenticated as
	// final (or written by us): until then a file cut at a segment
	// boundary by the host would read as a shorter, genuine file.
	finalOK atomic.Bool

	// tags holds the expected tag of every segment this process sealed or
	// authenticated (taken from the Volume's memory of the path when the
	// node is created, handed back when it is released: memory.go).
	// Readers record tags under a shared mu, hence tagMu.
	tagMu sync.Mutex
	tags  tagSet
}

// checkTag compares the tag of segment i as read from disk with the one
// expected. A different tag is a segment replaced behind our back, even by
// an older genuine version of itself, which GCM alone would accept. Then
// (if record) it remembers the tag, which the caller has authenticated.
func (n *node) checkTag(i int64, tag []byte, record bool) error {
	n.tagMu.Lock()
	defer n.tagMu.Unlock()
	if want, ok := n.tags.get(i); ok && !bytes.Equal(want[:], tag) {
		return tampered(n.path, i, "segment is not the version last written or read (rolled back)")
	}
	if record {
		n.tags.set(i, tag)
	}
	return nil
}

func (n *node) segSize() int64 { return 1 << n.segLog }

// Size returns the plaintext size.
func (n *node) Size() int64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.size
}

// sealSegment appends nonce ‖ GCM(plain) for segment i to dst. plain may
// be dst[len(dst)+nonceSize:][:len(plain)] (sealed in place).
func (n *node) sealSegment(dst []byte, i int64, final bool, plain []byte) []byte {
	var nonce [nonceSize]byte
	rand.Read(nonce[:])
	var aad [aadSize]byte
	dst = append(dst, nonce[:]...)
	return n.aead.Seal(dst, nonce[:], plain, segmentAAD(&aad, &n.fileID, i, final))
}

// wrote records the tags of segments first, first+1, … sealed in ct (whole
// segments, plaintext lengths from size) once ct is on disk: a sealed
// segment that never reached the disk must not become the expected one.
func (n *node) wrote(first int64, ct []byte, size int64) {
	seg := n.segSize()
	n.tagMu.Lock()
	defer n.tagMu.Unlock()
	for i := first; len(ct) > 0; i++ {
		l := segmentPlainLen(i, size, seg) + SegmentOverhead
		n.tags.set(i, ct[l-tagSize:l])
		ct = ct[l:]
	}
}

// openSegment authenticates and decrypts segment i in place and returns
// the plaintext (aliasing ct). On failure nothing of ct may be used.
func (n *node) openSegment(ct []byte, i int64, final bool) ([]byte, error) {
	var aad [aadSize]byte
	pt, err := n.aead.Open(ct[nonceSize:nonceSize], ct[:nonceSize], ct[nonceSize:], segmentAAD(&aad, &n.fileID, i, final))
	if err != nil {
		// The tag covers the ciphertext, the index, the file ID and the
		// final flag, so a flipped byte, a moved or foreign segment, and a
		// truncated or extended file all end here.
		return nil, tampered(n.path, i, "segment authentication failed")
	}
	return pt, nil
}

// segmentPlainLen is the plaintext length of segment i of a file of size.
func segmentPlainLen(i, size, seg int64) int64 {
	return min(seg, size-i*seg)
}

// readSegments reads and opens segments first..last (inclusive) of a file
// of plaintext size and calls fn with each plaintext. If tap is not nil,
// each segment's nonce and tag are written to it first. n.mu must be held.
func (n *node) readSegments(first, last, size int64, tap hash.Hash, fn func(i int64, pt []byte)) error {
	if n.broken != nil {
		return n.broken
	}
	seg := n.segSize()
	perBatch := max(1, ioBatchBytes/seg)
	for i := first; i <= last; {
		j := min(last, i+perBatch-1)
		total := (j-i)*(seg+SegmentOverhead) + segmentPlainLen(j, size, seg) + SegmentOverhead
		bp := getBuf(total)
		buf := *bp
		err := n.readBatch(buf, i, j, total, size, tap, fn)
		putBuf(bp)
		if err != nil {
			return err
		}
		i = j + 1
	}
	return nil
}

// readBatch reads segments i..j (total ciphertext bytes) into buf and
// opens them.
func (n *node) readBatch(buf []byte, i, j, total, size int64, tap hash.Hash, fn func(int64, []byte)) error {
	seg := n.segSize()
	final := numSegments(size, seg) - 1
	buf = buf[:total]
	m, err := n.f.ReadAt(buf, segmentOffset(i, seg))
	if err != nil && !(errors.Is(err, io.EOF) && int64(m) == total) {
		if errors.Is(err, io.EOF) {
			return tampered(n.path, i+int64(m)/(seg+SegmentOverhead), "file truncated")
		}
		return &fs.PathError{Op: "read", Path: n.path, Err: err}
	}
	for k := i; k <= j; k++ {
		l := segmentPlainLen(k, size, seg) + SegmentOverhead
		ct := buf[:l]
		buf = buf[l:]
		if tap != nil {
			tap.Write(ct[:nonceSize])
			tap.Write(ct[l-tagSize:])
		}
		var tag [tagSize]byte
		copy(tag[:], ct[l-tagSize:])
		if err := n.checkTag(k, tag[:], false); err != nil {
			return err
		}
		pt, err := n.openSegment(ct, k, k == final)
		if err != nil {
			return err
		}
		if err := n.checkTag(k, tag[:], true); err != nil {
			return err // another reader recorded a different tag meanwhile
		}
		if k == final {
			n.finalOK.Store(true)
		}
		fn(k, pt)
	}
	return nil
}

// bufPool recycles segment batch buffers (at most one batch of ciphertext)
// so large reads and writes do not allocate and clear a megabyte per call. Buffers
// hold plaintext only while in use by one call; they stay in this
// process's memory, like any other plaintext buffer.
// batchBufSize holds one batch of ciphertext at any segment size.
const batchBufSize = ioBatchBytes + (ioBatchBytes>>MinSegmentLog+1)*SegmentOverhead

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, batchBufSize)
	return &b
}}

func getBuf(n int64) *[]byte {
	if n > batchBufSize {
		b := make([]byte, n) // a single segment larger than a batch
		return &b
	}
	return bufPool.Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if len(*b) == batchBufSize {
		bufPool.Put(b)
	}
}

// readAt reads plaintext at off. n.mu must be held (shared is enough).
func (n *node) readAt(p []byte, off int64) (int, error) {
	if off >= n.size {
		if n.broken != nil {
			return 0, n.broken
		}
		if err := n.checkFinal(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	want := min(int64(len(p)), n.size-off)
	if want == 0 {
		return 0, nil
	}
	seg := n.segSize()
	done := 0
	err := n.readSegments(off/seg, (off+want-1)/seg, n.size, nil, func(i int64, pt []byte) {
		start := i * seg
		lo := max(off, start) - start
		hi := min(off+want, start+int64(len(pt))) - start
		done += copy(p[max(off, start)-off:], pt[lo:hi])
	})
	if err != nil {
		return done, err
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// checkFinal authenticates the last segment as final, once per node: it
// is what tells a genuine end of file from one cut at a segment boundary.
// Reads that reach the last segment do it on the way; an EOF, a write or
// a truncate that would not read it call this first. n.mu must be held.
func (n *node) checkFinal() error {
	if n.finalOK.Load() {
		return nil
	}
	last := numSegments(n.size, n.segSize()) - 1
	return n.readSegments(last, last, n.size, nil, func(int64, []byte) {})
}

// writeAt writes p at off, sealing only the touched segments. n.mu must be
// held exclusively.
//
// Crash safety: each segment is written whole with a fresh nonce, so after
// a crash it is old, new, or torn (ErrTampered). When the file grows, the
// previous final segment is resealed as non-final after the new segments
// are written; a crash in between leaves a final segment followed by more
// segments, which reads as ErrTampered at that segment, never as wrong data.
func (n *node) writeAt(p []byte, off int64) (int, error) {
	if n.broken != nil {
		return 0, n.broken
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := off + int64(len(p))
	if end > MaxFileSize || end < off {
		return 0, &fs.PathError{Op: "write", Path: n.path, Err: syscall.EFBIG}
	}
	if err := n.checkFinal(); err != nil {
		return 0, err
	}
	seg := n.segSize()
	oldSize := n.size
	newSize := max(oldSize, end)
	oldLast := numSegments(oldSize, seg) - 1
	newLast := numSegments(newSize, seg) - 1
	// A write beyond the end also seals the zero-filled gap.
	s0 := min(off, oldSize) / seg
	s1 := (end - 1) / seg
	perBatch := max(1, ioBatchBytes/seg)
	for i := s0; i <= s1; {
		j := min(s1, i+perBatch-1)
		// A pooled buffer, not a fresh one per batch: allocating and
		// clearing a megabyte per call was ~10 % of a sequential write.
		stride := seg + SegmentOverhead
		total := (j-i)*stride + segmentPlainLen(j, newSize, seg) + SegmentOverhead
		bp := getBuf(total)
		buf := (*bp)[:total]
		for k := i; k <= j; k++ {
			start := k * seg
			plen := segmentPlainLen(k, newSize, seg)
			// Segment k's slot: nonce ‖ plaintext, sealed in place. All
			// segments but the file's last are whole.
			r := (k - i) * stride
			pt := buf[r+nonceSize : r+nonceSize+plen]
			oldEnd := min(start+seg, oldSize)
			covered := off <= start && end >= start+plen
			if !covered {
				clear(pt) // the pooled buffer is not zeroed; gaps read as zeros
			}
			if k <= oldLast && oldEnd > start && !covered {
				// Read-modify-write of a partly overwritten segment.
				err := n.readSegments(k, k, oldSize, nil, func(_ int64, old []byte) { copy(pt, old) })
				if err != nil && i > s0 {
					// Earlier batches are on disk but n.size is not
					// updated: the file no longer matches it.
					putBuf(bp)
					return 0, n.fail(err)
				}
				if err != nil {
					putBuf(bp)
					return 0, err
				}
			}
			if lo, hi := max(off, start), min(end, start+plen); lo < hi {
				copy(pt[lo-start:], p[lo-off:hi-off])
			}
			n.sealSegment(buf[r:r], k, k == newLast, pt)
		}
		if _, err := n.f.WriteAt(buf, segmentOffset(i, seg)); err != nil {
			putBuf(bp)
			return 0, n.fail(err)
		}
		n.wrote(i, buf, newSize)
		putBuf(bp)
		i = j + 1
	}
	if newLast > oldLast && oldLast < s0 {
		// The old final segment was not rewritten above: reseal it as
		// non-final.
		// It is whole (oldLast < s0): read it into its slot of a pooled
		// buffer and seal it in place.
		bp := getBuf(seg + SegmentOverhead)
		buf := *bp
		plen := 0
		err := n.readSegments(oldLast, oldLast, oldSize, nil, func(_ int64, pt []byte) { plen = copy(buf[nonceSize:], pt) })
		if err != nil {
			putBuf(bp)
			return 0, n.fail(err)
		}
		ct := n.sealSegment(buf[:0], oldLast, false, buf[nonceSize:nonceSize+plen])
		if _, err := n.f.WriteAt(ct, segmentOffset(oldLast, seg)); err != nil {
			putBuf(bp)
			return 0, n.fail(err)
		}
		n.wrote(oldLast, ct, newSize)
		putBuf(bp)
	}
	n.size = newSize
	return len(p), nil
}

// fail records that the file on disk no longer matches n.size, so every
// later operation on it fails instead of misreading it.
func (n *node) fail(err error) error {
	n.broken = fmt.Errorf("sealfs: %s: earlier write failed, file must be reopened: %w", n.path, err)
	return n.broken
}

// truncate sets the plaintext size. n.mu must be held exclusively.
//
// Crash safety: shrinking reseals the new final segment before cutting the
// file; a crash in between leaves a final segment followed by more, which
// reads as ErrTampered.
func (n *node) truncate(size int64) error {
	if n.broken != nil {
		return n.broken
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: n.path, Err: syscall.EINVAL}
	}
	if size > MaxFileSize {
		return &fs.PathError{Op: "truncate", Path: n.path, Err: syscall.EFBIG}
	}
	if size == 0 {
		return n.renew()
	}
	if err := n.checkFinal(); err != nil {
		return err
	}
	seg := n.segSize()
	if size > n.size {
		zeros := make([]byte, min(size-n.size, ioBatchBytes))
		for n.size < size {
			if _, err := n.writeAt(zeros[:min(int64(len(zeros)), size-n.size)], n.size); err != nil {
				return err
			}
		}
		return nil
	}
	if size == n.size {
		return nil
	}
	last := numSegments(size, seg) - 1
	var pt []byte
	if plen := segmentPlainLen(last, size, seg); plen > 0 {
		err := n.readSegments(last, last, n.size, nil, func(_ int64, old []byte) { pt = bytes.Clone(old[:plen]) })
		if err != nil {
			return err
		}
	}
	ct := n.sealSegment(make([]byte, 0, len(pt)+SegmentOverhead), last, true, pt)
	if _, err := n.f.WriteAt(ct, segmentOffset(last, seg)); err != nil {
		return n.fail(err)
	}
	n.wrote(last, ct, size)
	if err := n.f.Truncate(cipherSize(size, seg)); err != nil {
		return n.fail(err)
	}
	n.size = size
	n.tagMu.Lock()
	n.tags.forgetFrom(last + 1)
	n.tagMu.Unlock()
	return nil
}

// renew empties the file under a fresh file ID (and so a fresh file key):
// every segment and header of its earlier content, which the host may have
// kept, now fails authentication, where with the old ID a restored copy
// would have read as genuine. n.mu must be held exclusively.
//
// Crash safety: the new header and empty final segment are written before
// the cut; a crash in between leaves them followed by old segments, which
// fail authentication under the new file ID.
func (n *node) renew() error {
	h := header{segLog: n.segLog, keyID: n.keys.keyID}
	rand.Read(h.fileID[:]) // crypto/rand.Read never fails (Go 1.24+)
	rand.Read(h.nonce[:])
	n.keys.sealHeader(&h, n.path)
	aead, err := n.keys.fileAEAD(&h.fileID)
	if err != nil {
		return err
	}
	n.aead, n.fileID = aead, h.fileID
	n.tagMu.Lock()
	n.tags = tagSet{}
	n.tagMu.Unlock()
	ct := n.sealSegment(h.marshal(), 0, true, nil)
	if _, err := n.f.WriteAt(ct, 0); err != nil {
		return n.fail(err)
	}
	n.wrote(0, ct[HeaderSize:], 0)
	if err := n.f.Truncate(cipherSize(0, n.segSize())); err != nil {
		return n.fail(err)
	}
	n.size = 0
	n.finalOK.Store(true)
	return nil
}

// File is an open file of a Volume. It implements io.ReadWriteSeeker,
// io.ReaderAt, io.WriterAt and io.Closer.
//
// ReadAt and WriteAt are safe for concurrent use by several goroutines and
// through several Files on one path: reads run in parallel, writes to one
// path are serialised (each whole WriteAt is atomic with respect to other
// calls in this process). Read, Write and Seek share the File's offset,
// guarded by its own mutex.
type File struct {
	v                   *Volume
	n                   *node
	read, write, append bool

	mu     sync.Mutex // guards off and closed
	off    int64
	closed bool
}

func (f *File) check(op string, write bool) error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return &fs.PathError{Op: op, Path: f.Name(), Err: os.ErrClosed}
	}
	if (write && !f.write) || (!write && !f.read) {
		return &fs.PathError{Op: op, Path: f.Name(), Err: syscall.EBADF}
	}
	return nil
}

// Name returns the file's current path in the volume (updated by Rename).
func (f *File) Name() string {
	f.n.mu.RLock()
	defer f.n.mu.RUnlock()
	return f.n.path
}

// Size returns the plaintext size.
func (f *File) Size() int64 { return f.n.Size() }

// ReadAt reads len(p) bytes at off. Every byte returned was authenticated;
// on a failed check it returns the bytes of the segments before the bad one
// and an error wrapping ErrTampered.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.Name(), Err: syscall.EINVAL}
	}
	f.n.mu.RLock()
	defer f.n.mu.RUnlock()
	return f.n.readAt(p, off)
}

// WriteAt writes p at off, rewriting only the segments it touches. Writing
// beyond the end fills the gap with zeros (sealfs has no sparse files).
// O_APPEND affects Write only: unlike os.File, WriteAt is allowed on a File
// opened with O_APPEND and writes at off (the FUSE layer passes the offsets
// the kernel computed).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.EINVAL}
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	return f.n.writeAt(p, off)
}

// Read reads at the File's offset and advances it.
func (f *File) Read(p []byte) (int, error) {
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n.mu.RLock()
	m, err := f.n.readAt(p, f.off)
	f.n.mu.RUnlock()
	f.off += int64(m)
	if errors.Is(err, io.EOF) && m > 0 {
		err = nil
	}
	return m, err
}

// Write writes at the File's offset, or at the end with O_APPEND, and
// advances the offset.
func (f *File) Write(p []byte) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n.mu.Lock()
	if f.append {
		f.off = f.n.size
	}
	m, err := f.n.writeAt(p, f.off)
	f.n.mu.Unlock()
	f.off += int64(m)
	return m, err
}

// Seek sets the offset for the next Read or Write, as io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if err := f.check("seek", false); err != nil && !errors.Is(err, syscall.EBADF) {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		base = f.n.Size()
	default:
		return 0, &fs.PathError{Op: "seek", Path: f.Name(), Err: syscall.EINVAL}
	}
	if base+offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: f.Name(), Err: syscall.EINVAL}
	}
	f.off = base + offset
	return f.off, nil
}

// Truncate changes the plaintext size; growing fills with zeros.
func (f *File) Truncate(size int64) error {
	if err := f.check("truncate", true); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	return f.n.truncate(size)
}

// Sync commits the ciphertext to stable storage (fsync).
func (f *File) Sync() error {
	if err := f.check("sync", false); err != nil && !errors.Is(err, syscall.EBADF) {
		return err
	}
	return f.n.f.Sync()
}

// Close closes the File; the shared state of its path is released with the
// last File.
func (f *File) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return &fs.PathError{Op: "close", Path: f.Name(), Err: os.ErrClosed}
	}
	f.closed = true
	f.mu.Unlock()
	v := f.v
	v.mu.Lock()
	defer v.mu.Unlock()
	f.n.refs--
	v.releaseLocked(f.n)
	return nil
}
