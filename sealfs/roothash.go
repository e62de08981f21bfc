package sealfs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// rootHashDomain starts the root-hash MAC input, so the MAC cannot be
// confused with another use of the key.
const rootHashDomain = "cofre sealfs v1 root hash\x00"

// fileSummary is what the root hash covers for one file.
type fileSummary struct {
	path     string
	fileID   [fileIDSize]byte
	segments int64
	tags     [sha256.Size]byte // SHA-256 of every segment's nonce ‖ tag, in order
}

// RootHash returns the volume's root hash: HMAC-SHA256 (root-hash key) over
// the sorted list of (path, file ID, segment count, SHA-256 of all segment
// nonces and tags). It reads and authenticates every header but reads only
// the 28 bytes of nonce and tag of each segment, not the content.
//
// Because every write draws a fresh nonce, the hash changes with every
// write, truncate, create, rename and remove. A caller that stores the hash
// at unmount (the coordinator) and compares it at mount detects a file
// rolled back to an older copy, a file removed or added, and two files
// swapped. It does not detect anything the stored hash did not cover:
// states between two checks, or any change if the hash is never reported.
// Empty directories are not covered. RootHash does not authenticate segment
// contents (Fsck does).
//
// RootHash also checks the disk against what this Volume remembers (see
// docs/sealfs.md): a file or segment rolled back, a known file missing, or
// (after the first successful RootHash or Fsck, which records every file) a
// file the Volume did not create, is an error wrapping ErrTampered, so the
// hash reported at unmount never covers a rollback made during the session.
//
// RootHash holds the volume's namespace lock for its whole walk and each
// open file's lock while reading it, so call it when the volume is quiet
// (at unmount).
func (v *Volume) RootHash() ([32]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	paths, err := v.listFiles(nil)
	if err != nil {
		return [32]byte{}, err
	}
	sums := make([]fileSummary, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	pending := map[string]*fileMemory{}
	for _, p := range paths {
		seen[p] = true
		s, err := v.summarize(p, nil, pending)
		if err != nil {
			return [32]byte{}, err
		}
		sums = append(sums, s)
	}
	if gone := v.vanished(seen); len(gone) > 0 {
		return [32]byte{}, gone[0].Err
	}
	v.commitWalk(pending)
	return v.rootHash(sums), nil
}

func (v *Volume) rootHash(sums []fileSummary) [32]byte {
	m := hmac.New(sha256.New, v.keys.rootHash)
	m.Write([]byte(rootHashDomain))
	var b [8]byte
	for _, s := range sums {
		binary.BigEndian.PutUint64(b[:], uint64(len(s.path)))
		m.Write(b[:])
		m.Write([]byte(s.path))
		m.Write(s.fileID[:])
		binary.BigEndian.PutUint64(b[:], uint64(s.segments))
		m.Write(b[:])
		m.Write(s.tags[:])
	}
	binary.BigEndian.PutUint64(b[:], uint64(len(sums)))
	m.Write(b[:])
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// listFiles returns the sorted paths of all regular files. Anything else
// that is not a directory is a problem: reported to problems if non-nil,
// else returned as an error. v.mu must be held.
func (v *Volume) listFiles(problems *[]FsckProblem) ([]string, error) {
	var paths []string
	err := fs.WalkDir(v.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if problems != nil {
				*problems = append(*problems, FsckProblem{Path: p, Err: err})
				return nil
			}
			return err
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			paths = append(paths, p)
		default:
			err := &fs.PathError{Op: "walk", Path: p, Err: fmt.Errorf("%w: %s is not a regular file", ErrNotSealfs, d.Type())}
			if problems == nil {
				return err
			}
			*problems = append(*problems, FsckProblem{Path: p, Err: err})
		}
		return nil
	})
	// A global byte-wise sort: WalkDir's per-directory order differs
	// ("a/b" before "a.txt").
	slices.Sort(paths)
	return paths, err
}

// summary reads the nonce and tag of every segment. With verify non-nil it
// instead reads and authenticates every segment fully, and calls verify
// with the plaintext length of each. n.mu must be held.
func (n *node) summary(verify func(int64)) (fileSummary, error) {
	s := fileSummary{path: n.path, fileID: n.fileID}
	seg := n.segSize()
	s.segments = numSegments(n.size, seg)
	h := sha256.New()
	if verify != nil {
		err := n.readSegments(0, s.segments-1, n.size, h, func(i int64, pt []byte) { verify(int64(len(pt))) })
		if err != nil {
			return s, err
		}
	} else {
		var nonce [nonceSize]byte
		var tag [tagSize]byte
		for i := range s.segments {
			off := segmentOffset(i, seg)
			if err := readFull(n.f, nonce[:], off); err != nil {
				return s, n.readErr(i, err)
			}
			if err := readFull(n.f, tag[:], off+nonceSize+segmentPlainLen(i, n.size, seg)); err != nil {
				return s, n.readErr(i, err)
			}
			// Not authenticated here, but a segment this process knows
			// in another version must not be laundered into the hash.
			// Learnt unauthenticated: at mount the root hash compared
			// with the coordinator's vouches for them, and a forged tag
			// fails GCM when the segment is read anyway.
			if err := n.checkTag(i, tag[:], true); err != nil {
				return s, err
			}
			h.Write(nonce[:])
			h.Write(tag[:])
		}
	}
	h.Sum(s.tags[:0])
	return s, nil
}

func readFull(f *os.File, b []byte, off int64) error {
	m, err := f.ReadAt(b, off)
	if m == len(b) {
		return nil
	}
	return err
}

func (n *node) readErr(i int64, err error) error {
	if errors.Is(err, io.EOF) {
		return tampered(n.path, i, "file truncated")
	}
	return &fs.PathError{Op: "read", Path: n.path, Err: err}
}

// FsckReport is the result of Fsck.
type FsckReport struct {
	Files    int   // regular files checked
	Segments int64 // segments authenticated
	Bytes    int64 // plaintext bytes authenticated
	// Problems lists every file that failed, in path order. Each Err wraps
	// ErrTampered, ErrWrongKey, ErrNotSealfs or an I/O error.
	Problems []FsckProblem
	// RootHash is the volume's root hash, as RootHash returns it; valid only
	// when Problems is empty.
	RootHash [32]byte
}

// FsckProblem is one file that failed Fsck.
type FsckProblem struct {
	Path string
	Err  error
}

// OK reports whether the volume passed.
func (r *FsckReport) OK() bool { return len(r.Problems) == 0 }

// Fsck authenticates every header and every segment of every file in the
// volume and computes the root hash in the same pass. A damaged file is a
// problem in the report, not an error: the error is for a failed walk or a
// cancelled ctx. Like RootHash it holds the namespace lock throughout.
func (v *Volume) Fsck(ctx context.Context) (*FsckReport, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := &FsckReport{}
	paths, err := v.listFiles(&r.Problems)
	if err != nil {
		return nil, fmt.Errorf("sealfs: fsck: %w", err)
	}
	sums := make([]fileSummary, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	pending := map[string]*fileMemory{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sealfs: fsck: %w", err)
		}
		seen[p] = true
		r.Files++
		s, err := v.summarize(p, func(l int64) { r.Segments++; r.Bytes += l }, pending)
		if err != nil {
			r.Problems = append(r.Problems, FsckProblem{Path: p, Err: err})
			continue
		}
		sums = append(sums, s)
	}
	r.Problems = append(r.Problems, v.vanished(seen)...)
	slices.SortFunc(r.Problems, func(a, b FsckProblem) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	if len(r.Problems) == 0 {
		v.commitWalk(pending)
		r.RootHash = v.rootHash(sums)
	}
	return r, nil
}
