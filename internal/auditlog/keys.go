package auditlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
)

// Domain separation: a line signature can never be taken for a head
// signature, nor either for a signature the same key makes elsewhere (an
// EAR token, a certificate), because each signs SHA-256 of its own prefix
// followed by its message.
const (
	lineDomain = "cofre auditlog line v1\x00"
	headDomain = "cofre auditlog head v1\x00"
)

// p256SigLen is the length of an ECDSA P-256 signature as lines carry it:
// r ‖ s, 32 bytes each, as in JWS ES256 (RFC 7518 §3.4). A fixed-length
// encoding keeps lines free of ASN.1.
const p256SigLen = 64

// KeyID returns the key's RFC 7638 JWK thumbprint (SHA-256, base64url),
// the value lines carry in sig_kid. It matches the kid a JWKS computes for
// the same key, so a coordinator can publish its audit key in one.
func KeyID(pub crypto.PublicKey) (string, error) {
	var members string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", ErrUnsupportedKey
		}
		members = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(k) + `"}`
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return "", ErrUnsupportedKey
		}
		pt, err := k.Bytes() // 0x04 ‖ X ‖ Y
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
		}
		members = `{"crv":"P-256","kty":"EC","x":"` + b64(pt[1:33]) + `","y":"` + b64(pt[33:]) + `"}`
	default:
		return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	sum := sha256.Sum256([]byte(members))
	return b64(sum[:]), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// digest is what gets signed: SHA-256(domain ‖ msg).
func digest(domain string, msg []byte) []byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(msg)
	return h.Sum(nil)
}

// sign signs d (a digest) with s, an Ed25519 or ECDSA P-256 signer whose
// key KeyID accepted. Ed25519 signs the 32 bytes as its message.
func sign(s crypto.Signer, d []byte) ([]byte, error) {
	switch s.Public().(type) {
	case ed25519.PublicKey:
		return s.Sign(rand.Reader, d, crypto.Hash(0))
	case *ecdsa.PublicKey:
		der, err := s.Sign(rand.Reader, d, crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var rs struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(der, &rs)
		if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
			return nil, fmt.Errorf("auditlog: the signer returned a malformed ECDSA signature")
		}
		out := make([]byte, p256SigLen)
		rs.R.FillBytes(out[:32])
		rs.S.FillBytes(out[32:])
		return out, nil
	default:
		return nil, ErrUnsupportedKey
	}
}

// verifySig reports whether sig is pub's signature of d.
//
// ECDSA signatures are malleable: (r, n-s) verifies as well as (r, s).
// That lets someone without the key change a line's bytes but not its
// content, and the changed bytes change the line's hash: the next line's
// prev, or the head kept elsewhere, no longer matches. So low-s is not
// enforced.
func verifySig(pub crypto.PublicKey, d, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, d, sig)
	case *ecdsa.PublicKey:
		if len(sig) != p256SigLen {
			return false
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, d, r, s)
	}
	return false
}

// keyring maps key IDs to public keys.
type keyring map[string]crypto.PublicKey

func newKeyring(keys []crypto.PublicKey) (keyring, error) {
	kr := make(keyring, len(keys))
	for i, k := range keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, fmt.Errorf("auditlog: public key %d: %w", i, err)
		}
		kr[kid] = k
	}
	return kr, nil
}
