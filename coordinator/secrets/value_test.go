package secrets

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/manifest"
)

func TestMarshalRoundTrip(t *testing.T) {
	_, in := testCA(t)
	ca := mustGenerate(t, "ca", manifest.Secret{Kind: manifest.KindX509CA}, nil, nil)
	lookup := issuers(map[string]*Value{"ca": ca})
	values := map[string]*Value{
		"symmetric":   mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindSymmetric}, nil, nil),
		"ascii":       mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindASCII}, nil, nil),
		"explicit":    mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindExplicit, Value: "v"}, nil, nil),
		"empty expl.": mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindExplicit}, nil, nil),
		"uploaded":    {Kind: manifest.KindUploaded, Bytes: []byte("up")},
		"parquet":     mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindParquetMasterKey}, nil, nil),
		"private-key": mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "ed25519"}, nil, nil),
		"x509-ca":     ca,
		"x509":        mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca"}, lookup, nil),
		"x509 coord.": mustGenerate(t, "s", manifest.Secret{Kind: manifest.KindX509, KeyType: "ecdsa-p384"}, nil, in),
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			data, err := v.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalValue(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != v.Kind || !bytes.Equal(got.Bytes, v.Bytes) || len(got.Chain) != len(v.Chain) {
				t.Fatalf("round trip changed the value")
			}
			if v.Cert != nil && !got.Cert.Equal(v.Cert) {
				t.Fatal("certificate changed")
			}
			for i := range v.Chain {
				if !got.Chain[i].Equal(v.Chain[i]) {
					t.Fatalf("chain %d changed", i)
				}
			}
			if v.Key != nil && !publicKeysEqual(got.Key.Public(), v.Key.Public()) {
				t.Fatal("key changed")
			}
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Fatal("Marshal(UnmarshalValue(x)) != x")
			}
		})
	}
}

func TestUnmarshalValueMalformed(t *testing.T) {
	ca := mustGenerate(t, "ca", manifest.Secret{Kind: manifest.KindX509CA}, nil, nil)
	leaf := mustGenerate(t, "leaf", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca"}, issuers(map[string]*Value{"ca": ca}), nil)
	key := mustGenerate(t, "k", manifest.Secret{Kind: manifest.KindPrivateKey}, nil, nil)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	pkcs8 := func(k any) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b64(der)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	keyB64 := pkcs8(key.Key)
	caCert, leafCert := b64(ca.Cert.Raw), b64(leaf.Cert.Raw)

	tests := map[string]string{
		"empty":                  ``,
		"not an object":          `[]`,
		"trailing data":          `{"version":1,"kind":"symmetric","bytes":"AAAAAAAAAAAAAAAAAAAAAA=="} {}`,
		"trailing garbage":       `{"version":1,"kind":"symmetric","bytes":"AAAAAAAAAAAAAAAAAAAAAA=="}x`,
		"unknown member":         `{"version":1,"kind":"symmetric","bytes":"AA==","extra":1}`,
		"case variant":           `{"version":1,"Kind":"symmetric","bytes":"AA=="}`,
		"duplicate":              `{"version":1,"kind":"symmetric","kind":"ascii","bytes":"AA=="}`,
		"null":                   `{"version":1,"kind":"symmetric","bytes":null}`,
		"null in chain":          `{"version":1,"kind":"x509","key":"` + pkcs8(leaf.Key) + `","cert":"` + leafCert + `","chain":[null]}`,
		"no version":             `{"kind":"symmetric","bytes":"AA=="}`,
		"version 2":              `{"version":2,"kind":"symmetric","bytes":"AA=="}`,
		"no kind":                `{"version":1,"bytes":"AA=="}`,
		"unknown kind":           `{"version":1,"kind":"magic","bytes":"AA=="}`,
		"bytes not base64":       `{"version":1,"kind":"symmetric","bytes":"!!"}`,
		"bytes a number":         `{"version":1,"kind":"symmetric","bytes":5}`,
		"empty symmetric":        `{"version":1,"kind":"symmetric"}`,
		"parquet of 20":          `{"version":1,"kind":"parquet-master-key","bytes":"` + b64(make([]byte, 20)) + `"}`,
		"bytes with a key":       `{"version":1,"kind":"symmetric","bytes":"AA==","key":"` + keyB64 + `"}`,
		"private-key no key":     `{"version":1,"kind":"private-key"}`,
		"private-key with bytes": `{"version":1,"kind":"private-key","bytes":"AA==","key":"` + keyB64 + `"}`,
		"private-key with cert":  `{"version":1,"kind":"private-key","key":"` + pkcs8(ca.Key) + `","cert":"` + caCert + `"}`,
		"key garbage":            `{"version":1,"kind":"private-key","key":"AAAA"}`,
		"key P-224":              `{"version":1,"kind":"private-key","key":"` + pkcs8(p224) + `"}`,
		"key RSA-1024":           `{"version":1,"kind":"private-key","key":"` + pkcs8(rsa1024) + `"}`,
		"x509 without cert":      `{"version":1,"kind":"x509","key":"` + keyB64 + `"}`,
		"x509 key mismatch":      `{"version":1,"kind":"x509","key":"` + keyB64 + `","cert":"` + leafCert + `"}`,
		"x509 with a CA cert":    `{"version":1,"kind":"x509","key":"` + pkcs8(ca.Key) + `","cert":"` + caCert + `"}`,
		"x509-ca with leaf cert": `{"version":1,"kind":"x509-ca","key":"` + pkcs8(leaf.Key) + `","cert":"` + leafCert + `"}`,
		"cert garbage":           `{"version":1,"kind":"x509-ca","key":"` + pkcs8(ca.Key) + `","cert":"AAAA"}`,
		"chain garbage":          `{"version":1,"kind":"x509","key":"` + pkcs8(leaf.Key) + `","cert":"` + leafCert + `","chain":["AAAA"]}`,
		"chain too long":         `{"version":1,"kind":"x509","key":"` + pkcs8(leaf.Key) + `","cert":"` + leafCert + `","chain":[` + strings.Repeat(`"`+caCert+`",`, maxChain) + `"` + caCert + `"]}`,
		"oversized":              `{"version":1,"kind":"uploaded","bytes":"` + strings.Repeat("A", maxMarshaled) + `"}`,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := UnmarshalValue([]byte(data))
			wantErr(t, err, ErrMalformed)
		})
	}
}

func TestUnmarshalErrorHidesValue(t *testing.T) {
	const secret = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw"
	for _, data := range []string{
		`{"version":1,"kind":"symmetric","bytes":"` + secret + `!"}`,
		`{"version":1,"kind":"symmetric","` + secret + `":1}`,
		`{"version":1,"kind":"private-key","key":"` + secret + `=="}`,
	} {
		_, err := UnmarshalValue([]byte(data))
		wantErr(t, err, ErrMalformed)
		if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}

func TestMarshalInvalid(t *testing.T) {
	for name, v := range map[string]*Value{
		"unknown kind":       {Kind: "magic"},
		"x509 without a key": {Kind: manifest.KindX509},
		"empty symmetric":    {Kind: manifest.KindSymmetric},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Marshal(); err == nil {
				t.Fatal("Marshal accepted an invalid value")
			}
		})
	}
}

func TestZero(t *testing.T) {
	for _, s := range []manifest.Secret{
		{Kind: manifest.KindSymmetric},
		{Kind: manifest.KindPrivateKey, KeyType: "ed25519"},
		{Kind: manifest.KindPrivateKey, KeyType: "rsa-2048"},
		{Kind: manifest.KindPrivateKey},
	} {
		t.Run(s.KeyType, func(t *testing.T) {
			v := mustGenerate(t, "s", s, nil, nil)
			b, key := v.Bytes, v.Key
			v.Zero()
			if v.Bytes != nil || v.Key != nil {
				t.Fatal("references kept")
			}
			if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
				t.Error("bytes not zeroed")
			}
			switch k := key.(type) {
			case ed25519.PrivateKey:
				if bytes.ContainsFunc(k, func(r rune) bool { return r != 0 }) {
					t.Error("Ed25519 key not zeroed")
				}
			case *rsa.PrivateKey:
				for _, w := range k.D.Bits() {
					if w != 0 {
						t.Fatal("RSA D not zeroed")
					}
				}
			}
		})
	}
}
