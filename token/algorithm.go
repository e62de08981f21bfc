package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// Algorithm is a token signing algorithm (RFC 7518 / RFC 8037 name). The
// zero value is invalid.
type Algorithm int

// Do not reorder: AlgInvalid must stay zero.
const (
	AlgInvalid Algorithm = iota
	// ES256 is ECDSA P-256 with SHA-256: the default, and what every
	// WebCrypto implementation verifies.
	ES256
	// ES384 is ECDSA P-384 with SHA-384.
	ES384
	// EdDSA is Ed25519 (RFC 8037).
	EdDSA
)

var algNames = [...]string{AlgInvalid: "invalid", ES256: "ES256", ES384: "ES384", EdDSA: "EdDSA"}

// defaultAlgorithms is the verification allowlist when
// Options.AllowedAlgorithms is empty.
var defaultAlgorithms = []Algorithm{ES256, ES384, EdDSA}

func (a Algorithm) String() string {
	if a <= AlgInvalid || int(a) >= len(algNames) {
		return fmt.Sprintf("Algorithm(%d)", int(a))
	}
	return algNames[a]
}

// ParseAlgorithm parses a JOSE algorithm name. Only the names of the
// algorithms cofre signs with are accepted; the match is exact, as JOSE
// names are case-sensitive.
func ParseAlgorithm(s string) (Algorithm, error) {
	for i, n := range algNames {
		if i != 0 && n == s {
			return Algorithm(i), nil
		}
	}
	return AlgInvalid, fmt.Errorf("token: unsupported algorithm %q (supported: ES256, ES384, EdDSA)", s)
}

func (a Algorithm) valid() bool { return a > AlgInvalid && int(a) < len(algNames) }

// MarshalText returns the JOSE name.
func (a Algorithm) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("token: invalid algorithm %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText parses a JOSE name.
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// jwa returns jwx's identifier of a.
func (a Algorithm) jwa() jwa.SignatureAlgorithm {
	switch a {
	case ES256:
		return jwa.ES256()
	case ES384:
		return jwa.ES384()
	case EdDSA:
		return jwa.EdDSA()
	}
	panic(fmt.Sprintf("token: jwa of invalid algorithm %d", int(a)))
}

// generateKey makes a fresh signing key for a from crypto/rand.
func generateKey(a Algorithm) (crypto.Signer, error) {
	switch a {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("token: invalid algorithm %v", a)
}

// algorithmOf returns the one algorithm a public key may be used with. Each
// key type maps to exactly one algorithm, so a token cannot make a key
// verify under an algorithm it was not made for (the key-confusion attacks
// against HS256 with an RSA or EC public key as the MAC secret).
func algorithmOf(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		}
		return AlgInvalid, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return AlgInvalid, fmt.Errorf("ed25519 key is %d bytes", len(k))
		}
		return EdDSA, nil
	}
	return AlgInvalid, fmt.Errorf("unsupported key type %T", pub)
}
