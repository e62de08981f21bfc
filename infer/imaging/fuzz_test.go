package imaging

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. Seeds (testdata/fuzz/FuzzDecode)
// cover each format: a small PNG, a JPEG, synthetic DICOM in each native
// transfer syntax, one with a sequence, and a compressed-syntax header.
//
// Properties: no panic; the input is not modified; every error is one of the four sentinel classes; a
// success is a Side×Side tensor of finite values in [0,1].
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		im, err := Decode(data)
		if !bytes.Equal(orig, data) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, ErrMalformed) &&
				!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error outside the sentinel classes: %v", err)
			}
			if im != nil {
				t.Fatal("image returned with an error")
			}
			return
		}
		if len(im.Pixels) != Side*Side {
			t.Fatalf("tensor has %d values", len(im.Pixels))
		}
		for _, v := range im.Pixels {
			if math.IsNaN(float64(v)) || v < 0 || v > 1 {
				t.Fatalf("value %v outside [0,1]", v)
			}
		}
		if im.Meta.Format != Sniff(data) {
			t.Fatalf("format %v, sniffed %v", im.Meta.Format, Sniff(data))
		}
	})
}
