package token

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testRuntime is what an inference service reports: its models by name and
// SHA-256.
func testRuntime() map[string]string {
	return map[string]string{
		"model/chest-xray-cnn": "3b1f0c6a0d4e2f8f0b7f5bd8c3a8f8f1e0f6a3a9b5c2d1e4f7a8b9c0d1e2f3a4",
		"model/mnist-7":        "sha256:" + strings.Repeat("ab", 32),
	}
}

func TestRuntimeRoundTrip(t *testing.T) {
	ks := mustKeySet(t, ES256)
	hpkeKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	in := testClaims()
	in.Runtime = testRuntime()
	in.Confirmation = mustConfirmation(t, hpkeKey.PublicKey())
	tok := mustIssue(t, ks, in)

	if got := payloadMap(t, in)["cofre.runtime"]; !reflect.DeepEqual(got, map[string]any{
		"model/chest-xray-cnn": in.Runtime["model/chest-xray-cnn"], "model/mnist-7": in.Runtime["model/mnist-7"],
	}) {
		t.Errorf("cofre.runtime on the wire = %#v", got)
	}
	got, err := Verify(context.Background(), tok, Options{JWKS: mustStatic(t, ks, t0), Issuer: testIssuer, Now: t0.Add(time.Minute), ConfirmationKey: hpkeKey.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("claims differ after the round trip:\n got %+v\nwant %+v", got, in)
	}

	// No runtime claims: no claim on the wire, nil after parsing.
	for _, empty := range []map[string]string{nil, {}} {
		c := testClaims()
		c.Runtime = empty
		if _, ok := payloadMap(t, c)["cofre.runtime"]; ok {
			t.Errorf("runtime %#v: the claim is present", empty)
		}
		got, err := Verify(context.Background(), mustIssue(t, ks, c), Options{JWKS: mustStatic(t, ks, t0), Now: t0.Add(time.Minute)})
		if err != nil || got.Runtime != nil {
			t.Errorf("runtime %#v: %v, runtime %#v", empty, err, got)
		}
	}
}

func TestCheckRuntime(t *testing.T) {
	many := func(n int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("model-%02d", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name string
		m    map[string]string
		ok   bool
	}{
		{"nil", nil, true},
		{"empty", map[string]string{}, true},
		{"models", testRuntime(), true},
		{"32 entries", many(32), true},
		{"longest name and value", map[string]string{strings.Repeat("n", 64): strings.Repeat("v", 256)}, true},
		{"empty value", map[string]string{"a": ""}, true},
		{"value with spaces", map[string]string{"version": "onnxruntime 1.24.3"}, true},
		{"33 entries", many(33), false},
		{"empty name", map[string]string{"": "v"}, false},
		{"name of 65 bytes", map[string]string{strings.Repeat("n", 65): "v"}, false},
		{"name with a space", map[string]string{"chest xray": "v"}, false},
		{"name with a newline", map[string]string{"a\nforged log line": "v"}, false},
		{"name with a homoglyph", map[string]string{"mоdel": "v"}, false}, // Cyrillic о
		{"name with a bidi override", map[string]string{"model\u202e": "v"}, false},
		{"value of 257 bytes", map[string]string{"a": strings.Repeat("v", 257)}, false},
		{"value with a NUL", map[string]string{"a": "v\x00"}, false},
		{"value with a tab", map[string]string{"a": "v\tw"}, false},
		{"value not ASCII", map[string]string{"a": "é"}, false},
		{"value not UTF-8", map[string]string{"a": "\xff"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRuntime(tt.m)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrRuntime) {
				t.Fatalf("error %v, want ErrRuntime", err)
			}
			// Issue refuses the same claims.
			c := testClaims()
			c.Runtime = tt.m
			if _, err := NewIssuer(mustKeySet(t, ES256)).Issue(c); !errors.Is(err, ErrRuntime) {
				t.Fatalf("Issue: %v, want ErrRuntime", err)
			}
		})
	}
}

// TestRuntimeRefusedOnVerify signs payloads Issue would refuse: Verify
// refuses them as malformed, naming the claim.
func TestRuntimeRefusedOnVerify(t *testing.T) {
	ks := mustKeySet(t, ES256)
	opts := Options{JWKS: mustStatic(t, ks, t0), Now: t0.Add(time.Minute)}
	payload := mustJSON(t, payloadMap(t, testClaims()))
	withRuntime := func(raw string) string {
		return signRaw(t, ks, testHeader(ks, nil), strings.Replace(payload, `{`, `{"cofre.runtime":`+raw+`,`, 1))
	}
	entries := make([]string, 33)
	for i := range entries {
		entries[i] = fmt.Sprintf(`"m%02d":"v"`, i)
	}
	tests := []struct {
		name    string
		raw     string
		runtime bool // the refusal also wraps ErrRuntime
	}{
		{"not an object", `["model","hash"]`, false},
		{"a string", `"model=hash"`, false},
		{"null", `null`, false},
		{"empty object", `{}`, false},
		{"value a number", `{"model":1}`, false},
		{"value an object", `{"model":{"sha256":"ab"}}`, false},
		{"value null", `{"model":null}`, false},
		{"duplicate name", `{"model":"aa","model":"bb"}`, false},
		{"names differing in case", `{"model":"aa","MODEL":"bb"}`, false},
		{"33 entries", "{" + strings.Join(entries, ",") + "}", true},
		{"name with a control character", `{"mo\u0007del":"v"}`, true},
		{"name too long", `{"` + strings.Repeat("n", 65) + `":"v"}`, true},
		{"value too long", `{"model":"` + strings.Repeat("v", 257) + `"}`, true},
		{"value not ASCII", `{"model":"\u00e9"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Verify(context.Background(), withRuntime(tt.raw), opts)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify: %v (claims %+v), want ErrMalformed", err, c)
			}
			if tt.runtime && !errors.Is(err, ErrRuntime) {
				t.Errorf("error %v: want ErrRuntime too", err)
			}
			rs := Refusals(err)
			if len(rs) == 0 || !strings.HasPrefix(rs[0].Check, "cofre.runtime") && rs[0].Check != "payload" {
				t.Errorf("refusals %v: want one naming cofre.runtime", rs)
			}
		})
	}
}

func TestSubmodsRoundTrip(t *testing.T) {
	for name, c := range map[string]*Claims{"snp": testClaims(), "sim": testSimClaims(), "gpu": withGPU(testClaims())} {
		t.Run(name, func(t *testing.T) {
			b, err := MarshalSubmods(c.Submods)
			if err != nil {
				t.Fatal(err)
			}
			// The same JSON as the token's submods claim.
			var subs any
			if err := json.Unmarshal(b, &subs); err != nil {
				t.Fatal(err)
			}
			if want := payloadMap(t, c)["submods"]; !reflect.DeepEqual(subs, want) {
				t.Errorf("MarshalSubmods\n%s\ndiffers from the token's claim\n%v", b, want)
			}
			got, err := ParseSubmods(b)
			if err != nil {
				t.Fatal(err)
			}
			again, err := MarshalSubmods(got)
			if err != nil || string(again) != string(b) {
				t.Errorf("parse-marshal not stable: %v\n%s\n%s", err, b, again)
			}
		})
	}
}

func TestSubmodsRefused(t *testing.T) {
	t.Run("marshal", func(t *testing.T) {
		for name, subs := range map[string]map[string]Submod{
			"none":      nil,
			"no cpu0":   {"gpu0": testClaims().Submods[PrimarySubmod]},
			"no claims": {PrimarySubmod: {Status: testClaims().Submods[PrimarySubmod].Status}},
			"bad name":  {PrimarySubmod: testClaims().Submods[PrimarySubmod], "GPU 0": testClaims().Submods[PrimarySubmod]},
		} {
			if b, err := MarshalSubmods(subs); err == nil {
				t.Errorf("%s: marshalled %s", name, b)
			}
		}
	})
	good, err := MarshalSubmods(testClaims().Submods)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{
		"empty":          ``,
		"not JSON":       `{"cpu0":`,
		"an array":       `[]`,
		"no submodules":  `{}`,
		"no cpu0":        strings.Replace(string(good), `"cpu0"`, `"gpu0"`, 1),
		"duplicate":      strings.Replace(string(good), `{`, `{"cpu0":{},`, 1),
		"case variant":   strings.Replace(string(good), `{`, `{"CPU0":{},`, 1),
		"trailing data":  string(good) + `{}`,
		"too large":      `{"cpu0":"` + strings.Repeat("x", MaxTokenSize) + `"}`,
		"unknown status": strings.Replace(string(good), `"affirming"`, `"great"`, 1),
	} {
		if s, err := ParseSubmods([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v (%d submods), want ErrMalformed", name, err, len(s))
		}
	}
}

// TestEncryptionKeyClaim: cofre.encryption_key round-trips, and is refused
// on issue without a cnf jwk to encrypt to.
func TestEncryptionKeyClaim(t *testing.T) {
	ks := mustKeySet(t, ES256)
	key, _ := ecdh.X25519().GenerateKey(rand.Reader)
	c := testClaims()
	c.Confirmation = mustConfirmation(t, key.PublicKey())
	c.EncryptionKey = true
	got, err := Verify(context.Background(), mustIssue(t, ks, c), Options{JWKS: mustStatic(t, ks, t0), Now: t0, Nonce: c.Nonce})
	if err != nil || !got.EncryptionKey {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	c.Confirmation = nil
	if _, err := NewIssuer(ks).Issue(c); err == nil {
		t.Fatal("an encryption-key token without cnf was issued")
	}
	c.EncryptionKey = false
	got, err = Verify(context.Background(), mustIssue(t, ks, c), Options{JWKS: mustStatic(t, ks, t0), Now: t0, Nonce: c.Nonce})
	if err != nil || got.EncryptionKey {
		t.Fatalf("a plain token reads as an encryption-key token: %v", err)
	}
}
