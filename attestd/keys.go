package attestd

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cofre-cc/cofre/token"
)

// Sealer protects bytes at rest. The service seals its signing keys with
// one before they touch the disk.
//
// AESGCMSealer under a key-encryption-key file is what development uses.
// In production the key-encryption key must not sit next to what it
// protects: a TEE sealing key (the service runs in an enclave or
// confidential VM) or a KMS that releases it only to an attested service;
// the coordinator provides that, behind this interface.
type Sealer interface {
	// Seal encrypts and authenticates plaintext, binding aad.
	Seal(plaintext, aad []byte) ([]byte, error)
	// Open reverses Seal; it fails if anything was changed.
	Open(sealed, aad []byte) ([]byte, error)
}

// KEKSize is the size of a key-encryption key: AES-256.
const KEKSize = 32

// AESGCMSealer seals with AES-256-GCM and a random 96-bit nonce per
// message. Random nonces are safe here: the key set is sealed once per
// rotation, far below the 2^32 messages after which nonce collisions
// become a concern.
type AESGCMSealer struct {
	aead cipher.AEAD
}

// NewAESGCMSealer returns a sealer under a KEKSize-byte key.
func NewAESGCMSealer(kek []byte) (*AESGCMSealer, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("attestd: key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("attestd: %w", err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("attestd: %w", err)
	}
	return &AESGCMSealer{aead: aead}, nil
}

// Name names the algorithm in the sealed file's envelope.
func (s *AESGCMSealer) Name() string { return "AES-256-GCM" }

// Seal returns nonce ‖ ciphertext ‖ tag.
func (s *AESGCMSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// ErrUnseal means sealed data did not authenticate: a wrong key-encryption
// key, or a changed file.
var ErrUnseal = errors.New("sealed data does not authenticate (wrong key-encryption key or modified file)")

func (s *AESGCMSealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("attestd: %w: %d bytes", ErrUnseal, len(sealed))
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("attestd: %w", ErrUnseal)
	}
	return pt, nil
}

// CreateKEK writes a new random key-encryption key to path (0600), failing
// if the file exists: overwriting a KEK would orphan every key sealed
// under it. For development; see Sealer for production.
func CreateKEK(path string) ([]byte, error) {
	kek := make([]byte, KEKSize)
	rand.Read(kek)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("attestd: create key-encryption key: %w", err)
	}
	if _, err := f.Write(kek); err != nil {
		f.Close()
		return nil, fmt.Errorf("attestd: write key-encryption key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("attestd: write key-encryption key: %w", err)
	}
	return kek, f.Close()
}

// LoadKEK reads a key-encryption key file. It refuses a file that others
// than its owner may read or write: the key would not be a secret.
func LoadKEK(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("attestd: key-encryption key: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("attestd: key-encryption key %s has mode %04o; want 0600 or stricter", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("attestd: key-encryption key: %w", err)
	}
	if len(b) != KEKSize {
		return nil, fmt.Errorf("attestd: key-encryption key %s is %d bytes, want %d", path, len(b), KEKSize)
	}
	return b, nil
}

// keyFileAAD binds a sealed key set to its purpose, so that another blob
// sealed under the same key-encryption key cannot be passed off as one.
var keyFileAAD = []byte("cofre attestd signing key set v1")

// keyFileVersion is the version of the sealed key file's envelope.
const keyFileVersion = 1

type keyFileEnvelope struct {
	Version int    `json:"version"`
	Sealer  string `json:"sealer,omitempty"` // informational: "AES-256-GCM"
	Sealed  []byte `json:"sealed"`
}

// KeyStore keeps the signing keys across restarts. The server saves after
// every rotation.
type KeyStore interface {
	Save(ks *token.KeySet) error
}

// KeyFile is a KeyStore: the key set, serialized by token and sealed,
// in one file replaced atomically on every save.
type KeyFile struct {
	Path   string
	Sealer Sealer // non-nil
}

var _ KeyStore = KeyFile{}

// Load reads and unseals the key set. A missing file is reported with an
// error wrapping os.ErrNotExist.
func (f KeyFile) Load() (*token.KeySet, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("attestd: key file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var env keyFileEnvelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("attestd: key file %s: %w", f.Path, err)
	}
	if env.Version != keyFileVersion {
		return nil, fmt.Errorf("attestd: key file %s: version %d, want %d", f.Path, env.Version, keyFileVersion)
	}
	pt, err := f.Sealer.Open(env.Sealed, keyFileAAD)
	if err != nil {
		return nil, fmt.Errorf("attestd: key file %s: %w", f.Path, err)
	}
	defer clear(pt)
	ks, err := token.UnmarshalKeySet(pt)
	if err != nil {
		return nil, fmt.Errorf("attestd: key file %s: %w", f.Path, err)
	}
	return ks, nil
}

// Save seals ks and replaces the file: a temporary file in the same
// directory, synced, then renamed over the old one, so a crash leaves
// either the old or the new key set, never half of one.
func (f KeyFile) Save(ks *token.KeySet) error {
	pt, err := ks.MarshalBinary()
	if err != nil {
		return fmt.Errorf("attestd: key file: %w", err)
	}
	sealed, err := f.Sealer.Seal(pt, keyFileAAD)
	clear(pt)
	if err != nil {
		return fmt.Errorf("attestd: key file: %w", err)
	}
	env := keyFileEnvelope{Version: keyFileVersion, Sealed: sealed}
	if n, ok := f.Sealer.(interface{ Name() string }); ok {
		env.Sealer = n.Name()
	}
	b, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("attestd: key file: %w", err)
	}
	return writeFileAtomic(f.Path, append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path with b via a synced temporary file and a
// rename, then syncs the directory so the rename itself is durable.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	if _, err := io.Copy(tmp, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("attestd: write %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
