package sealfs

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// TestTamper changes the ciphertext on disk in each way an attacker can and
// checks that reading reports it with the right detail: the format's own
// checks, seen by a process that remembers nothing of the volume. The
// process that wrote the files refuses them too, possibly earlier (its
// memory of the file).
func TestTamper(t *testing.T) {
	const s = testSeg
	stride := int64(s + SegmentOverhead)
	size := 3*s + 5 // segments 0..2 full, 3 final with 5 bytes
	seg := func(i int64) int64 { return segmentOffset(i, s) }
	flip := func(off int64) func(t *testing.T, v *Volume) {
		return func(t *testing.T, v *Volume) {
			b := mustReadDisk(t, v, "a")
			b[off] ^= 0x01
			writeDisk(t, v, "a", b)
		}
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, v *Volume)
		wantErr error // ErrTampered: also check segment and reason
		segment int64
		reason  string
	}{
		{"magic", flip(offMagic), ErrNotSealfs, 0, ""},
		{"version", flip(offVersion), ErrNotSealfs, 0, ""},
		{"segment size", flip(offSegLog), ErrTampered, HeaderSegment, "path binding"},
		{"key ID", flip(offKeyID + 3), ErrWrongKey, 0, ""},
		{"file ID", flip(offFileID + 5), ErrTampered, HeaderSegment, "path binding"},
		{"header nonce", flip(offNonce), ErrTampered, HeaderSegment, "path binding"},
		{"path binding", flip(offBinding + 15), ErrTampered, HeaderSegment, "path binding"},
		{"segment nonce", flip(seg(1)), ErrTampered, 1, "segment authentication"},
		{"ciphertext", flip(seg(2) + nonceSize + 100), ErrTampered, 2, "segment authentication"},
		{"tag", flip(seg(3) + nonceSize + 5 + 15), ErrTampered, 3, "segment authentication"},
		{"swap segments", func(t *testing.T, v *Volume) {
			b := mustReadDisk(t, v, "a")
			s0 := bytes.Clone(b[seg(0):seg(1)])
			copy(b[seg(0):], b[seg(1):seg(2)])
			copy(b[seg(1):], s0)
			writeDisk(t, v, "a", b)
		}, ErrTampered, 0, "segment authentication"},
		{"segment from another file", func(t *testing.T, v *Volume) {
			a, b := mustReadDisk(t, v, "a"), mustReadDisk(t, v, "b")
			copy(a[seg(1):seg(2)], b[seg(1):seg(2)])
			writeDisk(t, v, "a", a)
		}, ErrTampered, 1, "segment authentication"},
		{"truncate at a segment boundary", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", seg(3))
		}, ErrTampered, 2, "segment authentication"},
		{"truncate to the header", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", HeaderSize)
		}, ErrTampered, 0, "no segment"},
		{"truncate inside a segment's overhead", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", seg(3)+20)
		}, ErrTampered, 3, "whole number of segments"},
		{"truncate mid-segment", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", seg(2)+stride/2)
		}, ErrTampered, 2, "segment authentication"},
		{"truncate inside the header", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", 20)
		}, ErrTampered, HeaderSegment, "header truncated"},
		{"append a segment after the final one", func(t *testing.T, v *Volume) {
			b := mustReadDisk(t, v, "a")
			writeDisk(t, v, "a", append(b, b[seg(0):seg(1)]...))
		}, ErrTampered, 3, "segment authentication"},
		{"append an empty segment", func(t *testing.T, v *Volume) {
			truncateDisk(t, v, "a", seg(4))
			b := mustReadDisk(t, v, "a")
			writeDisk(t, v, "a", append(b, make([]byte, SegmentOverhead)...))
		}, ErrTampered, 4, "whole number of segments"},
		{"move to another path", func(t *testing.T, v *Volume) {
			os.Remove(diskPath(v, "c"))
			if err := os.Rename(diskPath(v, "c2"), diskPath(v, "c")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(diskPath(v, "a"), diskPath(v, "c2")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(diskPath(v, "c"), diskPath(v, "a")); err != nil {
				t.Fatal(err)
			}
		}, ErrTampered, HeaderSegment, "path binding"},
		{"swap two files", func(t *testing.T, v *Volume) {
			a, b := mustReadDisk(t, v, "a"), mustReadDisk(t, v, "b")
			writeDisk(t, v, "a", b)
			writeDisk(t, v, "b", a)
		}, ErrTampered, HeaderSegment, "path binding"},
		{"copy another file over it", func(t *testing.T, v *Volume) {
			writeDisk(t, v, "a", mustReadDisk(t, v, "b"))
		}, ErrTampered, HeaderSegment, "path binding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			writeFile(t, v, "a", pattern(size, 1))
			writeFile(t, v, "b", pattern(size, 2))
			writeFile(t, v, "c2", pattern(size, 3))
			tc.tamper(t, v)
			if _, err := readFile(v, "a"); !errors.Is(err, tc.wantErr) {
				t.Errorf("read by the writing volume: %v, want %v", err, tc.wantErr)
			}
			v = openVolume(t, v.Dir(), testKey(1)) // a new process
			got, err := readFile(v, "a")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("read: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == ErrTampered {
				te := tamperErr(t, err)
				if te.Path != "a" || te.Segment != tc.segment || !bytes.Contains([]byte(te.Reason), []byte(tc.reason)) {
					t.Errorf("TamperError = %+v, want path a, segment %d, reason containing %q", te, tc.segment, tc.reason)
				}
			}
			// Whatever was returned before the error is authentic.
			if !bytes.Equal(got, pattern(size, 1)[:len(got)]) {
				t.Error("returned bytes are not the original plaintext")
			}
			r, err := v.Fsck(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || r.Problems[0].Path != "a" || !errors.Is(r.Problems[0].Err, tc.wantErr) {
				t.Errorf("Fsck problems = %v, want a with %v", r.Problems, tc.wantErr)
			}
			if r.RootHash != ([32]byte{}) {
				t.Error("Fsck reported a root hash for a damaged volume")
			}
		})
	}
}

func writeDisk(t *testing.T, v *Volume, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(diskPath(v, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateDisk(t *testing.T, v *Volume, name string, size int64) {
	t.Helper()
	if err := os.Truncate(diskPath(v, name), size); err != nil {
		t.Fatal(err)
	}
}

// TestCrashStates simulates the on-disk states a crash can leave mid-write:
// each reads back as the old content, the new content, or ErrTampered.
func TestCrashStates(t *testing.T) {
	const s = testSeg
	v := newVolume(t)
	writeFile(t, v, "a", pattern(s, 1)) // one full final segment
	before := mustReadDisk(t, v, "a")
	f, err := v.Open("a", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(pattern(10, 9), s); err != nil { // grows to 2 segments
		t.Fatal(err)
	}
	f.Close()
	after := mustReadDisk(t, v, "a")
	tests := []struct {
		name string
		disk []byte
	}{
		// New segment written, old final not yet resealed as non-final.
		{"extension before reseal", append(bytes.Clone(before), after[segmentOffset(1, s):]...)},
		// Only part of the new segment made it.
		{"torn new segment", append(bytes.Clone(before), after[segmentOffset(1, s):len(after)-5]...)},
		// Old final resealed but new segment lost.
		{"reseal without extension", after[:segmentOffset(1, s)]},
		// Half of a rewritten segment.
		{"torn rewrite", append(append(bytes.Clone(after[:HeaderSize+100]), before[HeaderSize+100:]...), after[segmentOffset(1, s):]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeDisk(t, v, "a", tc.disk)
			got, err := readFile(v, "a")
			old, new := pattern(s, 1), append(pattern(s, 1), pattern(10, 9)...)
			if err == nil && !bytes.Equal(got, old) && !bytes.Equal(got, new) {
				t.Fatal("read returned neither old nor new content")
			}
			if err != nil {
				tamperErr(t, err)
			}
		})
	}
}
