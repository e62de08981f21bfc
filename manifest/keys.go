package manifest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// parsePublicKeyPEM parses exactly one PEM "PUBLIC KEY" block (PKIX) and
// nothing else but whitespace: a second block or trailing text would be
// something the reviewer saw and the coordinator ignored.
func parsePublicKeyPEM(s string) (pub any, der []byte, err error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, nil, errors.New("not a PEM block")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\"", block.Type)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, nil, errors.New("text after the PEM block")
	}
	pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, nil, errors.New("not a valid PKIX public key")
	}
	return pub, block.Bytes, nil
}

// ownerKey parses an owner's key: ECDSA P-256 or P-384, or Ed25519, the
// keys Sign and VerifySignatures support.
func ownerKey(s string) (any, []byte, error) {
	pub, der, err := parsePublicKeyPEM(s)
	if err != nil {
		return nil, nil, err
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, nil, fmt.Errorf("ECDSA curve %s is not supported (P-256, P-384)", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, nil, fmt.Errorf("%s keys are not supported (ECDSA P-256, P-384, Ed25519)", keyKind(pub))
	}
	return pub, der, nil
}

// recoveryKey parses a recovery key: a key agreement key the coordinator
// wraps a share to (ECDH on P-256, P-384 or X25519).
func recoveryKey(s string) (any, []byte, error) {
	pub, der, err := parsePublicKeyPEM(s)
	if err != nil {
		return nil, nil, err
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, nil, fmt.Errorf("ECDSA curve %s is not supported (P-256, P-384, X25519)", k.Curve.Params().Name)
		}
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			return nil, nil, errors.New("ECDH curve is not supported (P-256, P-384, X25519)")
		}
	default:
		return nil, nil, fmt.Errorf("%s keys are not supported (P-256, P-384, X25519)", keyKind(pub))
	}
	return pub, der, nil
}

func keyKind(pub any) string {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		return "ECDH"
	case *rsa.PublicKey:
		return "RSA"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", pub), "*")
}

// parseCertificatePEM parses exactly one PEM "CERTIFICATE" block.
func parseCertificatePEM(s string) (*x509.Certificate, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not a PEM block")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("PEM block is %q, want \"CERTIFICATE\"", block.Type)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("text after the PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errors.New("not a valid X.509 certificate")
	}
	return c, nil
}
