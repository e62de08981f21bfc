package secrets

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cofre-cc/cofre/manifest"
)

// Value is a secret's value. Which fields are set depends on Kind:
//   - symmetric, ascii, explicit, uploaded, parquet-master-key: Bytes;
//   - private-key: Key;
//   - x509-ca: Key and Cert (self-signed);
//   - x509: Key, Cert and Chain.
type Value struct {
	Kind manifest.SecretKind
	// Bytes is the value of a byte secret (for ascii, the characters).
	Bytes []byte
	// Key is an *ecdsa.PrivateKey (P-256, P-384), ed25519.PrivateKey or
	// *rsa.PrivateKey (2048 to 8192 bits).
	Key crypto.Signer
	// Cert is the certificate of Key.
	Cert *x509.Certificate
	// Chain is Cert's issuer chain, leaf excluded, up to and including
	// the self-signed root.
	Chain []*x509.Certificate
}

// wireVersion is the only format version UnmarshalValue accepts. A change
// of format gets a new number; old values are converted by the store.
const wireVersion = 1

// wireValue is the stored form: DER and PKCS #8 inside JSON (base64).
type wireValue struct {
	Version int      `json:"version"`
	Kind    string   `json:"kind"`
	Bytes   []byte   `json:"bytes,omitempty"`
	Key     []byte   `json:"key,omitempty"`   // PKCS #8 DER
	Cert    []byte   `json:"cert,omitempty"`  // DER
	Chain   [][]byte `json:"chain,omitempty"` // DER, issuer first
}

// Marshal encodes v as JSON:
// {"version":1,"kind":…,"bytes":…,"key":…,"cert":…,"chain":[…]}, with
// Bytes, the PKCS #8 key and DER certificates in base64. The output holds
// the secret in plaintext: the caller seals it and zeroes it after use.
func (v *Value) Marshal() ([]byte, error) {
	if err := v.check(); err != nil {
		return nil, fmt.Errorf("secrets: marshal %s: %w", v.Kind, err)
	}
	w := wireValue{Version: wireVersion, Kind: string(v.Kind), Bytes: v.Bytes}
	if v.Key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(v.Key)
		if err != nil {
			return nil, fmt.Errorf("secrets: marshal %s: %w: %T", v.Kind, ErrMalformed, v.Key)
		}
		defer clear(der)
		w.Key = der
	}
	if v.Cert != nil {
		w.Cert = v.Cert.Raw
	}
	for _, c := range v.Chain {
		w.Chain = append(w.Chain, c.Raw)
	}
	out, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("secrets: marshal %s: %w", v.Kind, err)
	}
	return out, nil
}

// UnmarshalValue decodes Marshal's output strictly: one JSON object with
// version 1, a known kind, exactly the fields the kind has, no unknown,
// duplicate or case-variant member names, no null, nothing after it; keys
// of the supported types that match their certificates. Errors wrap
// ErrMalformed and never quote the input.
func UnmarshalValue(data []byte) (*Value, error) {
	v, err := unmarshalValue(data)
	if err != nil {
		return nil, fmt.Errorf("secrets: unmarshal: %w: %s", ErrMalformed, err)
	}
	return v, nil
}

func unmarshalValue(data []byte) (*Value, error) {
	if len(data) > maxMarshaled {
		return nil, fmt.Errorf("longer than %d bytes", maxMarshaled)
	}
	var w wireValue
	if err := decodeStrict(data, &w); err != nil {
		return nil, err
	}
	defer clear(w.Key)
	if w.Version != wireVersion {
		return nil, fmt.Errorf("version %d, want %d", w.Version, wireVersion)
	}
	v := &Value{Kind: manifest.SecretKind(w.Kind), Bytes: w.Bytes}
	if w.Key != nil {
		k, err := x509.ParsePKCS8PrivateKey(w.Key)
		if err != nil {
			return nil, errors.New("key does not parse")
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key of type %T", k)
		}
		v.Key = s
	}
	if w.Cert != nil {
		c, err := x509.ParseCertificate(w.Cert)
		if err != nil {
			return nil, errors.New("certificate does not parse")
		}
		v.Cert = c
	}
	if len(w.Chain) > maxChain {
		return nil, fmt.Errorf("chain of %d certificates, at most %d", len(w.Chain), maxChain)
	}
	for i, der := range w.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("chain certificate %d does not parse", i)
		}
		v.Chain = append(v.Chain, c)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeStrict decodes one JSON object into w, refusing unknown,
// duplicate and case-variant member names, null members and trailing
// data: encoding/json alone accepts all of them.
func decodeStrict(data []byte, w *wireValue) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New("bad JSON")
		}
		name, _ := tok.(string)
		var dst any
		switch name {
		case "version":
			dst = &w.Version
		case "kind":
			dst = &w.Kind
		case "bytes":
			dst = &w.Bytes
		case "key":
			dst = &w.Key
		case "cert":
			dst = &w.Cert
		case "chain":
			dst = &w.Chain
		default:
			return fmt.Errorf("unknown member (%d bytes)", len(name))
		}
		if seen[name] {
			return fmt.Errorf("duplicate member %q", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errors.New("bad JSON")
		}
		if string(raw) == "null" {
			return fmt.Errorf("member %q is null", name)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			// The value may be a secret: name the member only.
			return fmt.Errorf("member %q has the wrong type", name)
		}
		if c, ok := dst.(*[][]byte); ok {
			for _, der := range *c {
				if der == nil {
					return fmt.Errorf("member %q holds null", name)
				}
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return errors.New("bad JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the object")
	}
	if !seen["version"] || !seen["kind"] {
		return errors.New("version or kind missing")
	}
	return nil
}

// check verifies that v's fields fit its kind.
func (v *Value) check() error {
	hasBytes, hasKey, hasCert := v.Bytes != nil, v.Key != nil, v.Cert != nil || len(v.Chain) > 0
	switch v.Kind {
	case manifest.KindSymmetric, manifest.KindASCII, manifest.KindExplicit, manifest.KindUploaded, manifest.KindParquetMasterKey:
		if hasKey || hasCert {
			return fmt.Errorf("%s value with a key or certificate", v.Kind)
		}
		if v.Kind == manifest.KindParquetMasterKey && !validAESKeySize(len(v.Bytes)) {
			return fmt.Errorf("%s of %d bytes, want 16, 24 or 32", v.Kind, len(v.Bytes))
		}
		if (v.Kind == manifest.KindSymmetric || v.Kind == manifest.KindASCII) && len(v.Bytes) == 0 {
			return fmt.Errorf("empty %s value", v.Kind)
		}
		return nil
	case manifest.KindPrivateKey:
		if hasBytes || hasCert || !hasKey {
			return fmt.Errorf("%s value must hold a key only", v.Kind)
		}
		return checkSigner(v.Key)
	case manifest.KindX509, manifest.KindX509CA:
		if hasBytes || !hasKey || v.Cert == nil {
			return fmt.Errorf("%s value must hold a key and a certificate", v.Kind)
		}
		if err := checkSigner(v.Key); err != nil {
			return err
		}
		if len(v.Chain) > maxChain {
			return fmt.Errorf("chain of %d certificates, at most %d", len(v.Chain), maxChain)
		}
		if !publicKeysEqual(v.Key.Public(), v.Cert.PublicKey) {
			return errors.New("key does not match the certificate")
		}
		if isCA := v.Kind == manifest.KindX509CA; v.Cert.IsCA != isCA {
			return fmt.Errorf("%s certificate with IsCA %v", v.Kind, v.Cert.IsCA)
		}
		for i, c := range v.Chain {
			if c == nil {
				return fmt.Errorf("chain certificate %d missing", i)
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: %q", ErrKind, clip(string(v.Kind)))
	}
}

// checkSigner accepts the key types Generate makes, and RSA up to 8192
// bits (larger keys make every signature slow).
func checkSigner(k crypto.Signer) error {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
	case ed25519.PrivateKey:
		if len(k) == ed25519.PrivateKeySize {
			return nil
		}
	case *rsa.PrivateKey:
		if b := k.N.BitLen(); b >= 2048 && b <= 8192 {
			return nil
		}
	}
	return fmt.Errorf("%w: %T", ErrKeyType, k)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func validAESKeySize(n int) bool { return n == 16 || n == 24 || n == 32 }

// Zero overwrites what it can of the secret and drops the references:
// Bytes, an Ed25519 key, an RSA key's private values. It is best effort:
// Go keeps its own copy of an ECDSA scalar (and precomputed RSA values)
// that no API clears, and the garbage collector may have copied any of
// them. v must not be used afterwards.
func (v *Value) Zero() {
	clear(v.Bytes)
	v.Bytes = nil
	switch k := v.Key.(type) {
	case ed25519.PrivateKey:
		clear(k)
	case *rsa.PrivateKey:
		if k.D != nil {
			clear(k.D.Bits())
		}
		for _, p := range k.Primes {
			if p != nil {
				clear(p.Bits())
			}
		}
	}
	v.Key = nil
}

// clip bounds a string taken from a manifest or stored data before it
// goes into an error.
func clip(s string) string {
	const maxShown = 64
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "…"
}
