package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cofre-cc/cofre/attest/sim"
)

// Sealer binds data to an identity that only the rightful owner can
// assume, such as a TEE's sealing key for one measurement.
type Sealer interface {
	// Seal encrypts and authenticates plaintext, binding aad (which is not
	// stored in the output).
	Seal(plaintext, aad []byte) ([]byte, error)
	// Unseal reverses Seal under the same aad. It returns an error that
	// wraps ErrUnseal if the key, the identity, the aad or the data
	// differ, and ErrMalformed if sealed is not the sealer's format.
	Unseal(sealed, aad []byte) ([]byte, error)
	// Name says what protects the data, for logs and status pages.
	Name() string
}

// gcmSealer is AES-256-GCM with a random 96-bit nonce per message, the
// envelope both sealers here use: version (1 byte) ‖ nonce ‖ ciphertext ‖
// tag. Random nonces are safe because a sealer seals a handful of
// messages (the data key, once per installation), far below the 2^32
// after which nonce collisions become likely enough to matter.
type gcmSealer struct {
	aead cipher.AEAD
}

// gcmVersion is the envelope's first byte; a new algorithm takes a new
// value, so old files keep opening.
const gcmVersion = 1

func newGCMSealer(key []byte) (gcmSealer, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return gcmSealer{}, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(b)
	if err != nil {
		return gcmSealer{}, fmt.Errorf("seal: %w", err)
	}
	return gcmSealer{aead: aead}, nil
}

func (g gcmSealer) seal(plaintext, aad []byte) []byte {
	out := make([]byte, 1, 1+g.aead.NonceSize()+len(plaintext)+g.aead.Overhead())
	out[0] = gcmVersion
	return g.aead.Seal(out, nil, plaintext, aad)
}

func (g gcmSealer) unseal(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+g.aead.Overhead() {
		return nil, fmt.Errorf("%w: sealed data of %d bytes is too short", ErrMalformed, len(sealed))
	}
	if sealed[0] != gcmVersion {
		return nil, fmt.Errorf("%w: sealed data version %d, want %d", ErrMalformed, sealed[0], gcmVersion)
	}
	pt, err := g.aead.Open(nil, nil, sealed[1:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// SimSealer seals to a sim platform and a measurement, the way SGX
// MRENCLAVE sealing binds data to one CPU and one enclave build: the
// AES-256-GCM key is HKDF-SHA256 of the platform's private key scalar and
// the measurement, so another platform or another measurement cannot
// unseal.
//
// SIMULATION: this protects nothing against the host. The platform key is
// a file (platform.pem) on the host; whoever can read it derives the
// sealing key. SimSealer exists so the coordinator's recovery paths (new
// platform, new measurement) run and are tested without TEE hardware.
type SimSealer struct {
	gcm gcmSealer
}

// simSealInfo is the HKDF info prefix; the measurement follows it. The
// prefix has a fixed length and the measurement comes last, so no two
// measurements give the same info.
const simSealInfo = "cofre seal sim v1\x00"

// NewSimSealer returns a sealer bound to platform p and measurement (1 to
// MaxMeasurementLen bytes, for example SHA-256 of the coordinator binary).
func NewSimSealer(p *sim.Platform, measurement []byte) (*SimSealer, error) {
	if p == nil || p.Key == nil {
		return nil, errors.New("seal: sim sealer needs a platform key")
	}
	if len(measurement) == 0 || len(measurement) > MaxMeasurementLen {
		return nil, fmt.Errorf("seal: measurement of %d bytes, want 1..%d", len(measurement), MaxMeasurementLen)
	}
	ek, err := p.Key.ECDH()
	if err != nil {
		return nil, fmt.Errorf("seal: sim platform key: %w", err)
	}
	scalar := ek.Bytes()
	defer clear(scalar)
	key, err := hkdf.Key(sha256.New, scalar, nil, simSealInfo+string(measurement), DataKeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive sim sealing key: %w", err)
	}
	defer clear(key)
	g, err := newGCMSealer(key)
	if err != nil {
		return nil, err
	}
	return &SimSealer{gcm: g}, nil
}

// Seal implements Sealer.
func (s *SimSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	return s.gcm.seal(plaintext, aad), nil
}

// Unseal implements Sealer.
func (s *SimSealer) Unseal(sealed, aad []byte) ([]byte, error) {
	return s.gcm.unseal(sealed, aad)
}

// Name implements Sealer.
func (s *SimSealer) Name() string { return "sim (SIMULATION: no hardware protection)" }

// KeyFileSealer seals with AES-256-GCM under a 32-byte key kept in a file,
// for deployments whose TEE has no sealing primitive. It is exactly as
// strong as the file's protection: whoever reads the file unseals
// everything. Keep the file off the coordinator's volume (a Kubernetes
// Secret mounted with mode 0400, a KMS-backed CSI volume) so that a copy
// of the state volume alone is useless.
type KeyFileSealer struct {
	gcm gcmSealer
}

// pemSealingKey is the PEM block type of a KeyFileSealer key file; the
// type names what the key is for.
const pemSealingKey = "COFRE SEALING KEY"

// GenerateKeyFile writes a new random sealing key to path with mode 0600.
// It refuses to replace an existing file (an error wrapping fs.ErrExist):
// overwriting a sealing key would orphan everything sealed under it.
func GenerateKeyFile(path string) error {
	key := make([]byte, DataKeySize)
	rand.Read(key)
	defer clear(key)
	b := pem.EncodeToMemory(&pem.Block{Type: pemSealingKey, Bytes: key})
	defer clear(b)
	return writeFileExclusive(path, b)
}

// LoadKeyFileSealer reads a key file that GenerateKeyFile wrote. It
// refuses a file that group or others may access (ErrInsecureKeyFile), as
// ssh does for private keys, and one that is not a single PEM block of
// DataKeySize bytes (ErrMalformed).
func LoadKeyFileSealer(path string) (*KeyFileSealer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600 or 0400", ErrInsecureKeyFile, filepath.Base(path), fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer clear(b)
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%w: key file is larger than %d bytes", ErrMalformed, maxKeyFile)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != pemSealingKey || len(blk.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: key file is not one %q PEM block", ErrMalformed, pemSealingKey)
	}
	defer clear(blk.Bytes)
	if len(blk.Bytes) != DataKeySize {
		return nil, fmt.Errorf("%w: sealing key is %d bytes, want %d", ErrMalformed, len(blk.Bytes), DataKeySize)
	}
	g, err := newGCMSealer(blk.Bytes)
	if err != nil {
		return nil, err
	}
	return &KeyFileSealer{gcm: g}, nil
}

// Seal implements Sealer.
func (s *KeyFileSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	return s.gcm.seal(plaintext, aad), nil
}

// Unseal implements Sealer.
func (s *KeyFileSealer) Unseal(sealed, aad []byte) ([]byte, error) {
	return s.gcm.unseal(sealed, aad)
}

// Name implements Sealer.
func (s *KeyFileSealer) Name() string { return "keyfile" }

// Interface guards.
var (
	_ Sealer = (*SimSealer)(nil)
	_ Sealer = (*KeyFileSealer)(nil)
)
