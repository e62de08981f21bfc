package maa

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// jwk is one key of an MAA JWKS, parsed but not yet judged usable: the
// checks that depend on which key a token names (type, size, validity) are
// made by (*Verifier).signingKey.
type jwk struct {
	Kid string
	Kty string
	Alg string
	Use string
	// X5C holds the parsed x5c chain, leaf first; nil without x5c.
	X5C []*x509.Certificate
	// N and E are the RSA public key from "n"/"e"; nil without them.
	N *big.Int
	E *big.Int
}

// rawJWK is a JWKS key's wire form. Members other than these are ignored,
// as RFC 7517 requires.
type rawJWK struct {
	Kid *string  `json:"kid"`
	Kty *string  `json:"kty"`
	Alg *string  `json:"alg"`
	Use *string  `json:"use"`
	X5C []string `json:"x5c"`
	N   *string  `json:"n"`
	E   *string  `json:"e"`
}

// parseJWKS parses a JSON Web Key Set as MAA's /certs endpoint serves it:
// keys that carry an x5c certificate chain (standard base64 DER, leaf first),
// and sometimes the RSA "n"/"e" members as well. A key without a kid cannot
// be selected and is skipped; two keys with one kid make selection ambiguous
// and are refused. Errors are plain: the caller classifies them as collateral
// failures.
func parseJWKS(b []byte) (map[string]*jwk, error) {
	if len(b) > maxJWKSSize {
		return nil, fmt.Errorf("jwks is %d bytes, limit %d", len(b), maxJWKSSize)
	}
	if _, err := parseObject(b); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`jwks has no "keys" array`)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwks has %d keys, limit %d", len(set.Keys), maxJWKSKeys)
	}
	out := make(map[string]*jwk, len(set.Keys))
	for i, raw := range set.Keys {
		var r rawJWK
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("jwks key %d: %w", i, err)
		}
		if r.Kid == nil || *r.Kid == "" {
			continue
		}
		k, err := r.parse()
		if err != nil {
			return nil, fmt.Errorf("jwks key %q: %w", *r.Kid, err)
		}
		if _, dup := out[k.Kid]; dup {
			return nil, fmt.Errorf("jwks has two keys with kid %q", k.Kid)
		}
		out[k.Kid] = k
	}
	return out, nil
}

func (r rawJWK) parse() (*jwk, error) {
	k := &jwk{Kid: *r.Kid}
	if r.Kty == nil {
		return nil, errors.New(`no "kty"`)
	}
	k.Kty = *r.Kty
	if r.Alg != nil {
		k.Alg = *r.Alg
	}
	if r.Use != nil {
		k.Use = *r.Use
	}
	if len(r.X5C) > maxX5CLength {
		return nil, fmt.Errorf("x5c has %d certificates, limit %d", len(r.X5C), maxX5CLength)
	}
	for i, s := range r.X5C {
		// RFC 7517 §4.7: x5c members are base64 (not base64url) DER.
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		k.X5C = append(k.X5C, c)
	}
	if (r.N == nil) != (r.E == nil) {
		return nil, errors.New(`"n" and "e" must come together`)
	}
	if r.N != nil {
		n, err := decodeBigInt(*r.N)
		if err != nil {
			return nil, fmt.Errorf(`"n": %w`, err)
		}
		e, err := decodeBigInt(*r.E)
		if err != nil {
			return nil, fmt.Errorf(`"e": %w`, err)
		}
		k.N, k.E = n, e
	}
	return k, nil
}

// decodeBigInt decodes an RFC 7518 Base64urlUInt. Some JWKS producers pad
// it, so both forms are accepted; the value must not be empty.
func decodeBigInt(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		var err2 error
		if b, err2 = base64.URLEncoding.DecodeString(s); err2 != nil {
			return nil, err
		}
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	if len(b) > maxRSABits/8+1 {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), maxRSABits/8+1)
	}
	return new(big.Int).SetBytes(b), nil
}

// publicKey returns the key's RSA public key: from the x5c leaf, from n/e,
// or from both when they agree. It checks the key type, the declared
// algorithm and use, and the key size; the certificate's validity period is
// checked by the caller, which knows the time.
func (k *jwk) publicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("kty is %q, want RSA", k.Kty)
	}
	if k.Alg != "" && k.Alg != "RS256" {
		return nil, fmt.Errorf("alg is %q, want RS256", k.Alg)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("use is %q, want sig", k.Use)
	}
	var fromCert, fromNE *rsa.PublicKey
	if len(k.X5C) > 0 {
		p, ok := k.X5C[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("x5c leaf key is %T, want RSA", k.X5C[0].PublicKey)
		}
		fromCert = p
	}
	if k.N != nil {
		if !k.E.IsInt64() || k.E.Int64() < 3 || k.E.Int64() > 1<<31-1 || k.E.Bit(0) == 0 {
			return nil, fmt.Errorf("exponent %v out of range", k.E)
		}
		fromNE = &rsa.PublicKey{N: k.N, E: int(k.E.Int64())}
	}
	var pub *rsa.PublicKey
	switch {
	case fromCert != nil && fromNE != nil:
		if !fromCert.Equal(fromNE) {
			return nil, errors.New("n/e differ from the x5c certificate's key")
		}
		pub = fromCert
	case fromCert != nil:
		pub = fromCert
	case fromNE != nil:
		pub = fromNE
	default:
		return nil, errors.New("neither x5c nor n/e")
	}
	if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA key is %d bits, want %d..%d", bits, minRSABits, maxRSABits)
	}
	return pub, nil
}
