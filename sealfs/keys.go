package sealfs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// HKDF-SHA256 info strings. Each subkey has one role; the "v1" ties them to
// format version 1 so a future format cannot reuse them by accident.
const (
	infoContent  = "cofre sealfs v1 content key"
	infoHeader   = "cofre sealfs v1 header key"
	infoKeyID    = "cofre sealfs v1 key id"
	infoRootHash = "cofre sealfs v1 root hash key"
	infoFileKey  = "cofre sealfs v1 file key " // ‖ file ID
)

// keys holds the subkeys of one volume key. The volume key itself is not
// kept.
type keys struct {
	content  []byte // HKDF input for the per-file segment keys
	header   cipher.AEAD
	keyID    [keyIDSize]byte
	rootHash []byte
}

func deriveKeys(volumeKey []byte) (*keys, error) {
	if len(volumeKey) != KeySize {
		return nil, fmt.Errorf("%w: volume key is %d bytes, want %d", ErrInvalidOptions, len(volumeKey), KeySize)
	}
	k := &keys{}
	var err error
	derive := func(info string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = hkdf.Key(sha256.New, volumeKey, nil, info, 32)
		return b
	}
	k.content = derive(infoContent)
	hk := derive(infoHeader)
	idk := derive(infoKeyID)
	k.rootHash = derive(infoRootHash)
	if err != nil {
		return nil, fmt.Errorf("sealfs: derive keys: %w", err)
	}
	// The key ID is a hash of a derived value, never of the key itself, so
	// publishing it on the disk reveals nothing usable about the key.
	sum := sha256.Sum256(idk)
	copy(k.keyID[:], sum[:])
	if k.header, err = newGCM(hk); err != nil {
		return nil, err
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealfs: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealfs: cipher: %w", err)
	}
	return aead, nil
}

// fileAEAD returns the segment cipher of one file. Each file gets its own
// key (HKDF of the content key and the file ID), so the random-nonce budget
// of AES-GCM (2^32 seals per key) applies per file, not per volume; the file
// ID is also in every segment's AAD.
func (k *keys) fileAEAD(fileID *[fileIDSize]byte) (cipher.AEAD, error) {
	fk, err := hkdf.Key(sha256.New, k.content, nil, infoFileKey+string(fileID[:]), 32)
	if err != nil {
		return nil, fmt.Errorf("sealfs: derive file key: %w", err)
	}
	return newGCM(fk)
}

// bindingAAD is the header bytes before the binding ‖ the path.
func bindingAAD(hb []byte, path string) []byte {
	aad := make([]byte, 0, offBinding+len(path))
	aad = append(aad, hb[:offBinding]...)
	return append(aad, path...)
}

// sealHeader fills h.binding for path: a GCM tag over an empty plaintext
// with the header bytes and the path as AAD. The header must carry a fresh
// nonce.
func (k *keys) sealHeader(h *header, path string) {
	hb := h.marshal()
	tag := k.header.Seal(nil, h.nonce[:], nil, bindingAAD(hb, path))
	copy(h.binding[:], tag)
}

// verifyHeader checks that h was sealed under this volume key for path.
func (k *keys) verifyHeader(h *header, path string) error {
	if !hmac.Equal(h.keyID[:], k.keyID[:]) {
		return fmt.Errorf("sealfs: %s: %w", path, ErrWrongKey)
	}
	hb := h.marshal()
	if _, err := k.header.Open(nil, h.nonce[:], h.binding[:], bindingAAD(hb, path)); err != nil {
		// Either a header byte was changed or the file was sealed for
		// another path (moved or copied there without the key).
		return tampered(path, HeaderSegment, "path binding authentication failed (header modified or file moved)")
	}
	return nil
}
