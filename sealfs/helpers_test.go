package sealfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const testSeg = 4096

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newVolume(t testing.TB) *Volume {
	t.Helper()
	return openVolume(t, t.TempDir(), testKey(1))
}

func openVolume(t testing.TB, dir string, key []byte) *Volume {
	t.Helper()
	v, err := OpenVolume(dir, key, Options{SegmentSize: testSeg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// pattern returns n deterministic, position-dependent bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

func writeFile(t testing.TB, v *Volume, name string, data []byte) {
	t.Helper()
	f, err := v.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFile opens and reads a whole file, returning the first error.
func readFile(v *Volume, name string) ([]byte, error) {
	f, err := v.Open(name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func mustRead(t testing.TB, v *Volume, name string) []byte {
	t.Helper()
	b, err := readFile(v, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func diskPath(v *Volume, name string) string { return filepath.Join(v.Dir(), filepath.FromSlash(name)) }

func tamperErr(t *testing.T, err error) *TamperError {
	t.Helper()
	var te *TamperError
	if !errors.As(err, &te) || !errors.Is(err, ErrTampered) {
		t.Fatalf("error = %v, want a *TamperError wrapping ErrTampered", err)
	}
	return te
}
