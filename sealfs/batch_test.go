package sealfs

import (
	"bytes"
	"os"
	"testing"
)

// TestBatchWrites checks multi-segment writes against a plain byte-slice
// model: aligned and unaligned, inside the file, across its end and beyond
// it. Writes seal into pooled buffers that are not zeroed, so the
// zero-filled gaps and the unwritten parts of partial segments must come
// out as zeros and old content, never as a previous call's bytes; each
// case runs after the others have left their data in the pool.
func TestBatchWrites(t *testing.T) {
	const s = testSeg
	tests := []struct {
		name string
		off  int64
		n    int
	}{
		{"aligned overwrite", 4 * s, 20 * s},
		{"unaligned overwrite", 3*s + 17, 25*s + 5},
		{"across the end", 30*s + 9, 30 * s},
		{"beyond the end", 50*s + 3, 20*s + 1},
		{"two batches", 1, 300 * s},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			model := pattern(40*s+100, 1)
			writeFile(t, v, "a", model)
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			p := pattern(tc.n, 2)
			if _, err := f.WriteAt(p, tc.off); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if end := int(tc.off) + tc.n; end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			copy(model[tc.off:], p)
			// A fresh volume: every segment is authenticated from disk.
			got := mustRead(t, openVolume(t, v.Dir(), testKey(1)), "a")
			if !bytes.Equal(got, model) {
				t.Errorf("content differs from the model (len %d, want %d)", len(got), len(model))
			}
		})
	}
}
