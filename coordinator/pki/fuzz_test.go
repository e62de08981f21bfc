package pki

import (
	"bytes"
	"testing"
)

// FuzzParseSPIFFEID checks that ParseSPIFFEID never panics and that what
// it accepts has one spelling: String returns the input, and the parts
// validate.
func FuzzParseSPIFFEID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSPIFFEID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("String() = %q, input %q", id.String(), s)
		}
		if id.URL().String() != s {
			t.Fatalf("URL() = %q, input %q", id.URL(), s)
		}
		if err := id.validate(); err != nil {
			t.Fatalf("parsed ID does not validate: %v", err)
		}
	})
}

// FuzzParseCA checks that ParseCA never panics and accepts only Marshal's
// canonical output.
func FuzzParseCA(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ca, err := ParseCA(data)
		if err != nil {
			return
		}
		again, err := ca.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("Marshal(ParseCA(x)) != x")
		}
	})
}
