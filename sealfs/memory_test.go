package sealfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
)

func wantRolledBack(t *testing.T, what string, err error) {
	t.Helper()
	var te *TamperError
	if !errors.As(err, &te) || !errors.Is(err, ErrTampered) || !strings.Contains(te.Reason, "rolled back") {
		t.Errorf("%s: %v, want ErrTampered, rolled back", what, err)
	}
}

func writeAt(t *testing.T, v *Volume, name string, p []byte, off int64) {
	t.Helper()
	f, err := v.Open(name, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackAfterClose: a file closed, then rolled back by the host to an
// older genuine copy, is refused when reopened in the same process and by
// RootHash (what the launcher reports at unmount), though every old segment
// authenticates on its own.
func TestRollbackAfterClose(t *testing.T) {
	const s = testSeg
	seg := func(b []byte, i int64) []byte { return b[segmentOffset(i, s):segmentOffset(i+1, s)] }
	tests := []struct {
		name string
		// run writes the files, takes the old copy and returns the
		// volume to check and the ciphertext to put back at "a".
		run func(t *testing.T, v *Volume) (*Volume, []byte)
		// reason of the refusal: at open (segment HeaderSegment) if
		// atOpen, else at the first read.
		atOpen bool
		reason string
	}{
		{"one segment rolled back", func(t *testing.T, v *Volume) (*Volume, []byte) {
			writeFile(t, v, "a", pattern(3*s, 1))
			old := mustReadDisk(t, v, "a")
			writeAt(t, v, "a", pattern(s, 2), s)
			cur := mustReadDisk(t, v, "a")
			copy(seg(cur, 1), seg(old, 1))
			return v, cur
		}, false, "not the version last written or read"},
		{"whole file, same file ID, shorter", func(t *testing.T, v *Volume) (*Volume, []byte) {
			writeFile(t, v, "a", pattern(2*s, 1))
			old := mustReadDisk(t, v, "a")
			writeAt(t, v, "a", pattern(s, 2), 2*s)
			return v, old
		}, true, "file has 2 segments, this volume last saw 3"},
		{"whole file, same file ID, same length", func(t *testing.T, v *Volume) (*Volume, []byte) {
			writeFile(t, v, "a", pattern(2*s, 1))
			old := mustReadDisk(t, v, "a")
			writeAt(t, v, "a", pattern(10, 2), 0)
			return v, old
		}, false, "not the version last written or read"},
		{"whole file, older file ID", func(t *testing.T, v *Volume) (*Volume, []byte) {
			writeFile(t, v, "a", pattern(2*s, 1))
			old := mustReadDisk(t, v, "a")
			writeFile(t, v, "a", pattern(2*s, 2)) // Create: new file ID
			return v, old
		}, true, "file ID is not the one this volume last saw"},
		{"learnt by the mount-time RootHash of a new process", func(t *testing.T, v *Volume) (*Volume, []byte) {
			writeFile(t, v, "a", pattern(3*s, 1))
			old := mustReadDisk(t, v, "a")
			writeAt(t, v, "a", pattern(s, 2), 2*s)
			v2 := openVolume(t, v.Dir(), testKey(1))
			if _, err := v2.RootHash(); err != nil { // the mount check
				t.Fatal(err)
			}
			cur := mustReadDisk(t, v, "a")
			copy(seg(cur, 2), seg(old, 2)) // a segment v2 never read
			return v2, cur
		}, false, "not the version last written or read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, old := tc.run(t, newVolume(t))
			writeFile(t, v, "other", []byte("untouched"))
			cur := mustReadDisk(t, v, "a")
			writeDisk(t, v, "a", old)
			// Control: a process that remembers nothing accepts the old
			// copy; only the coordinator's root hash would catch it.
			if _, err := readFile(openVolume(t, v.Dir(), testKey(1)), "a"); err != nil {
				t.Fatalf("control: the old copy does not authenticate: %v", err)
			}
			f, err := v.Open("a", os.O_RDONLY)
			if err == nil {
				_, err = f.ReadAt(make([]byte, 3*s), 0)
				f.Close()
			}
			wantRolledBack(t, "reopen and read", err)
			if te := tamperErr(t, err); (te.Segment == HeaderSegment) != tc.atOpen || !strings.Contains(te.Reason, tc.reason) {
				t.Errorf("TamperError %+v, want at open %v, reason %q", te, tc.atOpen, tc.reason)
			}
			_, err = v.RootHash()
			wantRolledBack(t, "RootHash", err)
			r, err := v.Fsck(t.Context())
			if err != nil || r.OK() || r.Problems[0].Path != "a" || !errors.Is(r.Problems[0].Err, ErrTampered) {
				t.Errorf("Fsck: %+v, %v, want a tampered", r, err)
			}
			// Refused again (the memory is kept), and the other file is
			// fine.
			_, err = readFile(v, "a")
			wantRolledBack(t, "second reopen", err)
			if got := mustRead(t, v, "other"); string(got) != "untouched" {
				t.Errorf("other = %q", got)
			}
			// The current version put back: accepted again.
			writeDisk(t, v, "a", cur)
			if _, err := readFile(v, "a"); err != nil {
				t.Errorf("current version: %v", err)
			}
			if _, err := v.RootHash(); err != nil {
				t.Errorf("RootHash of the current version: %v", err)
			}
		})
	}
}

// TestVanished: a file the volume knows, removed or moved on disk behind
// its back, is refused by RootHash, Fsck, Open and Create.
func TestVanished(t *testing.T) {
	tests := []struct {
		name   string
		open   bool // the file is open when it vanishes
		tamper func(t *testing.T, v *Volume)
	}{
		{"removed", false, func(t *testing.T, v *Volume) {
			if err := os.Remove(diskPath(v, "a")); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed while open", true, func(t *testing.T, v *Volume) {
			if err := os.Remove(diskPath(v, "a")); err != nil {
				t.Fatal(err)
			}
		}},
		{"moved into a directory", false, func(t *testing.T, v *Volume) {
			if err := os.Mkdir(diskPath(v, "d"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(diskPath(v, "a"), diskPath(v, "d/a")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			writeFile(t, v, "a", pattern(100, 1))
			writeFile(t, v, "b", pattern(100, 2))
			if tc.open {
				f, err := v.Open("a", os.O_RDONLY)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
			}
			tc.tamper(t, v)
			if _, err := v.RootHash(); !errors.Is(err, ErrTampered) {
				t.Errorf("RootHash: %v, want ErrTampered", err)
			}
			r, err := v.Fsck(t.Context())
			if err != nil || r.OK() || r.Problems[0].Path != "a" {
				t.Fatalf("Fsck: %+v, %v, want a vanished", r, err)
			}
			wantRolledBack(t, "Fsck", r.Problems[0].Err)
			if tc.open {
				return
			}
			_, err = v.Open("a", os.O_RDONLY)
			wantRolledBack(t, "Open", err)
			_, err = v.Create("a")
			wantRolledBack(t, "Create", err)
			if _, err := os.Lstat(diskPath(v, "a")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the refused Create left a file: %v", err)
			}
		})
	}
}

// TestAddedAfterWalk: once RootHash has seen the whole volume, a file the
// volume did not create (here: one removed through it, then put back by the
// host) is refused.
func TestAddedAfterWalk(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "a", pattern(100, 1))
	old := mustReadDisk(t, v, "a")
	if err := v.Remove("a"); err != nil {
		t.Fatal(err)
	}
	// Before any walk the volume does not know every file: not refused.
	writeDisk(t, v, "a", old)
	if _, err := readFile(v, "a"); err != nil {
		t.Fatalf("before the first walk: %v", err)
	}
	if err := v.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.RootHash(); err != nil {
		t.Fatal(err)
	}
	writeDisk(t, v, "a", old)
	_, err := v.RootHash()
	wantRolledBack(t, "RootHash", err)
	_, err = readFile(v, "a")
	wantRolledBack(t, "Open", err)
	// Removed through the volume again: the volume is consistent.
	if err := v.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.RootHash(); err != nil {
		t.Errorf("after removing it: %v", err)
	}
}

// TestLegitimateChanges: everything done through the Volume keeps the
// memory consistent, with files open and closed, between root hashes.
func TestLegitimateChanges(t *testing.T) {
	const s = testSeg
	v := newVolume(t)
	writeFile(t, v, "a", pattern(3*s+5, 1))
	writeFile(t, v, "b", pattern(10, 2))
	if err := v.Mkdir("d", 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, v, "d/x", pattern(2*s, 3))
	writeFile(t, v, "d/y", pattern(5, 4))
	if _, err := v.RootHash(); err != nil { // the mount check: everything known
		t.Fatal(err)
	}
	open := func(name string) *File {
		f, err := v.Open(name, os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"truncate down", func() error { f := open("a"); defer f.Close(); return f.Truncate(s + 1) }},
		{"truncate up", func() error { f := open("a"); defer f.Close(); return f.Truncate(4 * s) }},
		{"truncate to 0", func() error { f := open("b"); defer f.Close(); return f.Truncate(0) }},
		{"O_TRUNC", func() error {
			f, err := v.Open("b", os.O_RDWR|os.O_TRUNC)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("new b"))
			return err
		}},
		{"rename a file", func() error { return v.Rename("a", "a2") }},
		{"rename an open file", func() error {
			f := open("a2")
			defer f.Close()
			if err := v.Rename("a2", "a3"); err != nil {
				return err
			}
			_, err := f.WriteAt([]byte("x"), 0)
			return err
		}},
		{"rename a directory", func() error { return v.Rename("d", "e") }},
		{"rename over a file", func() error { return v.Rename("e/y", "b") }},
		{"rename over an open file", func() error {
			f := open("e/x")
			defer f.Close()
			writeFile(t, v, "c", []byte("c"))
			return v.Rename("c", "e/x")
		}},
		{"remove", func() error { return v.Remove("a3") }},
		{"create where a file was removed", func() error { writeFile(t, v, "a3", []byte("again")); return nil }},
		{"remove an open file", func() error {
			f := open("a3")
			defer f.Close()
			if err := v.Remove("a3"); err != nil {
				return err
			}
			_, err := f.WriteAt([]byte("gone"), 0)
			return err
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if _, err := v.RootHash(); err != nil {
			t.Fatalf("RootHash after %s: %v", st.name, err)
		}
		if r, err := v.Fsck(t.Context()); err != nil || !r.OK() {
			t.Fatalf("Fsck after %s: %+v, %v", st.name, r, err)
		}
	}
	want := map[string]string{"b": string(pattern(5, 4)), "e/x": "c"}
	for name, w := range want {
		if got := mustRead(t, v, name); string(got) != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
	// A new process sees the same state.
	h, err := v.RootHash()
	if err != nil {
		t.Fatal(err)
	}
	if h2, err := openVolume(t, v.Dir(), testKey(1)).RootHash(); err != nil || h2 != h {
		t.Errorf("new process: %x, %v; want %x", h2, err, h)
	}
}

// TestBrokenFileForgotten: a file whose write failed half way is taken as
// found when reopened (the process cannot vouch for it), not refused as
// rolled back.
func TestBrokenFileForgotten(t *testing.T) {
	const s = testSeg
	perBatch := int64(ioBatchBytes / s)
	v := newVolume(t)
	writeFile(t, v, "a", pattern(int(2*perBatch*s), 1))
	bad := perBatch + 10
	b := mustReadDisk(t, v, "a")
	b[segmentOffset(bad, s)+nonceSize+3] ^= 1
	writeDisk(t, v, "a", b)
	f, err := v.Open("a", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, bad*s+10), 0); !errors.Is(err, ErrTampered) {
		t.Fatalf("WriteAt: %v, want ErrTampered", err)
	}
	f.Close()
	v.mu.Lock()
	m := v.known["a"]
	v.mu.Unlock()
	if m == nil || !m.stale {
		t.Fatalf("memory of the broken file = %+v, want stale", m)
	}
	g, err := v.Open("a", os.O_RDONLY)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer g.Close()
	if _, err := g.ReadAt(make([]byte, 10), 0); err != nil {
		t.Errorf("read of a rewritten segment: %v", err)
	}
	if _, err := g.ReadAt(make([]byte, 10), bad*s); !errors.Is(err, ErrTampered) || strings.Contains(err.Error(), "rolled back") {
		t.Errorf("read of the damaged segment: %v, want authentication failure", err)
	}
}

// TestMemoryConcurrent: opens, closes, writes, renames and root hashes
// from many goroutines; run with -race. No change is made behind the
// volume's back, so nothing may be refused.
func TestMemoryConcurrent(t *testing.T) {
	v := newVolume(t)
	const workers, rounds = 4, 15
	for w := range workers {
		writeFile(t, v, fmt.Sprintf("f%d", w), pattern(testSeg+w, byte(w)))
	}
	if _, err := v.RootHash(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers+1)
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("f%d", w)
			for r := range rounds {
				f, err := v.Open(name, os.O_RDWR)
				if err != nil {
					errs <- err
					return
				}
				_, err = f.WriteAt(pattern(100, byte(r)), int64(r*97))
				if err == nil {
					_, err = f.ReadAt(make([]byte, 200), 0)
				}
				f.Close()
				if err != nil {
					errs <- err
					return
				}
				next := fmt.Sprintf("f%d.%d", w, r)
				if err := v.Rename(name, next); err != nil {
					errs <- err
					return
				}
				name = next
			}
			if err := v.Remove(name); err != nil {
				errs <- err
			}
		})
		// A reader of a shared file, opened and closed repeatedly.
		wg.Go(func() {
			for range rounds {
				if _, err := readFile(v, "shared"); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		writeFile(t, v, "shared", pattern(3*testSeg, 9))
		for range rounds {
			if _, err := v.RootHash(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if r, err := v.Fsck(t.Context()); err != nil || !r.OK() || r.Files != 1 {
		t.Errorf("Fsck: %+v, %v", r, err)
	}
}

func TestTagSet(t *testing.T) {
	tag := func(i int64) []byte { return bytes.Repeat([]byte{byte(i%250 + 1)}, tagSize) }
	var s tagSet
	idx := []int64{0, 1, 5, tagChunk - 1, tagChunk, 3*tagChunk + 7, 1 << 28}
	for _, i := range idx {
		if _, ok := s.get(i); ok {
			t.Errorf("empty set knows %d", i)
		}
		s.set(i, tag(i))
	}
	for _, i := range idx {
		if got, ok := s.get(i); !ok || !bytes.Equal(got[:], tag(i)) {
			t.Errorf("get(%d) = %x, %v", i, got, ok)
		}
	}
	for _, i := range []int64{2, tagChunk + 1, 2 * tagChunk} {
		if _, ok := s.get(i); ok {
			t.Errorf("unset %d known", i)
		}
	}
	if cap(s.head) > tagChunk {
		t.Errorf("head capacity %d beyond one chunk", cap(s.head))
	}
	s.forgetFrom(5)
	for _, i := range idx {
		if _, ok := s.get(i); ok != (i < 5) {
			t.Errorf("after forgetFrom(5): get(%d) known = %v", i, ok)
		}
	}
	// Regrowing after a cut does not resurrect old tags.
	s.set(7, tag(7))
	if _, ok := s.get(5); ok {
		t.Error("tag 5 resurrected")
	}
	s.forgetFrom(tagChunk + 1)
	s.set(tagChunk+3, tag(3))
	s.forgetFrom(tagChunk + 2)
	if _, ok := s.get(tagChunk + 3); ok {
		t.Error("tag in a partly cut chunk kept")
	}
	// A small file costs its segments, not a chunk.
	var small tagSet
	for i := range int64(3) {
		small.set(i, tag(i))
	}
	if cap(small.head) > 4 || small.rest != nil {
		t.Errorf("3 segments use capacity %d, rest %v", cap(small.head), small.rest != nil)
	}
}

// TestOpenFileReplaced: RootHash reads an open file through its
// descriptor, so it first checks that the path still holds that file.
func TestOpenFileReplaced(t *testing.T) {
	const s = testSeg
	tests := []struct {
		name   string
		tamper func(t *testing.T, v *Volume, old []byte)
		reason string
	}{
		{"another inode put in its place", func(t *testing.T, v *Volume, old []byte) {
			tmp := diskPath(v, "tmp")
			if err := os.WriteFile(tmp, mustReadDisk(t, v, "a"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, diskPath(v, "a")); err != nil {
				t.Fatal(err)
			}
		}, "replaced"},
		{"extended", func(t *testing.T, v *Volume, old []byte) {
			b := mustReadDisk(t, v, "a")
			writeDisk(t, v, "a", append(b, b[HeaderSize:segmentOffset(1, s)]...))
		}, "length"},
		{"older copy of the same length", func(t *testing.T, v *Volume, old []byte) {
			writeDisk(t, v, "a", old)
		}, "file ID is not the open file's"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			writeFile(t, v, "a", pattern(2*s, 1))
			old := mustReadDisk(t, v, "a")
			writeFile(t, v, "a", pattern(2*s, 2)) // new file ID
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := v.RootHash(); err != nil {
				t.Fatalf("control: %v", err)
			}
			tc.tamper(t, v, old)
			_, err = v.RootHash()
			wantRolledBack(t, "RootHash", err)
			if te := tamperErr(t, err); !strings.Contains(te.Reason, tc.reason) {
				t.Errorf("TamperError %+v, want reason %q", te, tc.reason)
			}
		})
	}
}

// TestRenameRolledBack: Rename does not rebind a closed file the host
// rolled back to an older file ID (which would launder it under a new
// path), and leaves everything in place.
func TestRenameRolledBack(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "a", pattern(100, 1))
	old := mustReadDisk(t, v, "a")
	writeFile(t, v, "a", pattern(100, 2)) // new file ID
	writeDisk(t, v, "a", old)
	err := v.Rename("a", "b")
	wantRolledBack(t, "Rename", err)
	if te := tamperErr(t, err); !strings.Contains(te.Reason, "file ID") {
		t.Errorf("TamperError %+v, want the file ID check", te)
	}
	if b := mustReadDisk(t, v, "a"); !bytes.Equal(b, old) {
		t.Error("the refused Rename rewrote the header")
	}
	// Control: a genuine rename of the same kind of file works.
	writeFile(t, v, "c", pattern(100, 3))
	if err := v.Rename("c", "d"); err != nil {
		t.Errorf("Rename: %v", err)
	}
}
