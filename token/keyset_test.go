package token

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyRotation(t *testing.T) {
	ks := mustKeySet(t, ES256)
	oldKid, _ := ks.Current()
	tokOld := mustIssue(t, ks, testClaims())

	rotatedAt := t0.Add(time.Minute)
	overlap := 10 * time.Minute
	if err := ks.Rotate(EdDSA, rotatedAt, overlap); err != nil {
		t.Fatal(err)
	}
	newKid, alg := ks.Current()
	if newKid == oldKid || alg != EdDSA {
		t.Fatalf("after rotation current is %s %v", newKid, alg)
	}
	c := testClaims()
	c.IssuedAt, c.Expiry = rotatedAt, rotatedAt.Add(5*time.Minute)
	tokNew := mustIssue(t, ks, c)
	if u, _ := ParseUnverified(tokNew); u.KeyID != newKid || u.Algorithm != "EdDSA" {
		t.Errorf("new token header kid %s alg %s", u.KeyID, u.Algorithm)
	}

	verifyAt := t0.Add(2 * time.Minute) // both tokens are within exp
	tests := []struct {
		name     string
		jwksAt   time.Time
		tok      string
		wantKids int
		want     error
	}{
		{"old token during overlap", rotatedAt.Add(overlap - time.Second), tokOld, 2, nil},
		{"new token during overlap", rotatedAt.Add(overlap - time.Second), tokNew, 2, nil},
		{"old token after retirement", rotatedAt.Add(overlap), tokOld, 1, ErrUnknownKey},
		{"new token after retirement", rotatedAt.Add(overlap), tokNew, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ks.JWKS(tt.jwksAt)
			if err != nil {
				t.Fatal(err)
			}
			var set struct{ Keys []map[string]any }
			if err := json.Unmarshal(b, &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != tt.wantKids {
				t.Errorf("JWKS has %d keys, want %d", len(set.Keys), tt.wantKids)
			}
			if set.Keys[0]["kid"] != newKid {
				t.Errorf("first key %v, want the current one", set.Keys[0]["kid"])
			}
			_, err = Verify(context.Background(), tt.tok, Options{JWKS: mustStatic(t, ks, tt.jwksAt), Now: verifyAt})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}

	// A later rotation forgets keys whose retirement has passed, and an
	// overlap of zero drops the previous key at once.
	if err := ks.Rotate(ES384, rotatedAt.Add(overlap), 0); err != nil {
		t.Fatal(err)
	}
	b, _ := ks.JWKS(rotatedAt.Add(overlap))
	if n := strings.Count(string(b), `"kid"`); n != 1 {
		t.Errorf("after an emergency rotation the JWKS has %d keys: %s", n, b)
	}
	if err := ks.Rotate(ES256, t0, -time.Second); err == nil {
		t.Error("negative overlap accepted")
	}
}

func TestKeySetJWKSMembers(t *testing.T) {
	for _, alg := range []Algorithm{ES256, ES384, EdDSA} {
		ks := mustKeySet(t, alg)
		b, err := ks.JWKS(t0)
		if err != nil {
			t.Fatal(err)
		}
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(b, &set); err != nil {
			t.Fatal(err)
		}
		k := set.Keys[0]
		kid, _ := ks.Current()
		if k["kid"] != kid || k["alg"] != alg.String() || k["use"] != "sig" {
			t.Errorf("%v: key %v", alg, k)
		}
		if _, ok := k["d"]; ok {
			t.Errorf("%v: the JWKS publishes the private key", alg)
		}
	}
}

func TestKeySetMarshal(t *testing.T) {
	ks := mustKeySet(t, ES256)
	if err := ks.Rotate(EdDSA, t0.Add(time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	b, err := ks.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	k1, a1 := ks.Current()
	k2, a2 := back.Current()
	if k1 != k2 || a1 != a2 {
		t.Errorf("current %s %v after reload, want %s %v", k2, a2, k1, a1)
	}
	j1, _ := ks.JWKS(t0.Add(2 * time.Minute))
	j2, _ := back.JWKS(t0.Add(2 * time.Minute))
	if string(j1) != string(j2) {
		t.Errorf("JWKS differs after reload:\n%s\n%s", j1, j2)
	}
	// The reloaded set signs tokens the original JWKS verifies.
	c := testClaims()
	if _, err := Verify(context.Background(), mustIssue(t, back, c), Options{JWKS: mustStatic(t, ks, t0), Now: t0}); err != nil {
		t.Error(err)
	}

	edit := func(f func(*keySetFile)) []byte {
		var kf keySetFile
		if err := json.Unmarshal(b, &kf); err != nil {
			t.Fatal(err)
		}
		f(&kf)
		out, _ := json.Marshal(kf)
		return out
	}
	for name, in := range map[string][]byte{
		"empty":           nil,
		"unknown field":   []byte(strings.Replace(string(b), `"version"`, `"extra":1,"version"`, 1)),
		"version":         edit(func(f *keySetFile) { f.Version = 2 }),
		"no keys":         edit(func(f *keySetFile) { f.Keys = nil }),
		"kid not thumb":   edit(func(f *keySetFile) { f.Keys[0].Kid = "k1" }),
		"alg not key's":   edit(func(f *keySetFile) { f.Keys[0].Alg = ES384 }),
		"current retires": edit(func(f *keySetFile) { f.Keys[0].Retires = t0 }),
		"old not retired": edit(func(f *keySetFile) { f.Keys[1].Retires = time.Time{} }),
		"duplicate":       edit(func(f *keySetFile) { f.Keys[1] = f.Keys[0]; f.Keys[1].Retires = t0 }),
		"bad key":         edit(func(f *keySetFile) { f.Keys[0].PKCS8 = []byte{1, 2, 3} }),
	} {
		if _, err := UnmarshalKeySet(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStaticJWKS(t *testing.T) {
	ks := mustKeySet(t, ES256)
	good, _ := ks.JWKS(t0)
	kid, _ := ks.Current()
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(good, &set); err != nil {
		t.Fatal(err)
	}
	key := set.Keys[0]
	with := func(edit func(map[string]any)) []byte {
		k := map[string]any{}
		for n, v := range key {
			k[n] = v
		}
		edit(k)
		b, _ := json.Marshal(map[string]any{"keys": []any{k}})
		return b
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
		usable  bool
	}{
		{"good", good, false, true},
		{"private key", with(func(k map[string]any) { k["d"] = "AAAA" }), true, false},
		{"not JSON", []byte("{"), true, false},
		{"no keys", []byte(`{}`), true, false},
		{"duplicate member", []byte(strings.Replace(string(good), `{"keys"`, `{"keys":[],"keys"`, 1)), true, false},
		{"too large", []byte(`{"keys":[],"pad":"` + strings.Repeat("x", maxJWKSSize) + `"}`), true, false},
		{"duplicate kid", []byte(`{"keys":[` + mustJSON(t, key) + `,` + mustJSON(t, key) + `]}`), true, false},
		{"invalid point", with(func(k map[string]any) { k["x"] = b64.EncodeToString(make([]byte, 32)) }), true, false},
		{"RSA skipped", []byte(`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}`), false, false},
		{"encryption key skipped", with(func(k map[string]any) { k["use"] = "enc" }), false, false},
		{"key_ops without verify skipped", with(func(k map[string]any) { k["key_ops"] = []string{"sign"} }), false, false},
		{"other alg skipped", with(func(k map[string]any) { k["alg"] = "ES384" }), false, false},
		{"no kid skipped", with(func(k map[string]any) { delete(k, "kid") }), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := StaticJWKS(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			_, err = j.lookup(context.Background(), kid)
			if tt.usable != (err == nil) {
				t.Errorf("lookup: %v, want usable %v", err, tt.usable)
			}
			if err != nil && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("lookup error %v, want ErrUnknownKey", err)
			}
		})
	}
}
