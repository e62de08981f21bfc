package attestd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/token"
)

// TestKeyFileIsSealed: the key file holds no private key bytes in any
// encoding, round-trips, and refuses a wrong KEK or a changed byte.
func TestKeyFileIsSealed(t *testing.T) {
	dir := t.TempDir()
	kekPath := filepath.Join(dir, "kek")
	kek, err := CreateKEK(kekPath)
	must(t, err)
	if _, err := CreateKEK(kekPath); err == nil {
		t.Fatal("CreateKEK overwrote an existing KEK")
	}
	loaded, err := LoadKEK(kekPath)
	must(t, err)
	if !bytes.Equal(loaded, kek) {
		t.Fatal("LoadKEK returned other bytes")
	}
	sealer, err := NewAESGCMSealer(kek)
	must(t, err)
	kf := KeyFile{Path: filepath.Join(dir, "keys.sealed"), Sealer: sealer}

	ks, err := token.NewKeySet(token.ES256, t0)
	must(t, err)
	must(t, ks.Rotate(token.ES256, t0, defaultKeyOverlap)) // two keys: current and previous
	must(t, kf.Save(ks))

	file, err := os.ReadFile(kf.Path)
	must(t, err)
	if st, _ := os.Stat(kf.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o", st.Mode().Perm())
	}
	plain, err := ks.MarshalBinary()
	must(t, err)
	var set struct {
		Keys []struct {
			PKCS8 []byte `json:"pkcs8"`
		} `json:"keys"`
	}
	must(t, json.Unmarshal(plain, &set))
	if len(set.Keys) != 2 {
		t.Fatalf("%d keys in the set", len(set.Keys))
	}
	for _, k := range set.Keys {
		priv, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
		must(t, err)
		d, err := priv.(*ecdsa.PrivateKey).Bytes()
		must(t, err)
		for _, secret := range [][]byte{k.PKCS8, d, []byte(base64.StdEncoding.EncodeToString(k.PKCS8)), []byte(base64.RawURLEncoding.EncodeToString(d))} {
			if bytes.Contains(file, secret) {
				t.Fatal("the key file holds private key bytes")
			}
		}
	}

	back, err := kf.Load()
	must(t, err)
	k1, _ := ks.Current()
	k2, _ := back.Current()
	j1, _ := ks.JWKS(t0)
	j2, _ := back.JWKS(t0)
	if k1 != k2 || !bytes.Equal(j1, j2) {
		t.Fatal("key set does not round-trip")
	}

	other, _ := NewAESGCMSealer(bytes.Repeat([]byte{1}, KEKSize))
	if _, err := (KeyFile{Path: kf.Path, Sealer: other}).Load(); !errors.Is(err, ErrUnseal) {
		t.Errorf("wrong KEK: %v, want ErrUnseal", err)
	}
	var env keyFileEnvelope
	must(t, json.Unmarshal(file, &env))
	env.Sealed[len(env.Sealed)/2] ^= 1
	b, _ := json.Marshal(env)
	os.WriteFile(kf.Path, b, 0o600)
	if _, err := kf.Load(); !errors.Is(err, ErrUnseal) {
		t.Errorf("changed byte: %v, want ErrUnseal", err)
	}
	// Sealed under a different purpose: the AAD does not match.
	s2, _ := sealer.Seal(plain, []byte("something else"))
	b, _ = json.Marshal(keyFileEnvelope{Version: keyFileVersion, Sealed: s2})
	os.WriteFile(kf.Path, b, 0o600)
	if _, err := kf.Load(); !errors.Is(err, ErrUnseal) {
		t.Errorf("other AAD: %v, want ErrUnseal", err)
	}
}

func TestLoadKEKRefusesLooseFiles(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct {
		b    []byte
		mode os.FileMode
	}{
		"group readable": {bytes.Repeat([]byte{1}, KEKSize), 0o640},
		"short":          {[]byte{1, 2, 3}, 0o600},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, tt.b, tt.mode)
		os.Chmod(p, tt.mode)
		if _, err := LoadKEK(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewAESGCMSealer(make([]byte, 16)); err == nil {
		t.Error("AES-128 KEK accepted")
	}
}
