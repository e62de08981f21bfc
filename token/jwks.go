package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// JWKS is where Verify finds the issuer's public keys: StaticJWKS (a set
// held in memory, e.g. read from a file) or *RemoteJWKS (fetched over HTTPS,
// cached, refreshed). The interface is sealed: the key source is the root of
// trust of every verification, so only these two implementations exist.
type JWKS interface {
	// lookup returns the key named kid, or an error wrapping ErrUnknownKey
	// (no such key) or ErrUnavailable (the set could not be obtained).
	lookup(ctx context.Context, kid string) (*verificationKey, error)
}

// verificationKey is one usable key of a JWKS.
type verificationKey struct {
	kid string
	alg Algorithm // the only algorithm the key verifies
	pub crypto.PublicKey
}

// keySet is a parsed JWKS: the usable keys by kid.
type keySet map[string]*verificationKey

// staticJWKS is a JWKS held in memory.
type staticJWKS struct{ keys keySet }

// StaticJWKS parses a JWK Set (RFC 7517 §5) for Verify. See parseJWKS for
// which keys are used.
func StaticJWKS(jwks []byte) (JWKS, error) {
	ks, err := parseJWKS(jwks)
	if err != nil {
		return nil, fmt.Errorf("token: jwks: %w", err)
	}
	return &staticJWKS{keys: ks}, nil
}

func (s *staticJWKS) lookup(_ context.Context, kid string) (*verificationKey, error) {
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return nil, refuse(ErrUnknownKey, "header.kid", "a key of the JWKS", kid)
}

// jwkMembers are the members of a JWK cofre reads before handing the key
// to jwx.
type jwkMembers struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	D      *string  `json:"d"`
}

// parseJWKS parses a JWK Set. The document must be at most maxJWKSSize
// bytes of strict JSON (no duplicate members) with a "keys" array of at most
// maxJWKSKeys objects. Of these keys it uses the EC P-256, EC P-384 and
// Ed25519 keys that have a kid, whose "use" (if any) is "sig", whose
// "key_ops" (if any) include "verify", and whose "alg" (if any) is the
// algorithm of their type; others (RSA, symmetric, encryption keys, other
// curves) are skipped, as RFC 7517 §5 allows. It refuses the whole set if a
// usable key does not parse, if any key carries private material (a
// publisher that leaks "d" has lost its key), or if two usable keys share a
// kid (selection would be ambiguous).
func parseJWKS(b []byte) (keySet, error) {
	if len(b) > maxJWKSSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), maxJWKSSize)
	}
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, errors.New(`no "keys" array`)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("%d keys, limit %d", len(set.Keys), maxJWKSKeys)
	}
	out := keySet{}
	for i, raw := range set.Keys {
		var m jwkMembers
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if m.D != nil {
			return nil, fmt.Errorf("key %d (kid %q) has private key material", i, clip(m.Kid))
		}
		if !usable(m) {
			continue
		}
		k, err := jwk.ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", clip(m.Kid), err)
		}
		var pub any
		if err := jwk.Export(k, &pub); err != nil {
			return nil, fmt.Errorf("key %q: %w", clip(m.Kid), err)
		}
		alg, err := algorithmOf(pub)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", clip(m.Kid), err)
		}
		if err := checkPoint(pub); err != nil {
			return nil, fmt.Errorf("key %q: %w", clip(m.Kid), err)
		}
		if m.Alg != "" && m.Alg != alg.String() {
			continue // declared for another algorithm: not for us
		}
		if _, dup := out[m.Kid]; dup {
			return nil, fmt.Errorf("two keys have kid %q", clip(m.Kid))
		}
		out[m.Kid] = &verificationKey{kid: m.Kid, alg: alg, pub: pub}
	}
	return out, nil
}

// usable says whether a JWK is one Verify could use, judging by its
// members.
func usable(m jwkMembers) bool {
	if m.Kid == "" || (m.Use != "" && m.Use != "sig") {
		return false
	}
	if m.KeyOps != nil {
		ok := false
		for _, op := range m.KeyOps {
			ok = ok || op == "verify"
		}
		if !ok {
			return false
		}
	}
	switch m.Kty {
	case "EC":
		return m.Crv == "P-256" || m.Crv == "P-384"
	case "OKP":
		return m.Crv == "Ed25519"
	}
	return false
}

// checkPoint refuses an EC public key that is not a point on its curve
// (crypto/ecdh checks when converting).
func checkPoint(pub any) error {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		if _, err := k.ECDH(); err != nil {
			return fmt.Errorf("invalid EC point: %w", err)
		}
	}
	if k, ok := pub.(ed25519.PublicKey); ok && len(k) != ed25519.PublicKeySize {
		return fmt.Errorf("ed25519 key is %d bytes", len(k))
	}
	return nil
}
