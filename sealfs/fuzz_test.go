package sealfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
)

// FuzzParseHeader checks that any bytes either parse into a header that
// marshals back to the same bytes, or fail with a typed error.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader("f", b)
		if err != nil {
			if !errors.Is(err, ErrNotSealfs) && !errors.Is(err, ErrTampered) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if got := h.marshal(); !bytes.Equal(got, b[:HeaderSize]) {
			t.Fatalf("marshal(parse(b)) = %x, want %x", got, b[:HeaderSize])
		}
	})
}

// fuzzPlain is the plaintext of the FuzzReadFile seeds (testSeg+10 bytes,
// two segments).
var fuzzPlain = pattern(testSeg+10, 4)

// FuzzReadFile puts arbitrary bytes on disk as a file and reads it: it must
// fail with a typed error (the fuzzer cannot forge a tag), never panic, and
// never return plaintext.
func FuzzReadFile(f *testing.F) {
	dir := f.TempDir()
	v, err := OpenVolume(dir, testKey(1), Options{SegmentSize: testSeg})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(diskPath(v, "f"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(v, "f")
		// The seeds are genuine files holding fuzzPlain with one change; a
		// mutation may undo the change, but only a prefix of genuine
		// plaintext may ever come out.
		if !bytes.HasPrefix(fuzzPlain, got) {
			t.Fatalf("returned %d bytes that are not the genuine plaintext", len(got))
		}
		if err == nil {
			if !bytes.Equal(got, fuzzPlain) {
				t.Fatalf("read %d bytes from a forged file without error", len(got))
			}
			return
		}
		var pe *fs.PathError
		if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrNotSealfs) && !errors.Is(err, ErrWrongKey) && !errors.As(err, &pe) && err != io.EOF {
			t.Fatalf("untyped error %v", err)
		}
		v.Stat("f")
		v.RootHash()
	})
}
