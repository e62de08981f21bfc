package sealfs

import (
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

const benchFileSize = 64 << 20

func benchVolume(b *testing.B) *Volume {
	v, err := OpenVolume(b.TempDir(), testKey(1), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

// BenchmarkSequentialWrite writes a 64 MiB file in 1 MiB writes.
func BenchmarkSequentialWrite(b *testing.B) {
	v := benchVolume(b)
	buf := pattern(1<<20, 1)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		f, err := v.Create("f")
		if err != nil {
			b.Fatal(err)
		}
		for range benchFileSize / len(buf) {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// BenchmarkSequentialRead reads a 64 MiB file in 1 MiB reads.
func BenchmarkSequentialRead(b *testing.B) {
	v := benchVolume(b)
	writeFile(b, v, "f", pattern(benchFileSize, 1))
	buf := make([]byte, 1<<20)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		f, err := v.Open("f", os.O_RDONLY)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{f}, buf); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkRandom does 4 KiB reads (ReadAt) and writes (WriteAt) at random
// offsets of a 64 MiB file.
func BenchmarkRandom(b *testing.B) {
	for _, mode := range []string{"read", "write"} {
		b.Run(mode, func(b *testing.B) {
			v := benchVolume(b)
			writeFile(b, v, "f", pattern(benchFileSize, 1))
			f, err := v.Open("f", os.O_RDWR)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				off := rng.Int64N(benchFileSize - int64(len(buf)))
				if mode == "read" {
					_, err = f.ReadAt(buf, off)
				} else {
					_, err = f.WriteAt(buf, off)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
