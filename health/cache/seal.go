package cache

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// The sealed value format, version 1:
//
//	offset 0        version, 1 byte (versionV1)
//	offset 1        nonce, 12 bytes, random per write
//	offset 13       AES-256-GCM ciphertext and 16-byte tag of
//	                  expiry (uint64 big endian, Unix milliseconds) ‖ value
//
// The additional authenticated data is the version byte followed by the
// full Redis key name. Binding the key name means a value copied or renamed
// to another key (another patient's) fails to open; binding the version
// means a future format cannot be confused with this one.
//
// The expiry is sealed inside so that a Redis host that ignores or extends
// the TTL it was given still cannot make Get return the value after it
// was meant to be gone.
//
// Nonces are random: with 96-bit random nonces, AES-GCM stays within its
// bounds for about 2^32 writes per key. A cache writes far fewer entries
// than that over a sealing key's life, and the key is rotated with the
// coordinator's secrets.
const (
	versionV1    = 1
	nonceSize    = 12
	expirySize   = 8
	tagSize      = 16
	headerSize   = 1 + nonceSize
	sealOverhead = headerSize + expirySize + tagSize
)

// seal encrypts value for keyName, to be refused after expires. nonce must
// be fresh random bytes of nonceSize.
func seal(aead cipher.AEAD, keyName string, value []byte, expires time.Time, nonce []byte) []byte {
	out := make([]byte, headerSize, sealOverhead+len(value))
	out[0] = versionV1
	copy(out[1:headerSize], nonce)
	pt := make([]byte, expirySize, expirySize+len(value))
	binary.BigEndian.PutUint64(pt, uint64(expires.UnixMilli()))
	pt = append(pt, value...)
	return aead.Seal(out, out[1:headerSize], pt, aad(keyName))
}

// unseal opens a value read from keyName. Every way the bytes can be wrong
// is ErrTampered: the Redis host is not trusted, and a caller has nothing to
// do differently between a short value, an unknown version and a failed
// tag. A value past its sealed expiry is ErrMiss, as Redis should have
// expired it.
func unseal(aead cipher.AEAD, keyName string, sealed []byte, now time.Time) ([]byte, error) {
	if len(sealed) < sealOverhead || len(sealed) > sealOverhead+MaxValueSize {
		return nil, ErrTampered
	}
	if sealed[0] != versionV1 {
		return nil, ErrTampered
	}
	pt, err := aead.Open(nil, sealed[1:headerSize], sealed[headerSize:], aad(keyName))
	if err != nil {
		return nil, ErrTampered
	}
	expires := int64(binary.BigEndian.Uint64(pt[:expirySize]))
	if now.UnixMilli() >= expires {
		return nil, ErrMiss
	}
	return pt[expirySize:], nil
}

func aad(keyName string) []byte {
	b := make([]byte, 0, 1+len(keyName))
	b = append(b, versionV1)
	return append(b, keyName...)
}

// keyName is the Redis key for a logical key:
//
//	KeyPrefix ‖ base64url(HMAC-SHA256(namingKey, namespace ‖ 0x00 ‖ key))
//
// A keyed hash, not a plain one: patient identifiers (MRNs, dates) have
// little entropy, and an unkeyed hash of them could be reversed by the
// Redis host by enumeration. The zero byte separates namespace from key
// unambiguously, as namespaces may not contain it.
func keyName(naming *NamingKey, namespace, key string) string {
	m := hmac.New(sha256.New, naming[:])
	m.Write([]byte(namespace))
	m.Write([]byte{0})
	m.Write([]byte(key))
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
