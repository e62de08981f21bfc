package colenc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Encrypted CEK value layout, as SQL Server stores it in
// sys.column_encryption_key_values.encrypted_value and as the certificate
// store key provider writes it:
//
//	version 0x01 (1) ‖ u16le(len keyPath) ‖ u16le(len ciphertext) ‖
//	keyPath (UTF-16LE) ‖ RSA-OAEP ciphertext ‖ signature
//
// The ciphertext is RSA-OAEP with SHA-1 (and MGF1-SHA-1) under the column
// master key. The signature is RSASSA-PKCS1-v1_5 with SHA-256 over every
// preceding byte, by the same CMK: it binds the key path to the ciphertext.
const (
	cekValueVersion    = 0x01
	cekValueHeaderSize = 1 + 2 + 2
)

// CEKValue is a parsed encrypted column encryption key value.
type CEKValue struct {
	// KeyPath is the column master key path, e.g.
	// "CurrentUser/My/<thumbprint>", decoded from UTF-16LE.
	KeyPath string
	// Ciphertext is the RSA-OAEP(SHA-1) encryption of the CEK.
	Ciphertext []byte
	// Signature is the CMK's PKCS#1 v1.5 signature over SHA-256 of the
	// encoded version, lengths, key path and ciphertext.
	Signature []byte

	// signed holds the exact bytes the signature covers, as parsed. It is
	// used only while KeyPath and Ciphertext still equal the parsed fields:
	// a key path with unpaired UTF-16 surrogates does not survive decoding,
	// and a caller who edits a field must not be checked against old bytes.
	signed     []byte
	parsedPath string
}

// ParseCEKValue parses an encrypted CEK value. It checks structure only;
// call Verify or UnwrapCEK to check the signature.
func ParseCEKValue(b []byte) (*CEKValue, error) {
	if len(b) < cekValueHeaderSize {
		return nil, fmt.Errorf("colenc: cek value: length %d below header %d: %w", len(b), cekValueHeaderSize, ErrFormat)
	}
	if b[0] != cekValueVersion {
		return nil, fmt.Errorf("colenc: cek value: version: want 0x%02x, got 0x%02x: %w", cekValueVersion, b[0], ErrVersion)
	}
	pathLen := int(binary.LittleEndian.Uint16(b[1:3]))
	ctLen := int(binary.LittleEndian.Uint16(b[3:5]))
	if pathLen%2 != 0 {
		return nil, fmt.Errorf("colenc: cek value: key path length %d is odd, want UTF-16: %w", pathLen, ErrFormat)
	}
	if ctLen < MinRSABits/8 || ctLen > MaxRSABits/8 {
		return nil, fmt.Errorf("colenc: cek value: ciphertext length %d outside %d..%d: %w", ctLen, MinRSABits/8, MaxRSABits/8, ErrFormat)
	}
	signedLen := cekValueHeaderSize + pathLen + ctLen
	// The signature is made by the same RSA key as the ciphertext, so it
	// has the modulus length too.
	if len(b) != signedLen+ctLen {
		return nil, fmt.Errorf("colenc: cek value: length %d, want %d for key path %d and ciphertext %d bytes: %w", len(b), signedLen+ctLen, pathLen, ctLen, ErrFormat)
	}
	pathBytes := b[cekValueHeaderSize : cekValueHeaderSize+pathLen]
	u := make([]uint16, pathLen/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(pathBytes[2*i:])
	}
	return &CEKValue{
		KeyPath:    string(utf16.Decode(u)),
		Ciphertext: append([]byte(nil), b[cekValueHeaderSize+pathLen:signedLen]...),
		Signature:  append([]byte(nil), b[signedLen:]...),
		signed:     append([]byte(nil), b[:signedLen]...),
		parsedPath: string(utf16.Decode(u)),
	}, nil
}

// Marshal encodes v. For a parsed value it returns the parsed bytes exactly.
func (v *CEKValue) Marshal() ([]byte, error) {
	signed, err := v.signedBytes()
	if err != nil {
		return nil, err
	}
	return append(signed, v.Signature...), nil
}

func (v *CEKValue) signedBytes() ([]byte, error) {
	if v.signed != nil && v.KeyPath == v.parsedPath && bytes.HasSuffix(v.signed, v.Ciphertext) &&
		len(v.signed)-len(v.Ciphertext) == cekValueHeaderSize+int(binary.LittleEndian.Uint16(v.signed[1:3])) {
		return append([]byte(nil), v.signed...), nil
	}
	path := utf16LE(v.KeyPath)
	if len(path) > 0xFFFF || len(v.Ciphertext) > 0xFFFF {
		return nil, fmt.Errorf("colenc: cek value: key path %d or ciphertext %d bytes exceed 65535: %w", len(path), len(v.Ciphertext), ErrFormat)
	}
	b := []byte{cekValueVersion}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(path)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v.Ciphertext)))
	b = append(b, path...)
	return append(b, v.Ciphertext...), nil
}

// Verify checks the signature with the column master key's public key.
func (v *CEKValue) Verify(cmk *rsa.PublicKey) error {
	if err := checkRSASize(cmk); err != nil {
		return err
	}
	signed, err := v.signedBytes()
	if err != nil {
		return err
	}
	digest := sha256.Sum256(signed)
	if err := rsa.VerifyPKCS1v15(cmk, crypto.SHA256, digest[:], v.Signature); err != nil {
		return fmt.Errorf("colenc: cek value: signature for key path %q: %w", v.KeyPath, ErrAuthentication)
	}
	return nil
}

func checkRSASize(k *rsa.PublicKey) error {
	if k == nil || k.N == nil {
		return fmt.Errorf("colenc: column master key: nil: %w", ErrKey)
	}
	if n := k.N.BitLen(); n < MinRSABits || n > MaxRSABits {
		return fmt.Errorf("colenc: column master key: %d bits outside %d..%d: %w", n, MinRSABits, MaxRSABits, ErrKey)
	}
	return nil
}

// UnwrapCEK parses an encrypted CEK value, verifies its signature under cmk
// and returns the 32-byte CEK. The signature is checked before decryption, so
// an attacker who can write the key metadata gets no decryption oracle.
func UnwrapCEK(value []byte, cmk *rsa.PrivateKey) ([]byte, error) {
	v, err := ParseCEKValue(value)
	if err != nil {
		return nil, err
	}
	if cmk == nil {
		return nil, fmt.Errorf("colenc: column master key: nil: %w", ErrKey)
	}
	if err := v.Verify(&cmk.PublicKey); err != nil {
		return nil, err
	}
	// SHA-1 here is SQL Server's real choice (the documentation says
	// otherwise in places); OAEP's security does not rest on SHA-1's
	// collision resistance.
	cek, err := rsa.DecryptOAEP(sha1.New(), nil, cmk, v.Ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("colenc: cek value: rsa-oaep: %w", ErrAuthentication)
	}
	if len(cek) != CEKSize {
		return nil, fmt.Errorf("colenc: cek value: cek length %d, want %d: %w", len(cek), CEKSize, ErrFormat)
	}
	return cek, nil
}

// WrapCEK encrypts a 32-byte CEK under cmk and signs the result, producing an
// encrypted CEK value that SQL Server and its drivers accept. Like SQL
// Server's certificate store provider, it lower-cases the key path before
// encoding (strings.ToLower; .NET uses ToLowerInvariant, which agrees for
// the ASCII paths that key stores use).
func WrapCEK(cek []byte, keyPath string, cmk *rsa.PrivateKey) ([]byte, error) {
	if len(cek) != CEKSize {
		return nil, fmt.Errorf("colenc: wrap cek: want %d bytes, got %d: %w", CEKSize, len(cek), ErrKey)
	}
	if cmk == nil {
		return nil, fmt.Errorf("colenc: column master key: nil: %w", ErrKey)
	}
	if err := checkRSASize(&cmk.PublicKey); err != nil {
		return nil, err
	}
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &cmk.PublicKey, cek, nil)
	if err != nil {
		return nil, fmt.Errorf("colenc: wrap cek: rsa-oaep: %w", err)
	}
	v := &CEKValue{KeyPath: strings.ToLower(keyPath), Ciphertext: ct}
	signed, err := v.signedBytes()
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(signed)
	sig, err := rsa.SignPKCS1v15(rand.Reader, cmk, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("colenc: wrap cek: sign: %w", err)
	}
	return append(signed, sig...), nil
}
