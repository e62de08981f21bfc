package sealed

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// KEM names an HPKE key encapsulation mechanism by its RFC 9180 id. Only
// X25519 and P256 are accepted; the zero value is invalid.
type KEM uint16

const (
	// P256 is DHKEM(P-256, HKDF-SHA256), id 0x0010: every browser's
	// WebCrypto has it.
	P256 KEM = 0x0010
	// X25519 is DHKEM(X25519, HKDF-SHA256), id 0x0020.
	X25519 KEM = 0x0020
)

// The only KDF and AEAD accepted: HKDF-SHA256 (0x0001) and AES-256-GCM
// (0x0002), RFC 9180 §7.2 and §7.3.
const (
	kdfID  uint16 = 0x0001
	aeadID uint16 = 0x0002
)

// String returns the KEM's name.
func (k KEM) String() string {
	switch k {
	case P256:
		return "DHKEM(P-256, HKDF-SHA256)"
	case X25519:
		return "DHKEM(X25519, HKDF-SHA256)"
	}
	return fmt.Sprintf("KEM(0x%04x)", uint16(k))
}

// curve returns the ECDH curve of an allowed KEM, or ErrSuite.
func (k KEM) curve() (ecdh.Curve, error) {
	switch k {
	case P256:
		return ecdh.P256(), nil
	case X25519:
		return ecdh.X25519(), nil
	}
	return nil, fmt.Errorf("%w: kem 0x%04x (want 0x0010 or 0x0020)", ErrSuite, uint16(k))
}

// encSize is Nenc, the length of the encapsulated key (RFC 9180 §7.1).
func (k KEM) encSize() int {
	if k == P256 {
		return 65 // uncompressed SEC1 point
	}
	return 32
}

// PublicKey is a recipient's public key. Its zero value is not usable; get
// one from ParsePublicJWK, NewPublicKey or PrivateKey.PublicKey.
type PublicKey struct {
	kem   KEM
	pub   *ecdh.PublicKey
	hpke  hpke.PublicKey
	keyID [sha256.Size]byte // RFC 7638 thumbprint, bound into the HPKE info
}

// PrivateKey is a service's private key for opening sealed requests. It
// never leaves memory through this package: there is no method that
// returns its bytes.
type PrivateKey struct {
	priv *ecdh.PrivateKey
	hpke hpke.PrivateKey
	pub  *PublicKey
}

// GenerateKey returns a new random private key for kem.
func GenerateKey(kem KEM) (*PrivateKey, error) {
	c, err := kem.curve()
	if err != nil {
		return nil, err
	}
	priv, err := c.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("sealed: generate key: %w", err)
	}
	return newPrivateKey(kem, priv)
}

// NewPrivateKey returns the private key for kem with the raw scalar b (32
// bytes for both KEMs), for a key injected by the coordinator. The error
// does not contain b.
func NewPrivateKey(kem KEM, b []byte) (*PrivateKey, error) {
	c, err := kem.curve()
	if err != nil {
		return nil, err
	}
	priv, err := c.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s private key of %d bytes", ErrMalformed, kem, len(b))
	}
	return newPrivateKey(kem, priv)
}

func newPrivateKey(kem KEM, priv *ecdh.PrivateKey) (*PrivateKey, error) {
	hk, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	pub, err := newPublicKey(kem, priv.PublicKey())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{priv: priv, hpke: hk, pub: pub}, nil
}

// PublicKey returns the key's public half.
func (k *PrivateKey) PublicKey() *PublicKey { return k.pub }

// PublicJWK returns the public key as a JWK, for a token's claims.
func (k *PrivateKey) PublicJWK() []byte { return k.pub.JWK() }

// KeyID returns the public key's RFC 7638 SHA-256 thumbprint, base64url.
func (k *PrivateKey) KeyID() string { return k.pub.KeyID() }

// KEM returns the key's KEM.
func (k *PrivateKey) KEM() KEM { return k.pub.kem }

// NewPublicKey returns the public key for kem with the raw encoding b (32
// bytes for X25519, a 65-byte uncompressed point for P-256).
func NewPublicKey(kem KEM, b []byte) (*PublicKey, error) {
	c, err := kem.curve()
	if err != nil {
		return nil, err
	}
	pub, err := c.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key of %d bytes", ErrMalformed, kem, len(b))
	}
	return newPublicKey(kem, pub)
}

func newPublicKey(kem KEM, pub *ecdh.PublicKey) (*PublicKey, error) {
	hk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	k := &PublicKey{kem: kem, pub: pub, hpke: hk}
	k.keyID = sha256.Sum256(k.thumbprintInput())
	return k, nil
}

// KEM returns the key's KEM.
func (k *PublicKey) KEM() KEM { return k.kem }

// Bytes returns the raw public key (RFC 9180 SerializePublicKey).
func (k *PublicKey) Bytes() []byte { return k.pub.Bytes() }

// KeyID returns the RFC 7638 SHA-256 thumbprint of the key, base64url
// without padding: the JWK's kid.
func (k *PublicKey) KeyID() string { return b64.EncodeToString(k.keyID[:]) }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool {
	return o != nil && k.kem == o.kem && k.pub.Equal(o.pub)
}

var b64 = base64.RawURLEncoding

// coordinates returns the JWK members x and (for P-256) y.
func (k *PublicKey) coordinates() (x, y []byte) {
	raw := k.pub.Bytes()
	if k.kem == P256 {
		return raw[1:33], raw[33:65] // raw[0] is 0x04 (uncompressed)
	}
	return raw, nil
}

// thumbprintInput is the RFC 7638 §3.2 input: the required members only,
// in lexicographic order, no whitespace. Written out by hand rather than
// through a JSON library so the bytes another implementation must match
// are visible here.
func (k *PublicKey) thumbprintInput() []byte {
	x, y := k.coordinates()
	if k.kem == P256 {
		return []byte(`{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`)
	}
	return []byte(`{"crv":"X25519","kty":"OKP","x":"` + b64.EncodeToString(x) + `"}`)
}

// jwk is the JSON form of a public key: RFC 7517 with RFC 8037 for OKP.
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y,omitempty"`
	Use    string   `json:"use,omitempty"`
	Kid    string   `json:"kid,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
}

// JWK returns the key as a public JWK with use "enc" and its thumbprint as
// kid.
func (k *PublicKey) JWK() []byte {
	x, y := k.coordinates()
	j := jwk{Kty: "OKP", Crv: "X25519", X: b64.EncodeToString(x), Use: "enc", Kid: k.KeyID()}
	if k.kem == P256 {
		j.Kty, j.Crv, j.Y = "EC", "P-256", b64.EncodeToString(y)
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic("sealed: marshal jwk: " + err.Error()) // plain strings cannot fail
	}
	return b
}

// ParsePublicJWK parses a public JWK: kty "OKP" with crv "X25519", or kty
// "EC" with crv "P-256". It refuses a JWK with a private member ("d") or
// any member outside kty, crv, x, y, use, kid, alg, key_ops, a use other
// than "enc", and a kid that is not the key's thumbprint (a mislabelled key
// is a bug or an attack, never something to guess about).
func ParsePublicJWK(b []byte) (*PublicKey, error) {
	if len(b) > maxJWKSize {
		return nil, fmt.Errorf("%w: jwk of %d bytes (limit %d)", ErrTooLarge, len(b), maxJWKSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // "d" included: a private key must never be published
	var j jwk
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: jwk: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: jwk: trailing data", ErrMalformed)
	}
	if j.Use != "" && j.Use != "enc" {
		return nil, fmt.Errorf("%w: jwk use %q, want \"enc\"", ErrMalformed, clip(j.Use))
	}
	var kem KEM
	var raw []byte
	x, err := decodeCoord(j.X, "x")
	if err != nil {
		return nil, err
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "X25519":
		if j.Y != "" {
			return nil, fmt.Errorf("%w: jwk: y member on an X25519 key", ErrMalformed)
		}
		kem, raw = X25519, x
	case j.Kty == "EC" && j.Crv == "P-256":
		y, err := decodeCoord(j.Y, "y")
		if err != nil {
			return nil, err
		}
		kem, raw = P256, append(append([]byte{0x04}, x...), y...)
	default:
		return nil, fmt.Errorf("%w: jwk kty %q crv %q (want OKP X25519 or EC P-256)", ErrSuite, clip(j.Kty), clip(j.Crv))
	}
	k, err := NewPublicKey(kem, raw)
	if err != nil {
		return nil, err
	}
	if j.Kid != "" && j.Kid != k.KeyID() {
		return nil, fmt.Errorf("%w: jwk kid %q is not the key's thumbprint %q", ErrMalformed, clip(j.Kid), k.KeyID())
	}
	return k, nil
}

// decodeCoord decodes a 32-byte base64url coordinate.
func decodeCoord(s, name string) ([]byte, error) {
	v, err := b64.DecodeString(s)
	if err != nil || len(v) != 32 {
		return nil, fmt.Errorf("%w: jwk %s is not 32 bytes of base64url", ErrMalformed, name)
	}
	return v, nil
}

// clip shortens attacker-chosen text before it goes into an error.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
