package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// FuzzSignedHead: a saved head file comes from wherever the auditor kept
// it. Parsing and checking it never panics, and what passes names the
// key it was checked under.
func FuzzSignedHead(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := parseSignedHead(b)
		if err != nil {
			return
		}
		if _, err := headKey(sh, nil); err != nil {
			return
		}
		// A random key never verifies a fuzzed signature.
		if _, err := verifySignedHead(sh, &key.PublicKey); err == nil {
			t.Fatalf("a head verified under an unrelated key: %+v", sh)
		}
	})
}
