package sealfs

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// This file holds what a Volume remembers of the files it verified or
// wrote, so a file rolled back by the host to an older genuine copy is
// refused for the rest of the process, and not laundered into the root
// hash reported at unmount. GCM accepts every genuine version of a segment;
// only memory of the newest one tells them apart.
//
// A path's memory lives in exactly one place: in its open node (node.tags,
// node.fileID, node.size) while the file is open, else in Volume.known.
// Opening hands it to the new node (after checking the file on disk is the
// one remembered), releasing the last File hands it back. Moving it rather
// than copying keeps one set of tags per file.

// tagChunk is the number of tags allocated together beyond the first
// chunk: 16 KiB, so the memory for tags of a large file follows the parts
// of it actually touched.
const tagChunk = 1024

type tagValue = [tagSize]byte

// tagSet maps a segment index to the tag last sealed or authenticated for
// it. An all-zero entry means unknown (a genuine tag is zero with
// probability 2^-128). The zero value is empty and ready to use.
//
// Segments below tagChunk (all of a file up to 64 MiB at the default
// segment size) are in head, which grows with the highest index known, so
// a small file costs 16 bytes per segment rather than a whole chunk; higher
// segments are in whole chunks, allocated when first touched.
type tagSet struct {
	head []tagValue
	rest map[int64]*[tagChunk]tagValue
}

func (s *tagSet) get(i int64) (t tagValue, ok bool) {
	if i < tagChunk {
		if i >= int64(len(s.head)) {
			return t, false
		}
		t = s.head[i]
	} else {
		c := s.rest[i/tagChunk]
		if c == nil {
			return t, false
		}
		t = c[i%tagChunk]
	}
	return t, t != tagValue{}
}

func (s *tagSet) set(i int64, tag []byte) {
	if i < tagChunk {
		if n := int(i) + 1; n > len(s.head) {
			if n > cap(s.head) {
				// Double, but never beyond one chunk.
				grown := make([]tagValue, len(s.head), min(tagChunk, max(n, 2*cap(s.head))))
				copy(grown, s.head)
				s.head = grown
			}
			old := len(s.head)
			s.head = s.head[:n]
			clear(s.head[old:])
		}
		copy(s.head[i][:], tag)
		return
	}
	if s.rest == nil {
		s.rest = map[int64]*[tagChunk]tagValue{}
	}
	c := s.rest[i/tagChunk]
	if c == nil {
		c = new([tagChunk]tagValue)
		s.rest[i/tagChunk] = c
	}
	copy(c[i%tagChunk][:], tag)
}

// forgetFrom drops the tags of segments i and above (cut by a truncate).
func (s *tagSet) forgetFrom(i int64) {
	if i < int64(len(s.head)) {
		s.head = s.head[:i]
	}
	for k, c := range s.rest {
		switch {
		case k*tagChunk >= i:
			delete(s.rest, k)
		case (k+1)*tagChunk > i:
			clear(c[i-k*tagChunk:])
		}
	}
}

// fileMemory is what the Volume knows of a file that is not open: the file
// ID and segment count it last saw, and the tags of the segments it
// sealed or authenticated (all of them once RootHash walked the file).
type fileMemory struct {
	fileID   [fileIDSize]byte
	segments int64 // segment count last seen; 0 if unknown
	tags     tagSet
	// stale: a write failed and left the file in a state this process
	// cannot vouch for (the node was broken). The next open or walk takes
	// the file as it finds it. The path is still known to exist.
	stale bool
}

func rolledBack(path string, seg int64, what string) error {
	return tampered(path, seg, what+" (rolled back)")
}

// adopt checks a node just opened on an existing file (created false) or
// just created (created true) against the volume's memory of its path, and
// hands that memory to the node. On error the caller closes the node.
// v.mu must be held.
func (v *Volume) adopt(n *node, created bool) error {
	m := v.known[n.path]
	switch {
	case created && m != nil:
		return rolledBack(n.path, HeaderSegment, "file vanished: removed behind the volume's back")
	case created:
		return nil
	case m == nil && v.walked:
		return rolledBack(n.path, HeaderSegment, "file not created through this volume: added or restored behind its back")
	case m == nil:
		return nil
	case m.stale:
		delete(v.known, n.path)
		return nil
	}
	if err := m.check(n); err != nil {
		return err
	}
	n.tagMu.Lock()
	n.tags = m.tags
	n.tagMu.Unlock()
	delete(v.known, n.path)
	return nil
}

// check compares a node read from disk with the memory: same file ID (a
// new one comes only from a truncation to 0, made through the Volume), and
// the same segment count.
func (m *fileMemory) check(n *node) error {
	if n.fileID != m.fileID {
		return rolledBack(n.path, HeaderSegment, "file ID is not the one this volume last saw")
	}
	if got := numSegments(n.size, n.segSize()); m.segments != 0 && got != m.segments {
		return rolledBack(n.path, HeaderSegment, fmt.Sprintf("file has %d segments, this volume last saw %d", got, m.segments))
	}
	return nil
}

// remember takes the memory back from a node whose last File was closed
// and that is still the node of its path. v.mu must be held.
func (v *Volume) remember(n *node) {
	n.mu.RLock()
	m := &fileMemory{fileID: n.fileID, segments: numSegments(n.size, n.segSize()), stale: n.broken != nil}
	n.mu.RUnlock()
	n.tagMu.Lock()
	m.tags = n.tags
	n.tags = tagSet{} // a racing use after Close records into nothing
	n.tagMu.Unlock()
	if m.stale {
		m.tags, m.segments = tagSet{}, 0
	}
	v.known[n.path] = m
}

// knownID returns the file ID this volume remembers for path while it is
// not open. v.mu must be held.
func (v *Volume) knownID(path string) (id [fileIDSize]byte, ok bool) {
	if m := v.known[path]; m != nil && !m.stale {
		return m.fileID, true
	}
	return id, false
}

// checkOpenOnDisk checks that the file at an open node's path is still the
// node's: the same inode, file ID and length. RootHash reads an open file
// through the node's descriptor, which would not see a copy put in its
// place. v.mu and n.mu (shared) must be held.
func (v *Volume) checkOpenOnDisk(n *node) error {
	fi, err := n.f.Stat()
	if err != nil {
		return &fs.PathError{Op: "stat", Path: n.path, Err: err}
	}
	dfi, err := v.root.Lstat(n.path)
	if err != nil {
		return &fs.PathError{Op: "stat", Path: n.path, Err: err}
	}
	if !os.SameFile(fi, dfi) {
		return rolledBack(n.path, HeaderSegment, "file replaced behind the volume's back while open")
	}
	if fi.Size() != cipherSize(n.size, n.segSize()) {
		return rolledBack(n.path, HeaderSegment, "file length is not the open file's")
	}
	h, err := v.readHeader(n.path, n.f)
	if err != nil {
		return err
	}
	if h.fileID != n.fileID {
		return rolledBack(n.path, HeaderSegment, "file ID is not the open file's")
	}
	return nil
}

// summarize returns the root-hash summary of the file at p, checked
// against what the volume knows of it; with verify non-nil every segment
// is authenticated (Fsck). The tags read are learnt. A file the volume
// knew nothing of gets a new memory in pending, which the caller keeps
// only if the whole walk succeeds. v.mu must be held.
func (v *Volume) summarize(p string, verify func(int64), pending map[string]*fileMemory) (fileSummary, error) {
	if n := v.nodes[p]; n != nil {
		n.mu.RLock()
		defer n.mu.RUnlock()
		if n.broken != nil {
			return fileSummary{}, n.broken
		}
		if err := v.checkOpenOnDisk(n); err != nil {
			return fileSummary{}, err
		}
		return n.summary(verify)
	}
	f, err := v.openRegular(p, os.O_RDONLY)
	if err != nil {
		return fileSummary{}, err
	}
	defer f.Close()
	n, err := v.readNode(p, f)
	if err != nil {
		return fileSummary{}, err
	}
	m := v.known[p]
	switch {
	case m == nil && v.walked:
		return fileSummary{}, rolledBack(p, HeaderSegment, "file not created through this volume: added or restored behind its back")
	case m == nil || m.stale:
		m = &fileMemory{fileID: n.fileID}
		pending[p] = m
	default:
		if err := m.check(n); err != nil {
			return fileSummary{}, err
		}
	}
	n.tags = m.tags
	s, err := n.summary(verify)
	m.tags = n.tags
	if err == nil {
		m.segments = s.segments
	}
	return s, err
}

// vanished lists, in path order, every file the volume knows (open or
// not) that a walk did not find on disk: removed or moved by the host, as
// Remove and Rename update the memory. v.mu must be held.
func (v *Volume) vanished(seen map[string]bool) []FsckProblem {
	var out []FsckProblem
	add := func(p string) {
		if !seen[p] {
			out = append(out, FsckProblem{Path: p, Err: rolledBack(p, HeaderSegment, "file vanished: removed or moved behind the volume's back")})
		}
	}
	for p := range v.known {
		add(p)
	}
	for p := range v.nodes {
		add(p)
	}
	slices.SortFunc(out, func(a, b FsckProblem) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// commitWalk keeps the memory of the files a successful walk saw for the
// first time: from now on every file on disk is known. v.mu must be held.
func (v *Volume) commitWalk(pending map[string]*fileMemory) {
	for p, m := range pending {
		v.known[p] = m
	}
	v.walked = true
}
