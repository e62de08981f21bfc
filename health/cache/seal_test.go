package cache

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

func testAEAD(t testing.TB, b byte) cipher.AEAD {
	t.Helper()
	k := bytes.Repeat([]byte{b}, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

var (
	fixedNow   = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	fixedNonce = bytes.Repeat([]byte{0x5a}, nonceSize)
)

const fixedName = "cofre:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// Every byte of a sealed value is covered: flipping any one of them, or
// changing its length, key name, sealing key or version, is ErrTampered.
func TestUnseal(t *testing.T) {
	aead := testAEAD(t, 1)
	value := []byte(`{"resourceType":"Patient"}`)
	good := seal(aead, fixedName, value, fixedNow.Add(time.Minute), fixedNonce)
	if len(good) != sealOverhead+len(value) {
		t.Fatalf("sealed length %d, want %d", len(good), sealOverhead+len(value))
	}
	got, err := unseal(aead, fixedName, good, fixedNow)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("unseal = %q, %v", got, err)
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		if _, err := unseal(aead, fixedName, b, fixedNow); !errors.Is(err, ErrTampered) {
			t.Fatalf("byte %d flipped: got %v, want ErrTampered", i, err)
		}
	}
	reVersioned := bytes.Clone(good)
	reVersioned[0] = 2
	cases := []struct {
		name   string
		aead   cipher.AEAD
		key    string
		sealed []byte
		now    time.Time
		want   error
	}{
		{"other key name", aead, fixedName + "x", good, fixedNow, ErrTampered},
		{"other sealing key", testAEAD(t, 2), fixedName, good, fixedNow, ErrTampered},
		{"unknown version", aead, fixedName, reVersioned, fixedNow, ErrTampered},
		{"truncated", aead, fixedName, good[:len(good)-1], fixedNow, ErrTampered},
		{"appended", aead, fixedName, append(bytes.Clone(good), 0), fixedNow, ErrTampered},
		{"shorter than the overhead", aead, fixedName, good[:sealOverhead-1], fixedNow, ErrTampered},
		{"empty", aead, fixedName, nil, fixedNow, ErrTampered},
		{"oversized", aead, fixedName, make([]byte, sealOverhead+MaxValueSize+1), fixedNow, ErrTampered},
		{"at its expiry", aead, fixedName, good, fixedNow.Add(time.Minute), ErrMiss},
		{"after its expiry", aead, fixedName, good, fixedNow.Add(time.Hour), ErrMiss},
		{"just before its expiry", aead, fixedName, good, fixedNow.Add(time.Minute - time.Millisecond), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unseal(tc.aead, tc.key, tc.sealed, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil && !bytes.Equal(got, value)) {
				t.Fatalf("got %q, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// The key name format is stable: entries written by one release are found
// by the next. Changing it is a format change.
func TestKeyNameGolden(t *testing.T) {
	var nk NamingKey
	for i := range nk {
		nk[i] = byte(i)
	}
	cases := []struct{ ns, key, want string }{
		{"careapi/patient", "Patient/123", "cofre:"},
		{"careapi/patient", "Patient/124", "cofre:"},
		{"careapi/report", "Patient/123", "cofre:"},
		// The separator keeps ("a", "b\x00c") and ("a\x00b", "c") apart;
		// New refuses namespaces with a zero byte.
		{"a", "b", "cofre:"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		got := keyName(&nk, tc.ns, tc.key)
		if !bytes.HasPrefix([]byte(got), []byte(tc.want)) || len(got) != len(KeyPrefix)+43 {
			t.Errorf("keyName(%q, %q) = %q", tc.ns, tc.key, got)
		}
		if seen[got] {
			t.Errorf("keyName(%q, %q) collides", tc.ns, tc.key)
		}
		seen[got] = true
	}
	// Computed independently: printf 'careapi/patient\x00Patient/123' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001..1f -binary | base64url.
	if got, want := keyName(&nk, "careapi/patient", "Patient/123"), "cofre:XSrdiY8QZ3vFbyXgYt0z1pnYJ9vqZ74bouFMOhfBIwY"; got != want {
		t.Errorf("keyName = %q, want %q", got, want)
	}
}

// FuzzUnseal feeds untrusted bytes (what the Redis host returns) to
// unseal. Only ErrTampered, ErrMiss or success may come back, and success
// only for the one value that was really sealed.
func FuzzUnseal(f *testing.F) {
	aead := testAEAD(f, 1)
	good := seal(aead, fixedName, []byte("seed"), fixedNow.Add(time.Minute), fixedNonce)
	f.Add(fixedName, good)
	f.Fuzz(func(t *testing.T, name string, sealed []byte) {
		got, err := unseal(aead, name, sealed, fixedNow)
		switch {
		case err == nil:
			if name != fixedName || !bytes.Equal(sealed, good) || string(got) != "seed" {
				t.Fatalf("forged value accepted: %q", got)
			}
		case errors.Is(err, ErrTampered), errors.Is(err, ErrMiss):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// A value sealed by this release (key 0x01…, nonce 0x5a…, expiry
// fixedNow+1m) still opens: the value format is stable.
func TestUnsealGolden(t *testing.T) {
	sealed, _ := hex.DecodeString("015a5a5a5a5a5a5a5a5a5a5a5a3b2b0a40467b447907d65c5944964cbdb1abc3642d4094d46368a724")
	got, err := unseal(testAEAD(t, 1), fixedName, sealed, fixedNow)
	if err != nil || string(got) != "seed" {
		t.Fatalf("unseal = %q, %v", got, err)
	}
}
