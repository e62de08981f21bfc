package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeySet holds an issuer's signing keys: one current key, which signs, and
// the keys it replaced, which stay in the published JWKS (for verification
// only) until they retire. Safe for concurrent use.
type KeySet struct {
	mu sync.RWMutex
	// keys is guarded by mu. keys[0] is the current key (retires is zero);
	// the others are older keys with a retirement time, newest first.
	keys []*signingKey
}

type signingKey struct {
	kid     string // RFC 7638 SHA-256 thumbprint of the public key, base64url
	alg     Algorithm
	priv    crypto.Signer
	jwk     json.RawMessage // public JWK with kid, alg and use
	created time.Time
	retires time.Time // zero for the current key
}

// NewKeySet makes a key set with one fresh key for alg, created at now.
func NewKeySet(alg Algorithm, now time.Time) (*KeySet, error) {
	k, err := newSigningKey(alg, now)
	if err != nil {
		return nil, err
	}
	return &KeySet{keys: []*signingKey{k}}, nil
}

func newSigningKey(alg Algorithm, now time.Time) (*signingKey, error) {
	if !alg.valid() {
		return nil, fmt.Errorf("token: new key: invalid algorithm %v", alg)
	}
	priv, err := generateKey(alg)
	if err != nil {
		return nil, fmt.Errorf("token: new key: %w", err)
	}
	return signingKeyOf(priv, now.UTC(), time.Time{})
}

// signingKeyOf derives a key's kid, algorithm and public JWK.
func signingKeyOf(priv crypto.Signer, created, retires time.Time) (*signingKey, error) {
	alg, err := algorithmOf(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("token: signing key: %w", err)
	}
	pub, err := jwk.Import(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("token: signing key: %w", err)
	}
	kid, err := thumbprint(pub)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg.jwa(), jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			return nil, fmt.Errorf("token: signing key: set %s: %w", k, err)
		}
	}
	b, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("token: signing key: %w", err)
	}
	return &signingKey{kid: kid, alg: alg, priv: priv, jwk: b, created: created, retires: retires}, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of k, base64url: the kid of
// every key cofre makes, so a kid names exactly one key.
func thumbprint(k jwk.Key) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("token: jwk thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Rotate makes a new current key for alg. The previous current key stays in
// the JWKS, for verification only, until now+overlap, so tokens it signed
// keep verifying until they expire: overlap should be at least the longest
// token lifetime plus the relying parties' JWKS cache time (RemoteJWKS
// MaxAge). An overlap of zero drops the previous key at once (a compromised
// key). Keys whose retirement has passed are forgotten.
func (ks *KeySet) Rotate(alg Algorithm, now time.Time, overlap time.Duration) error {
	return ks.RotateIf(alg, now, overlap, nil)
}

// RotateIf is Rotate with a last word: it makes the new key, calls approve
// with its kid and installs the key only if approve returns nil (approve's
// error is returned, wrapped). A service uses it to record the rotation
// (an audit log) before it happens, so that no key signs unrecorded. A nil
// approve approves. Concurrent RotateIf calls install in the order their
// approve calls return; callers that care serialize them.
func (ks *KeySet) RotateIf(alg Algorithm, now time.Time, overlap time.Duration, approve func(kid string) error) error {
	if overlap < 0 {
		return fmt.Errorf("token: rotate: negative overlap %v", overlap)
	}
	k, err := newSigningKey(alg, now)
	if err != nil {
		return err
	}
	if approve != nil {
		if err := approve(k.kid); err != nil {
			return fmt.Errorf("token: rotate: not approved: %w", err)
		}
	}
	now = now.UTC()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	keys := []*signingKey{k}
	for i, old := range ks.keys {
		if i == 0 {
			old.retires = now.Add(overlap)
		}
		if now.Before(old.retires) {
			keys = append(keys, old)
		}
	}
	ks.keys = keys
	return nil
}

// Current returns the kid and algorithm of the key that signs.
func (ks *KeySet) Current() (kid string, alg Algorithm) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[0].kid, ks.keys[0].alg
}

// current returns the signing key.
func (ks *KeySet) current() *signingKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[0]
}

// JWKS returns the public JWK Set, as JSON: the current key and every older
// key not yet retired at now, current first. Each key carries kid, alg and
// "use": "sig".
func (ks *KeySet) JWKS(now time.Time) ([]byte, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for _, k := range ks.keys {
		if k.retires.IsZero() || now.Before(k.retires) {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	return json.Marshal(set)
}

// keySetFile is the serialized form of a KeySet. Version 1; the first key
// is the current one.
type keySetFile struct {
	Version int           `json:"version"`
	Keys    []keySetEntry `json:"keys"`
}

type keySetEntry struct {
	Kid     string    `json:"kid"`
	Alg     Algorithm `json:"alg"`
	PKCS8   []byte    `json:"pkcs8"` // PKCS #8 DER private key (base64 in JSON)
	Created time.Time `json:"created"`
	Retires time.Time `json:"retires,omitzero"`
}

const keySetVersion = 1

// MarshalBinary serializes the key set, private keys included, as JSON. The
// result is plaintext secret material: the caller must seal it (encrypt
// and authenticate) before it reaches a disk.
func (ks *KeySet) MarshalBinary() ([]byte, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	f := keySetFile{Version: keySetVersion}
	for _, k := range ks.keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, fmt.Errorf("token: marshal key %s: %w", k.kid, err)
		}
		f.Keys = append(f.Keys, keySetEntry{Kid: k.kid, Alg: k.alg, PKCS8: der, Created: k.created, Retires: k.retires})
	}
	return json.Marshal(f)
}

// UnmarshalKeySet parses what MarshalBinary produced. It checks that each
// kid is its key's thumbprint and each algorithm its key's, that the first
// key is current and the others have a retirement time, and that no kid
// repeats.
func UnmarshalKeySet(b []byte) (*KeySet, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f keySetFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("token: key set: %w", err)
	}
	if dec.More() {
		return nil, errors.New("token: key set: trailing data")
	}
	if f.Version != keySetVersion {
		return nil, fmt.Errorf("token: key set: version %d, want %d", f.Version, keySetVersion)
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("token: key set: no keys")
	}
	ks := &KeySet{}
	seen := map[string]bool{}
	for i, e := range f.Keys {
		p, err := x509.ParsePKCS8PrivateKey(e.PKCS8)
		if err != nil {
			return nil, fmt.Errorf("token: key set: key %d: %w", i, err)
		}
		var priv crypto.Signer
		switch p := p.(type) {
		case *ecdsa.PrivateKey:
			priv = p
		case ed25519.PrivateKey:
			priv = p
		default:
			return nil, fmt.Errorf("token: key set: key %d: unsupported key type %T", i, p)
		}
		k, err := signingKeyOf(priv, e.Created, e.Retires)
		if err != nil {
			return nil, fmt.Errorf("token: key set: key %d: %w", i, err)
		}
		switch {
		case k.kid != e.Kid:
			return nil, fmt.Errorf("token: key set: key %d: kid %q is not the key's thumbprint %q", i, e.Kid, k.kid)
		case k.alg != e.Alg:
			return nil, fmt.Errorf("token: key set: key %d: alg %v, but the key is for %v", i, e.Alg, k.alg)
		case seen[k.kid]:
			return nil, fmt.Errorf("token: key set: kid %q repeats", k.kid)
		case i == 0 && !e.Retires.IsZero():
			return nil, errors.New("token: key set: the first (current) key has a retirement time")
		case i > 0 && e.Retires.IsZero():
			return nil, fmt.Errorf("token: key set: key %d is not current but has no retirement time", i)
		}
		seen[k.kid] = true
		ks.keys = append(ks.keys, k)
	}
	return ks, nil
}
