package secrets

import (
	"bytes"
	"testing"
)

// FuzzUnmarshalValue checks that UnmarshalValue never panics and that
// what it accepts re-marshals to a fixed point: Marshal, UnmarshalValue,
// Marshal gives the same bytes. (The input itself need not be canonical:
// encoding/json's base64 tolerates line breaks.)
func FuzzUnmarshalValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalValue(data)
		if err != nil {
			return
		}
		m1, err := v.Marshal()
		if err != nil {
			t.Fatalf("accepted value does not marshal: %v", err)
		}
		v2, err := UnmarshalValue(m1)
		if err != nil {
			t.Fatalf("marshaled value does not unmarshal: %v", err)
		}
		m2, err := v2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m1, m2) {
			t.Fatal("Marshal is not a fixed point")
		}
		// Every part either works or fails cleanly.
		for _, p := range []string{"", PartRaw, PartHex, PartBase64, PartCertPEM, PartCertDER, PartChainPEM, PartKeyPEM, PartKeyDER, PartPublicPEM} {
			_, _ = v.Part(p)
		}
	})
}
