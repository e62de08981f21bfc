package store

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// xaes is XAES-256-GCM (C2SP XAES-256-GCM): AES-256-GCM under a key
// derived from the namespace key and the first 12 bytes of a 24-byte
// nonce, with the last 12 bytes as the GCM nonce.
//
// Why not plain AES-GCM with random 96-bit nonces: those are safe for
// about 2^32 messages per key, and a busy coordinator writes an instance
// record per activation; at 500 a second that is 99 days. Counter nonces
// are unsafe here because the host can roll the file back, replaying a
// counter. With 192 random bits a collision needs about 2^80 messages.
// Derivation costs two AES block encryptions and a key schedule per value.
type xaes struct {
	block cipher.Block // AES-256 under the namespace key; safe for concurrent use
	k1    [aes.BlockSize]byte
}

const (
	xaesNonceSize = 24
	xaesOverhead  = xaesNonceSize + 16 // nonce ‖ ... ‖ GCM tag
)

func newXAES(key []byte) (*xaes, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key of %d bytes, want %d", ErrInvalid, len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	x := &xaes{block: b}
	// K1 = L << 1 (xor 0x87 if L's top bit was set), L = AES_K(0^128): the
	// CMAC subkey. Branch-free: L is secret.
	var l [aes.BlockSize]byte
	b.Encrypt(l[:], l[:])
	msb := l[0] >> 7
	for i := range aes.BlockSize - 1 {
		x.k1[i] = l[i]<<1 | l[i+1]>>7
	}
	x.k1[aes.BlockSize-1] = l[aes.BlockSize-1]<<1 ^ 0x87&-msb
	return x, nil
}

// aead returns AES-256-GCM under the key derived for nonce[:12].
func (x *xaes) aead(nonce []byte) (cipher.AEAD, error) {
	var m1, m2, k [2 * aes.BlockSize]byte
	// M_i = 0x00 ‖ i ‖ "X" ‖ 0x00 ‖ N[:12], each xored with K1.
	m1[1], m1[2] = 1, 'X'
	m2[1], m2[2] = 2, 'X'
	copy(m1[4:16], nonce[:12])
	copy(m2[4:16], nonce[:12])
	for i := range aes.BlockSize {
		m1[i] ^= x.k1[i]
		m2[i] ^= x.k1[i]
	}
	x.block.Encrypt(k[:16], m1[:16])
	x.block.Encrypt(k[16:], m2[:16])
	defer clear(k[:])
	b, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// seal appends nonce ‖ ciphertext ‖ tag to dst.
func (x *xaes) seal(dst, nonce, plaintext, aad []byte) ([]byte, error) {
	g, err := x.aead(nonce)
	if err != nil {
		return nil, err
	}
	dst = append(dst, nonce...)
	return g.Seal(dst, nonce[12:], plaintext, aad), nil
}

// open reverses seal; sealed is nonce ‖ ciphertext ‖ tag.
func (x *xaes) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < xaesOverhead {
		return nil, errShort
	}
	g, err := x.aead(sealed[:xaesNonceSize])
	if err != nil {
		return nil, err
	}
	return g.Open(nil, sealed[12:xaesNonceSize], sealed[xaesNonceSize:], aad)
}
