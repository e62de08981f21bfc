package sealed

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestJWKRoundTrip(t *testing.T) {
	for _, kem := range kems {
		t.Run(kem.String(), func(t *testing.T) {
			priv := mustKey(t, kem)
			b := priv.PublicJWK()
			pub, err := ParsePublicJWK(b)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(priv.PublicKey()) || pub.KEM() != kem || pub.KeyID() != priv.KeyID() || priv.KEM() != kem {
				t.Fatal("parsed JWK is not the key")
			}
			if len(priv.KeyID()) != 43 {
				t.Errorf("key id %q is not 32 bytes base64url", priv.KeyID())
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["kid"] != priv.KeyID() || m["use"] != "enc" {
				t.Errorf("jwk %s lacks kid or use", b)
			}
			if _, ok := m["d"]; ok {
				t.Fatal("public JWK has a private member")
			}
			if other := mustKey(t, kem); other.PublicKey().Equal(pub) || other.KeyID() == pub.KeyID() {
				t.Fatal("two keys compare equal")
			}
		})
	}
}

// TestThumbprintInput checks the RFC 7638 thumbprint input for X25519
// against RFC 8037 §A.6, whose JWK for Bob's public key gives x.
func TestThumbprintInput(t *testing.T) {
	// RFC 8037 §A.6: Bob's X25519 public key.
	pub, err := NewPublicKey(X25519, mustHex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"crv":"X25519","kty":"OKP","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`
	if got := string(pub.thumbprintInput()); got != want {
		t.Fatalf("thumbprint input\n got %s\nwant %s", got, want)
	}
}

func TestParsePublicJWKRefusals(t *testing.T) {
	x := mustKey(t, X25519).PublicKey()
	p := mustKey(t, P256).PublicKey()
	xs := b64.EncodeToString(x.Bytes())
	px, py := b64.EncodeToString(p.Bytes()[1:33]), b64.EncodeToString(p.Bytes()[33:])
	tests := []struct {
		name, jwk string
		want      error
	}{
		{"private member", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","d":"` + xs + `"}`, ErrMalformed},
		{"unknown member", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","ext":true}`, ErrMalformed},
		{"use sig", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","use":"sig"}`, ErrMalformed},
		{"kid not the thumbprint", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","kid":"k1"}`, ErrMalformed},
		{"y on X25519", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","y":"` + xs + `"}`, ErrMalformed},
		{"short x", `{"kty":"OKP","crv":"X25519","x":"AAAA"}`, ErrMalformed},
		{"padded x", `{"kty":"OKP","crv":"X25519","x":"` + xs + `="}`, ErrMalformed},
		{"Ed25519", `{"kty":"OKP","crv":"Ed25519","x":"` + xs + `"}`, ErrSuite},
		{"P-384", `{"kty":"EC","crv":"P-384","x":"` + px + `","y":"` + py + `"}`, ErrSuite},
		{"RSA", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`, ErrMalformed},
		{"missing y", `{"kty":"EC","crv":"P-256","x":"` + px + `"}`, ErrMalformed},
		{"off-curve point", `{"kty":"EC","crv":"P-256","x":"` + px + `","y":"` + px + `"}`, ErrMalformed},
		{"trailing data", `{"kty":"EC","crv":"P-256","x":"` + px + `","y":"` + py + `"} {}`, ErrMalformed},
		{"not JSON", `kty`, ErrMalformed},
		{"too large", `{"kty":"OKP","crv":"X25519","x":"` + xs + `","kid":"` + strings.Repeat("a", maxJWKSize) + `"}`, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePublicJWK([]byte(tt.jwk)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	// The accepted forms, for contrast.
	for _, ok := range []string{
		`{"kty":"OKP","crv":"X25519","x":"` + xs + `"}`,
		`{"kty":"EC","crv":"P-256","x":"` + px + `","y":"` + py + `","alg":"HPKE-0","key_ops":["deriveBits"],"kid":"` + p.KeyID() + `"}`,
	} {
		if _, err := ParsePublicJWK([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestKEMString(t *testing.T) {
	for k, want := range map[KEM]string{X25519: "DHKEM(X25519, HKDF-SHA256)", P256: "DHKEM(P-256, HKDF-SHA256)", 0x11: "KEM(0x0011)"} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", k, k.String(), want)
		}
	}
}
