package colenc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"unicode/utf16"
)

// Always Encrypted cell layout (AEAD_AES_256_CBC_HMAC_SHA256, as implemented
// by SQL Server and its drivers):
//
//	version (1) ‖ MAC (32) ‖ IV (16) ‖ AES-256-CBC ciphertext (n·16, PKCS#7)
//
// MAC = HMAC-SHA256(macKey, version ‖ IV ‖ ciphertext ‖ versionSize), where
// versionSize is the single byte 0x01 (the length of the version field).
const (
	aeVersion     = 0x01
	aeVersionSize = 0x01
	aeMACSize     = sha256.Size
	aeIVSize      = aes.BlockSize
	aeHeaderSize  = 1 + aeMACSize + aeIVSize // 49
	// aeMinCellSize is a header plus one cipher block: PKCS#7 always adds at
	// least one byte, so even an empty plaintext yields one block.
	aeMinCellSize = aeHeaderSize + aes.BlockSize // 65

	// CEKSize is the length of a column encryption key for both schemes.
	CEKSize = 32
)

// Key-derivation labels. SQL Server hashes these strings in UTF-16LE with the
// CEK as the HMAC key. The algorithm name inside them is spelled
// "AEAD_AES_256_CBC_HMAC_SHA256" (no underscore before 256), unlike the name
// in T-SQL DDL; the known-answer tests pin this.
const (
	aeLabelEnc = "Microsoft SQL Server cell encryption key with encryption algorithm:AEAD_AES_256_CBC_HMAC_SHA256 and key length:256"
	aeLabelMAC = "Microsoft SQL Server cell MAC key with encryption algorithm:AEAD_AES_256_CBC_HMAC_SHA256 and key length:256"
	aeLabelIV  = "Microsoft SQL Server cell IV key with encryption algorithm:AEAD_AES_256_CBC_HMAC_SHA256 and key length:256"
)

// AEAD encrypts and decrypts cells in SQL Server Always Encrypted's
// AEAD_AES_256_CBC_HMAC_SHA256 format. It is safe for concurrent use.
type AEAD struct {
	block  cipher.Block
	macKey [32]byte
	ivKey  [32]byte
	// macs and ivs pool keyed HMAC states: hmac.New hashes the key's
	// inner and outer pads every time, as much work as a short cell's MAC.
	macs, ivs sync.Pool
}

// NewAEAD derives the encryption, MAC and IV keys from a 32-byte column
// encryption key, as SQL Server does. cek is not retained.
func NewAEAD(cek []byte) (*AEAD, error) {
	if len(cek) != CEKSize {
		return nil, fmt.Errorf("colenc: always encrypted cek: want %d bytes, got %d: %w", CEKSize, len(cek), ErrKey)
	}
	encKey, macKey, ivKey := aeDeriveKeys(cek)
	block, err := aes.NewCipher(encKey[:])
	if err != nil {
		return nil, fmt.Errorf("colenc: always encrypted cek: %w", err)
	}
	a := &AEAD{block: block, macKey: macKey, ivKey: ivKey}
	a.macs.New = func() any { return hmac.New(sha256.New, a.macKey[:]) }
	a.ivs.New = func() any { return hmac.New(sha256.New, a.ivKey[:]) }
	return a, nil
}

func aeDeriveKeys(cek []byte) (enc, mac, iv [32]byte) {
	derive := func(label string) (k [32]byte) {
		h := hmac.New(sha256.New, cek)
		h.Write(utf16LE(label))
		h.Sum(k[:0])
		return k
	}
	return derive(aeLabelEnc), derive(aeLabelMAC), derive(aeLabelIV)
}

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// Encrypt returns a cell holding plaintext.
//
// With deterministic true the IV is HMAC-SHA256(ivKey, plaintext)[:16], so
// equal plaintexts give equal cells: this is what lets SQL Server compare and
// index the column, and it reveals equality to anyone who reads the column.
// With deterministic false the IV comes from crypto/rand.
func (a *AEAD) Encrypt(plaintext []byte, deterministic bool) ([]byte, error) {
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("colenc: always encrypted encrypt: plaintext of %d bytes exceeds %d: %w", len(plaintext), MaxPlaintextSize, ErrFormat)
	}
	var iv [aeIVSize]byte
	if deterministic {
		h := a.ivs.Get().(hash.Hash)
		h.Reset()
		h.Write(plaintext)
		var sum [sha256.Size]byte
		copy(iv[:], h.Sum(sum[:0]))
		a.ivs.Put(h)
	} else {
		// A CBC IV must be unpredictable; crypto/rand never fails in Go 1.24+.
		rand.Read(iv[:])
	}
	return a.encryptWithIV(plaintext, iv), nil
}

// encryptWithIV builds the cell for a given IV. Tests use it directly to
// reproduce published randomized-mode vectors.
func (a *AEAD) encryptWithIV(plaintext []byte, iv [aeIVSize]byte) []byte {
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	ctLen := len(plaintext) + pad
	cell := make([]byte, aeHeaderSize+ctLen)
	cell[0] = aeVersion
	copy(cell[1+aeMACSize:], iv[:])
	ct := cell[aeHeaderSize:]
	copy(ct, plaintext)
	for i := len(plaintext); i < ctLen; i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(a.block, iv[:]).CryptBlocks(ct, ct)
	copy(cell[1:1+aeMACSize], a.mac(iv[:], ct))
	return cell
}

func (a *AEAD) mac(iv, ct []byte) []byte {
	h := a.macs.Get().(hash.Hash)
	defer a.macs.Put(h)
	h.Reset()
	h.Write([]byte{aeVersion})
	h.Write(iv)
	h.Write(ct)
	h.Write([]byte{aeVersionSize})
	return h.Sum(nil)
}

// Decrypt checks and decrypts a cell, in either mode. It refuses a cell with
// ErrVersion (first byte not 0x01), ErrFormat (wrong length, or bad padding
// under a valid MAC) or ErrAuthentication (MAC mismatch: tampering or the
// wrong key). The MAC is checked, in constant time, before any decryption or
// padding check, so there is no padding oracle.
func (a *AEAD) Decrypt(cell []byte) ([]byte, error) {
	if len(cell) == 0 {
		return nil, fmt.Errorf("colenc: always encrypted cell: empty: %w", ErrFormat)
	}
	if cell[0] != aeVersion {
		return nil, fmt.Errorf("colenc: always encrypted cell: version: want 0x%02x, got 0x%02x: %w", aeVersion, cell[0], ErrVersion)
	}
	if len(cell) < aeMinCellSize || (len(cell)-aeHeaderSize)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("colenc: always encrypted cell: length %d is not %d+16k with k>=1: %w", len(cell), aeHeaderSize, ErrFormat)
	}
	if len(cell)-aeHeaderSize > MaxPlaintextSize+aes.BlockSize {
		return nil, fmt.Errorf("colenc: always encrypted cell: length %d exceeds limit: %w", len(cell), ErrFormat)
	}
	tag := cell[1 : 1+aeMACSize]
	iv := cell[1+aeMACSize : aeHeaderSize]
	ct := cell[aeHeaderSize:]
	if !hmac.Equal(tag, a.mac(iv, ct)) {
		return nil, fmt.Errorf("colenc: always encrypted cell: mac: %w", ErrAuthentication)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(a.block, iv).CryptBlocks(pt, ct)
	// The MAC already authenticated these bytes, so a padding error here
	// means the writer held the key and produced a bad cell: no oracle.
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, fmt.Errorf("colenc: always encrypted cell: padding byte %d out of range 1..16: %w", pad, ErrFormat)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("colenc: always encrypted cell: inconsistent padding: %w", ErrFormat)
		}
	}
	return pt[:len(pt)-pad], nil
}
