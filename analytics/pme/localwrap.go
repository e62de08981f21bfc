package pme

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// wrapLocally is parquet-java's KeyToolkit.encryptKeyLocally: AES-GCM of
// key under kek with the given AAD and a random 96-bit nonce, encoded as
// standard base64 (with padding) of nonce(12) ‖ ciphertext ‖ tag(16). It
// wraps DEKs under KEKs (AAD = the raw 16-byte KEK ID) and, in MemoryKMS,
// keys under master keys (AAD = the master key ID's UTF-8 bytes, as
// parquet-java's test InMemoryKMS does). Random nonces are safe: a KEK
// wraps at most a few thousand DEKs in its cache lifetime, far below the
// 2^32 messages per key that random 96-bit GCM nonces allow.
func wrapLocally(key, kek, aad []byte) (string, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return "", err
	}
	out := make([]byte, gcmNonceLen, gcmNonceLen+len(key)+gcmTagLen)
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("pme: nonce: %w", err)
	}
	out = aead.Seal(out, out[:gcmNonceLen], key, aad)
	return base64.StdEncoding.EncodeToString(out), nil
}

// unwrapLocally reverses wrapLocally and checks that the key is an AES
// key (16, 24 or 32 bytes). A failed tag check wraps ErrTampered.
func unwrapLocally(wrapped string, kek, aad []byte) ([]byte, error) {
	if len(wrapped) > maxWrappedLen {
		return nil, fmt.Errorf("%w: wrapped key: %d bytes, more than %d", ErrKeyMaterial, len(wrapped), maxWrappedLen)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: wrapped key: not standard base64", ErrKeyMaterial)
	}
	if n := len(raw) - gcmNonceLen - gcmTagLen; !validAESKeyLen(n) {
		return nil, fmt.Errorf("%w: wrapped key: %d bytes, expected %d + 16, 24 or 32", ErrKeyMaterial, len(raw), gcmNonceLen+gcmTagLen)
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, raw[:gcmNonceLen], raw[gcmNonceLen:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: unwrapping a key", ErrTampered)
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if !validAESKeyLen(len(key)) {
		return nil, fmt.Errorf("%w: wrapping key of %d bytes, expected 16, 24 or 32", ErrKeyMaterial, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pme: %w", err)
	}
	return cipher.NewGCM(block) // 12-byte nonce, 16-byte tag
}

func validAESKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }
