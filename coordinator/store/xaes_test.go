package store

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestXAESVectors checks the C2SP XAES-256-GCM test vectors
// (c2sp.org/XAES-256-GCM, CC-BY 4.0).
func TestXAESVectors(t *testing.T) {
	tests := []struct {
		key       byte
		nonce     string
		plaintext string
		aad       string
		want      string // ciphertext ‖ tag
	}{
		{0x01, "ABCDEFGHIJKLMNOPQRSTUVWX", "XAES-256-GCM", "", "ce546ef63c9cc60765923609" + "b33a9a1974e96e52daf2fcf7075e2271"},
		{0x03, "ABCDEFGHIJKLMNOPQRSTUVWX", "XAES-256-GCM", "c2sp.org/XAES-256-GCM", "986ec1832593df5443a17943" + "7fd083bf3fdb41abd740a21f71eb769d"},
	}
	for _, tt := range tests {
		x, err := newXAES(bytes.Repeat([]byte{tt.key}, KeySize))
		if err != nil {
			t.Fatal(err)
		}
		out, err := x.seal(nil, []byte(tt.nonce), []byte(tt.plaintext), []byte(tt.aad))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(tt.want)
		if !bytes.Equal(out[xaesNonceSize:], want) {
			t.Errorf("key %#x: ciphertext %x, want %x", tt.key, out[xaesNonceSize:], want)
		}
		pt, err := x.open(out, []byte(tt.aad))
		if err != nil || string(pt) != tt.plaintext {
			t.Errorf("key %#x: open = %q, %v", tt.key, pt, err)
		}
	}
}
