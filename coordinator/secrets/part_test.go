package secrets

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/manifest"
)

func TestPartBytes(t *testing.T) {
	v := &Value{Kind: manifest.KindSymmetric, Bytes: []byte{0xde, 0xad, 0xbe, 0xef}}
	for part, want := range map[string]string{
		"":       "\xde\xad\xbe\xef",
		"raw":    "\xde\xad\xbe\xef",
		"hex":    "deadbeef",
		"base64": "3q2+7w==",
	} {
		got, err := v.Part(part)
		if err != nil {
			t.Fatalf("%q: %v", part, err)
		}
		if string(got) != want {
			t.Errorf("%q = %q, want %q", part, got, want)
		}
	}
	// The result is a copy: zeroing it leaves the value intact.
	raw, _ := v.Part("raw")
	clear(raw)
	if v.Bytes[0] != 0xde {
		t.Fatal("Part aliases Bytes")
	}
}

func TestPartKeysAndCerts(t *testing.T) {
	_, in := testCA(t)
	leaf := mustGenerate(t, "leaf", manifest.Secret{Kind: manifest.KindX509}, nil, in)
	key := mustGenerate(t, "key", manifest.Secret{Kind: manifest.KindPrivateKey}, nil, nil)

	t.Run("chain-pem", func(t *testing.T) {
		got, err := leaf.Part("chain-pem")
		if err != nil {
			t.Fatal(err)
		}
		var certs []*x509.Certificate
		for rest := got; len(rest) > 0; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil || b.Type != "CERTIFICATE" {
				t.Fatal("not a PEM certificate list")
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, c)
		}
		if len(certs) != 3 || !certs[0].Equal(leaf.Cert) || !certs[1].Equal(leaf.Chain[0]) || !certs[2].Equal(leaf.Chain[1]) {
			t.Fatalf("chain of %d", len(certs))
		}
	})
	t.Run("key-pem", func(t *testing.T) {
		for _, v := range []*Value{leaf, key} {
			got, err := v.Part("key-pem")
			if err != nil {
				t.Fatal(err)
			}
			b, rest := pem.Decode(got)
			if b == nil || b.Type != "PRIVATE KEY" || len(rest) != 0 {
				t.Fatal("not one PEM private key")
			}
			der, err := v.Part("key-der")
			if err != nil || !bytes.Equal(der, b.Bytes) {
				t.Fatal("key-der differs from key-pem")
			}
			k, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil || !publicKeysEqual(v.Key.Public(), k.(crypto.Signer).Public()) {
				t.Fatal("wrong key")
			}
		}
	})
	t.Run("public-pem", func(t *testing.T) {
		got, err := key.Part("public-pem")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(got)
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil || !publicKeysEqual(key.Key.Public(), pub) {
			t.Fatal("wrong public key")
		}
	})
	t.Run("cert-der and cert-pem", func(t *testing.T) {
		der, err := leaf.Part("cert-der")
		if err != nil || !bytes.Equal(der, leaf.Cert.Raw) {
			t.Fatal("cert-der")
		}
		p, err := leaf.Part("cert-pem")
		if b, _ := pem.Decode(p); err != nil || b == nil || !bytes.Equal(b.Bytes, leaf.Cert.Raw) {
			t.Fatal("cert-pem")
		}
	})
}

func TestPartRefusals(t *testing.T) {
	const secret = "s3cr3t-value"
	key := mustGenerate(t, "key", manifest.Secret{Kind: manifest.KindPrivateKey}, nil, nil)
	tests := []struct {
		name string
		v    *Value
		part string
		want error
	}{
		{"parquet raw", &Value{Kind: manifest.KindParquetMasterKey, Bytes: []byte(secret)}, "raw", ErrNotReleasable},
		{"parquet default", &Value{Kind: manifest.KindParquetMasterKey, Bytes: []byte(secret)}, "", ErrNotReleasable},
		{"parquet hex", &Value{Kind: manifest.KindParquetMasterKey, Bytes: []byte(secret)}, "hex", ErrNotReleasable},
		{"bytes cert-pem", &Value{Kind: manifest.KindASCII, Bytes: []byte(secret)}, "cert-pem", ErrPart},
		{"bytes unknown", &Value{Kind: manifest.KindUploaded, Bytes: []byte(secret)}, "base32", ErrPart},
		{"key cert-pem", key, "cert-pem", ErrPart},
		{"key chain-pem", key, "chain-pem", ErrPart},
		{"key raw", key, "raw", ErrPart},
		{"key default", key, "", ErrPart},
		{"unknown kind", &Value{Kind: "magic"}, "raw", ErrKind},
		{"key missing", &Value{Kind: manifest.KindX509}, "key-pem", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Part(tc.part)
			wantErr(t, err, tc.want)
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error holds the value: %v", err)
			}
			if !strings.Contains(err.Error(), `"`+tc.part+`"`) {
				t.Fatalf("error does not name the part: %v", err)
			}
		})
	}
}
