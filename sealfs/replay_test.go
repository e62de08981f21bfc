package sealfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRenewOnTruncate: emptying a file gives it a fresh file ID, so a copy
// of its earlier content, kept by the host, no longer authenticates.
func TestRenewOnTruncate(t *testing.T) {
	const s = testSeg
	tests := []struct {
		name  string
		first []byte // content before the truncation
		trunc func(t *testing.T, v *Volume) *File
	}{
		{"Create over existing", pattern(2*s+7, 1), func(t *testing.T, v *Volume) *File {
			f, err := v.Create("a")
			if err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{"O_TRUNC", pattern(2*s+7, 1), func(t *testing.T, v *Volume) *File {
			f, err := v.Open("a", os.O_RDWR|os.O_TRUNC)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{"Truncate(0)", pattern(2*s+7, 1), func(t *testing.T, v *Volume) *File {
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{"Truncate(0) of an empty file", nil, func(t *testing.T, v *Volume) *File {
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			return f
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			writeFile(t, v, "a", tc.first)
			old := mustReadDisk(t, v, "a")
			f := tc.trunc(t, v)
			defer f.Close()
			second := pattern(s+3, 2)
			if _, err := f.WriteAt(second, 0); err != nil {
				t.Fatal(err)
			}
			cur := mustReadDisk(t, v, "a")
			if bytes.Equal(cur[offFileID:offNonce], old[offFileID:offNonce]) {
				t.Fatal("file ID unchanged after truncation to 0")
			}
			if got := mustRead(t, v, "a"); !bytes.Equal(got, second) {
				t.Fatal("content after truncate and write differs")
			}

			// Old segments under the new header: fail on a fresh open too.
			spliced := append(bytes.Clone(cur[:HeaderSize]), old[HeaderSize:]...)
			writeDisk(t, v, "a", spliced)
			g, err := v.Open("b", os.O_RDWR|os.O_CREATE) // keep the volume busy with another node
			if err != nil {
				t.Fatal(err)
			}
			g.Close()
			buf := make([]byte, 10)
			if _, err := f.ReadAt(buf, 0); !errors.Is(err, ErrTampered) {
				t.Errorf("old segments under the new header, open file: %v, want ErrTampered", err)
			}

			// The whole old file put back while it is open: its header
			// authenticates for the path, but not for the open file.
			writeDisk(t, v, "a", old)
			if _, err := f.ReadAt(buf, 0); !errors.Is(err, ErrTampered) {
				t.Errorf("old file restored, open file: %v, want ErrTampered", err)
			}
			if err := v.Rename("a", "c"); !errors.Is(err, ErrTampered) {
				t.Errorf("rename of the restored file: %v, want ErrTampered (file ID)", err)
			}
		})
	}
}

// TestSpliceRenewedFresh: old segments behind a renewed header fail for a
// reader that opens the file afresh (no in-memory state).
func TestSpliceRenewedFresh(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "a", pattern(2*testSeg, 1))
	old := mustReadDisk(t, v, "a")
	writeFile(t, v, "a", pattern(2*testSeg, 2)) // Create: renewed
	cur := mustReadDisk(t, v, "a")
	writeDisk(t, v, "a", append(bytes.Clone(cur[:HeaderSize]), old[HeaderSize:]...))
	_, err := readFile(openVolume(t, v.Dir(), testKey(1)), "a")
	if te := tamperErr(t, err); te.Segment != 0 || !strings.Contains(te.Reason, "authentication") {
		t.Errorf("TamperError %+v, want segment 0 authentication", te)
	}
}

// TestInSessionRollback: a segment replaced by an older genuine version of
// itself while the file is open is caught by the remembered tag.
func TestInSessionRollback(t *testing.T) {
	const s = testSeg
	v := newVolume(t)
	writeFile(t, v, "a", pattern(3*s, 1))
	v1 := mustReadDisk(t, v, "a")
	// A genuine newer version of segment 1, from an earlier session.
	f, err := v.Open("a", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(pattern(s, 2), s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	seg1 := func(b []byte) []byte { return b[segmentOffset(1, s):segmentOffset(2, s)] }
	rollback := func(t *testing.T) {
		cur := mustReadDisk(t, v, "a")
		copy(seg1(cur), seg1(v1))
		writeDisk(t, v, "a", cur)
	}

	tests := []struct {
		name  string
		learn func(t *testing.T, f *File) // makes the node know segment 1's tag
	}{
		{"tag learnt by reading", func(t *testing.T, f *File) {
			if _, err := f.ReadAt(make([]byte, s), s); err != nil {
				t.Fatal(err)
			}
		}},
		{"tag learnt by writing", func(t *testing.T, f *File) {
			if _, err := f.WriteAt(pattern(s, 3), s); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tc.learn(t, f)
			// Control: the genuine old version of segment 1 still
			// authenticates on its own (GCM alone would accept it).
			if _, err := v.newNodeForTest(t, v1).readAt(make([]byte, s), s); err != nil {
				t.Fatalf("control: old version does not authenticate: %v", err)
			}
			rollback(t)
			_, err = f.ReadAt(make([]byte, s), s)
			if te := tamperErr(t, err); te.Segment != 1 || !strings.Contains(te.Reason, "rolled back") {
				t.Errorf("ReadAt: TamperError %+v, want segment 1 rolled back", te)
			}
			if _, err := v.RootHash(); !errors.Is(err, ErrTampered) {
				t.Errorf("RootHash with the file open: %v, want ErrTampered", err)
			}
			r, err := v.Fsck(t.Context())
			if err != nil || r.OK() || !errors.Is(r.Problems[0].Err, ErrTampered) {
				t.Errorf("Fsck: %+v, %v, want a tampered problem", r, err)
			}
			// Untouched segments still read.
			if _, err := f.ReadAt(make([]byte, s), 0); err != nil {
				t.Errorf("segment 0: %v", err)
			}
		})
	}
}

// newNodeForTest builds a node on a private copy of the ciphertext b of
// "a", with no remembered tags.
func (v *Volume) newNodeForTest(t *testing.T, b []byte) *node {
	t.Helper()
	p := filepath.Join(t.TempDir(), "copy")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	n, err := v.readNode("a", f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTruncatedAtBoundary: a file cut at a segment boundary must not read
// as a shorter genuine file, also for reads and writes past the cut.
func TestTruncatedAtBoundary(t *testing.T) {
	const s = testSeg
	size := int64(3*s + 5)
	tests := []struct {
		name string
		op   func(f *File) error
	}{
		{"ReadAt past the cut", func(f *File) error { _, err := f.ReadAt(make([]byte, 10), 3*s); return err }},
		{"ReadAt far past the cut", func(f *File) error { _, err := f.ReadAt(make([]byte, 10), 100*s); return err }},
		{"Read to the end", func(f *File) error { _, err := io.ReadAll(f); return err }},
		{"Read after seeking to the end", func(f *File) error {
			if _, err := f.Seek(0, io.SeekEnd); err != nil {
				return err
			}
			_, err := f.Read(make([]byte, 1))
			return err
		}},
		{"WriteAt at the cut", func(f *File) error { _, err := f.WriteAt([]byte("x"), 3*s); return err }},
		{"WriteAt covering the last segment", func(f *File) error { _, err := f.WriteAt(make([]byte, s), 2*s); return err }},
		{"Truncate up", func(f *File) error { return f.Truncate(4 * s) }},
		{"Truncate down", func(f *File) error { return f.Truncate(s) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			writeFile(t, v, "a", pattern(int(size), 1))
			truncateDisk(t, v, "a", segmentOffset(3, s))
			// The writing volume remembers the segment count.
			_, err := v.Open("a", os.O_RDWR)
			if te := tamperErr(t, err); te.Segment != HeaderSegment || !strings.Contains(te.Reason, "rolled back") {
				t.Errorf("writing volume: TamperError %+v, want header rolled back", te)
			}
			// A new process relies on the final flag.
			v = openVolume(t, v.Dir(), testKey(1))
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if te := tamperErr(t, tc.op(f)); te.Segment != 2 {
				t.Errorf("TamperError %+v, want segment 2 (not final)", te)
			}
		})
	}
	// Control: an intact file reads EOF past its end.
	v := newVolume(t)
	writeFile(t, v, "a", pattern(int(size), 1))
	f, err := v.Open("a", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(make([]byte, 10), 3*s+5); !errors.Is(err, io.EOF) {
		t.Errorf("intact file past the end: %v, want io.EOF", err)
	}
}

// TestSpecialFiles: a FIFO or device planted by the host is refused
// without blocking and without reading it.
func TestSpecialFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(p string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"char device", func(p string) error {
			if os.Geteuid() != 0 {
				return errors.New("needs root")
			}
			return syscall.Mknod(p, syscall.S_IFCHR|0o600, 1<<8|3) // /dev/null
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			if err := tc.make(diskPath(v, "x")); err != nil {
				t.Skipf("cannot create a %s here: %v", tc.name, err)
			}
			for _, flag := range []int{os.O_RDONLY, os.O_RDWR, os.O_RDWR | os.O_CREATE} {
				if _, err := v.Open("x", flag); !errors.Is(err, ErrNotSealfs) {
					t.Errorf("Open(%#x): %v, want ErrNotSealfs", flag, err)
				}
			}
			if err := v.withFile("x", os.O_RDONLY, func(*os.File) error { return nil }); !errors.Is(err, ErrNotSealfs) {
				t.Errorf("withFile: %v, want ErrNotSealfs", err)
			}
			if _, err := v.RootHash(); !errors.Is(err, ErrNotSealfs) {
				t.Errorf("RootHash: %v, want ErrNotSealfs", err)
			}
		})
	}
}

func TestPlainSizeLimit(t *testing.T) {
	const s = testSeg
	if got, err := plainSize("a", cipherSize(MaxFileSize, s), s); err != nil || got != MaxFileSize {
		t.Errorf("plainSize(MaxFileSize) = %d, %v", got, err)
	}
	_, err := plainSize("a", cipherSize(MaxFileSize+s, s), s)
	if te := tamperErr(t, err); !strings.Contains(te.Reason, "MaxFileSize") {
		t.Errorf("TamperError %+v, want MaxFileSize", te)
	}
}

// TestWriteFailsAfterBatch: a read-modify-write that fails after earlier
// batches reached the disk marks the file broken.
func TestWriteFailsAfterBatch(t *testing.T) {
	const s = testSeg
	perBatch := int64(ioBatchBytes / s)
	v := newVolume(t)
	writeFile(t, v, "a", pattern(int(2*perBatch*s), 1))
	bad := perBatch + 10 // partly covered last segment, in the second batch
	b := mustReadDisk(t, v, "a")
	b[segmentOffset(bad, s)+nonceSize+3] ^= 1
	writeDisk(t, v, "a", b)
	f, err := v.Open("a", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, bad*s+10), 0); !errors.Is(err, ErrTampered) {
		t.Fatalf("WriteAt: %v, want ErrTampered", err)
	}
	_, err = f.ReadAt(make([]byte, 10), 0)
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "must be reopened") {
		t.Errorf("ReadAt after the failed write: %v, want the broken-file error", err)
	}

	// Control: the same failure in the first batch (nothing written yet)
	// leaves the file usable.
	g, err := v.Open("b", os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.WriteAt(pattern(3*s, 1), 0); err != nil {
		t.Fatal(err)
	}
	b = mustReadDisk(t, v, "b")
	b[segmentOffset(1, s)+nonceSize] ^= 1
	writeDisk(t, v, "b", b)
	if _, err := g.WriteAt(make([]byte, s+10), 0); !errors.Is(err, ErrTampered) {
		t.Fatalf("WriteAt: %v, want ErrTampered", err)
	}
	if _, err := g.ReadAt(make([]byte, 10), 0); err != nil {
		t.Errorf("ReadAt of an intact segment after a failed first batch: %v", err)
	}
}
