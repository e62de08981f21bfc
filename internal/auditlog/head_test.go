package auditlog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignedHead: a head signed by either key type survives a JSON round
// trip and verifies; any change to what it signs, or an unknown key, is
// refused with the specific error.
func TestSignedHead(t *testing.T) {
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, sg := range signers[1:] {
		t.Run(sg.name, func(t *testing.T) {
			_, head := buildLog(t, sg.signer, 3)
			sh, err := SignHead(sg.signer, head, t0.In(time.FixedZone("CET", 3600)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(sh)
			if err != nil {
				t.Fatal(err)
			}
			var back SignedHead
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			keys := keysOf(sg.signer)
			if err := back.Verify(keys); err != nil || back.Head != head || !back.Time.Equal(t0) {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
			tests := []struct {
				name string
				edit func(*SignedHead)
				keys []crypto.PublicKey
				want error
			}{
				{"seq changed", func(s *SignedHead) { s.Head.Seq-- }, keys, ErrSignature},
				{"hash changed", func(s *SignedHead) { s.Head.Hash[0] ^= 1 }, keys, ErrSignature},
				{"time changed", func(s *SignedHead) { s.Time = s.Time.Add(time.Nanosecond) }, keys, ErrSignature},
				{"signature changed", func(s *SignedHead) { s.Signature[len(s.Signature)-1] ^= 1 }, keys, ErrSignature},
				{"signature truncated", func(s *SignedHead) { s.Signature = s.Signature[:10] }, keys, ErrSignature},
				{"unknown key", func(*SignedHead) {}, []crypto.PublicKey{other.Public()}, ErrUnknownKey},
				{"no keys", func(*SignedHead) {}, nil, ErrUnknownKey},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := back
					c.Signature = append([]byte(nil), back.Signature...)
					tt.edit(&c)
					if err := c.Verify(tt.keys); !errors.Is(err, tt.want) {
						t.Fatalf("got %v, want %v", err, tt.want)
					}
				})
			}
		})
	}
}

func TestSignedHeadJSONStrict(t *testing.T) {
	zeros := strings.Repeat("0", 64)
	tests := []struct{ name, doc string }{
		{"unknown member", `{"seq":1,"hash":"` + zeros + `","time":"2026-11-23T12:00:00Z","kid":"k","sig":"AAAA","extra":1}`},
		{"hash short", `{"seq":1,"hash":"00","time":"2026-11-23T12:00:00Z","kid":"k","sig":"AAAA"}`},
		{"hash uppercase", `{"seq":1,"hash":"` + strings.Repeat("A", 64) + `","time":"2026-11-23T12:00:00Z","kid":"k","sig":"AAAA"}`},
		{"sig padded", `{"seq":1,"hash":"` + zeros + `","time":"2026-11-23T12:00:00Z","kid":"k","sig":"AA=="}`},
		{"sig empty", `{"seq":1,"hash":"` + zeros + `","time":"2026-11-23T12:00:00Z","kid":"k","sig":""}`},
		{"trailing", `{"seq":1,"hash":"` + zeros + `","time":"2026-11-23T12:00:00Z","kid":"k","sig":"AAAA"} {}`},
		{"null", `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sh SignedHead
			if err := sh.UnmarshalJSON([]byte(tt.doc)); err == nil {
				t.Fatalf("accepted: %+v", sh)
			}
		})
	}
	var h Head
	if err := json.Unmarshal([]byte(`{"seq":2,"hash":"`+zeros+`"}`), &h); err != nil || h.Seq != 2 {
		t.Fatalf("%v %v", h, err)
	}
	if err := json.Unmarshal([]byte(`{"seq":2,"hash":"`+zeros+`","x":1}`), &h); err == nil {
		t.Fatal("Head with an unknown member accepted")
	}
	if b, _ := json.Marshal(h); string(b) != `{"seq":2,"hash":"`+zeros+`"}` {
		t.Fatalf("Head JSON %s", b)
	}
}
