package colenc

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// TestCMKMetadataDigestLayout pins the digest to the drivers' layout:
// SHA-256 over the UTF-16LE of the lowercased provider, key path and
// enclave flag, written out here byte by byte.
func TestCMKMetadataDigestLayout(t *testing.T) {
	var want []byte
	for _, c := range "mssql_certificate_store" + "currentuser/my/abc" + "true" {
		want = append(want, byte(c), 0)
	}
	sum := sha256.Sum256(want)
	got := CMKMetadataDigest("MSSQL_CERTIFICATE_STORE", "CurrentUser/My/ABC", true)
	if got != sum {
		t.Fatalf("digest %x, want %x", got, sum)
	}
	if CMKMetadataDigest("MSSQL_CERTIFICATE_STORE", "CurrentUser/My/ABC", false) == got {
		t.Fatal("the enclave flag does not change the digest")
	}
	// Case does not matter, as in the drivers.
	if CMKMetadataDigest("mssql_certificate_store", "currentuser/my/abc", true) != got {
		t.Fatal("digest depends on case")
	}
}

func TestCMKMetadataSignature(t *testing.T) {
	cmk := testCMK()
	const provider, path = "MSSQL_CERTIFICATE_STORE", "CurrentUser/My/0123"
	sig, err := SignCMKMetadata(cmk, provider, path, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCMKMetadata(&cmk.PublicKey, provider, path, false, sig); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	other := testCMKOther()
	flipped := append([]byte(nil), sig...)
	flipped[len(flipped)/2] ^= 1
	for name, tc := range map[string]struct {
		provider, path string
		enclave        bool
		sig            []byte
		key            any
	}{
		"enclave computations switched on": {provider, path, true, sig, nil},
		"another key path":                 {provider, "CurrentUser/My/9999", false, sig, nil},
		"another provider":                 {"AZURE_KEY_VAULT", path, false, sig, nil},
		"flipped signature byte":           {provider, path, false, flipped, nil},
		"truncated signature":              {provider, path, false, sig[:len(sig)-1], nil},
		"another master key":               {provider, path, false, sig, other},
	} {
		t.Run(name, func(t *testing.T) {
			pub := &cmk.PublicKey
			if tc.key != nil {
				pub = &other.PublicKey
			}
			if err := VerifyCMKMetadata(pub, tc.provider, tc.path, tc.enclave, tc.sig); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("got %v, want ErrAuthentication", err)
			}
		})
	}
	if err := VerifyCMKMetadata(nil, provider, path, false, sig); !errors.Is(err, ErrKey) {
		t.Fatalf("nil key: %v", err)
	}
}
