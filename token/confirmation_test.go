package token

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// publicJWK renders pub as a JWK object whose members tests can edit.
func publicJWK(t *testing.T, pub any) map[string]any {
	t.Helper()
	k, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfirmationKeyTypes(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name string
		pub  any
		ok   bool
	}{
		{"ecdsa p-256", &p256.PublicKey, true},
		{"ecdsa p-384", &p384.PublicKey, true},
		{"ecdsa p-521", &p521.PublicKey, false},
		{"ed25519", edPub, true},
		{"x25519", x25519.PublicKey(), true},
		{"rsa-2048", &rsa2048.PublicKey, true},
		{"rsa-1024", &rsa1024.PublicKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfirmationForKey(tc.pub)
			if !tc.ok {
				if !errors.Is(err, ErrConfirmationKey) {
					t.Fatalf("ConfirmationForKey: %v, want ErrConfirmationKey", err)
				}
				// The same key arriving as a JWK is refused too.
				b, _ := json.Marshal(publicJWK(t, tc.pub))
				if _, err := ParseConfirmationJWK(b); !errors.Is(err, ErrConfirmationKey) {
					t.Fatalf("ParseConfirmationJWK: %v, want ErrConfirmationKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if _, err := c.PublicKey(); err != nil {
				t.Fatalf("PublicKey: %v", err)
			}
		})
	}
}

// TestConfirmationJWKMembers: a cnf jwk carries public members only. A
// private parameter under any spelling, or any unknown member, is refused
// rather than published in the token.
func TestConfirmationJWKMembers(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecJWK := publicJWK(t, &ec.PublicKey)
	rsaJWK := publicJWK(t, &rk.PublicKey)
	with := func(base map[string]any, k string, v any) []byte {
		m := maps.Clone(base)
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	for name, b := range map[string][]byte{
		"ec d":            with(ecJWK, "d", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"),
		"ec D":            with(ecJWK, "D", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"),
		"ec d null":       with(ecJWK, "d", nil),
		"ec d empty":      with(ecJWK, "d", ""),
		"ec secret":       with(ecJWK, "secret", "hunter2"),
		"ec x5c":          with(ecJWK, "x5c", []string{"AAAA"}),
		"rsa p without d": with(rsaJWK, "p", "2rnSOV4hKSN8sS4CgcQHFbs08XboFDqKum3sc4h3GRxrTmQdl1ZK9uw"),
		"rsa qi":          with(rsaJWK, "qi", "AQAB"),
		"oct":             []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0"}`),
		"duplicate kty":   []byte(`{"kty":"oct","k":"c2VjcmV0","kty":"EC","crv":"P-256","x":"` + ecJWK["x"].(string) + `","y":"` + ecJWK["y"].(string) + `"}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfirmationJWK(b)
			if err == nil {
				t.Fatal("accepted")
			}
			if name != "duplicate kty" && !errors.Is(err, ErrConfirmationKey) {
				t.Fatalf("%v, want ErrConfirmationKey", err)
			}
			if err := (&Confirmation{JWK: b}).validate(); err == nil {
				t.Fatal("validate accepted")
			}
		})
	}
	// Metadata members are allowed on input; the rebuilt JWK holds the key
	// alone.
	c, err := ParseConfirmationJWK(with(with2(ecJWK, "kid", "k1"), "use", "enc"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(c.JWK, &got); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"crv", "kty", "x", "y"}) {
		t.Errorf("rebuilt JWK members %v", keys)
	}
}

func with2(base map[string]any, k string, v any) map[string]any {
	m := maps.Clone(base)
	m[k] = v
	return m
}

func TestRotateIf(t *testing.T) {
	ks := mustKeySet(t, ES256)
	before, _ := ks.Current()
	refused := errors.New("audit log down")
	if err := ks.RotateIf(ES256, t0, time.Hour, func(string) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("RotateIf: %v, want the approve error", err)
	}
	if kid, _ := ks.Current(); kid != before {
		t.Fatalf("key rotated although approve refused")
	}
	var approved string
	if err := ks.RotateIf(ES256, t0, time.Hour, func(kid string) error { approved = kid; return nil }); err != nil {
		t.Fatal(err)
	}
	if kid, _ := ks.Current(); kid != approved || kid == before {
		t.Fatalf("current %s, approved %s, before %s", kid, approved, before)
	}
}
