package secrets

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/manifest"
)

func TestGenerateKinds(t *testing.T) {
	root, in := testCA(t)
	ca := mustGenerate(t, "ca", manifest.Secret{Kind: manifest.KindX509CA, CommonName: "My CA"}, nil, nil)
	lookup := issuers(map[string]*Value{"ca": ca})

	tests := []struct {
		name  string
		s     manifest.Secret
		check func(t *testing.T, v *Value)
	}{
		{"symmetric default", manifest.Secret{Kind: manifest.KindSymmetric}, wantBytes(32)},
		{"symmetric 16", manifest.Secret{Kind: manifest.KindSymmetric, Size: 16}, wantBytes(16)},
		{"symmetric 4096", manifest.Secret{Kind: manifest.KindSymmetric, Size: 4096}, wantBytes(4096)},
		{"parquet default", manifest.Secret{Kind: manifest.KindParquetMasterKey}, wantBytes(32)},
		{"parquet 16", manifest.Secret{Kind: manifest.KindParquetMasterKey, Size: 16}, wantBytes(16)},
		{"parquet 24", manifest.Secret{Kind: manifest.KindParquetMasterKey, Size: 24}, wantBytes(24)},
		{"ascii default", manifest.Secret{Kind: manifest.KindASCII}, wantASCII(32, defaultAlphabet)},
		{"ascii 1000 hex", manifest.Secret{Kind: manifest.KindASCII, Size: 1000, Alphabet: "0123456789abcdef"}, wantASCII(1000, "0123456789abcdef")},
		{"ascii 3 chars", manifest.Secret{Kind: manifest.KindASCII, Size: 500, Alphabet: "xyz"}, wantASCII(500, "xyz")},
		{"ascii printable", manifest.Secret{Kind: manifest.KindASCII, Size: 64, Alphabet: " !~"}, wantASCII(64, " !~")},
		{"explicit", manifest.Secret{Kind: manifest.KindExplicit, Value: "hello\n"}, func(t *testing.T, v *Value) {
			if string(v.Bytes) != "hello\n" {
				t.Errorf("Bytes %q", v.Bytes)
			}
		}},
		{"private-key default", manifest.Secret{Kind: manifest.KindPrivateKey}, wantKey("ecdsa-p256")},
		{"private-key p384", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "ecdsa-p384"}, wantKey("ecdsa-p384")},
		{"private-key ed25519", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "ed25519"}, wantKey("ed25519")},
		{"private-key rsa-2048", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "rsa-2048"}, wantKey("rsa-2048")},
		{"x509-ca", manifest.Secret{Kind: manifest.KindX509CA, CommonName: "Team CA", KeyType: "ed25519"}, func(t *testing.T, v *Value) {
			wantKey("ed25519")(t, v)
			c := v.Cert
			if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.Subject.CommonName != "Team CA" || len(v.Chain) != 0 {
				t.Errorf("IsCA %v MaxPathLen %d CN %q chain %d", c.IsCA, c.MaxPathLen, c.Subject.CommonName, len(v.Chain))
			}
			if !c.NotAfter.Equal(testNow.Add(87600 * time.Hour)) {
				t.Errorf("NotAfter %s", c.NotAfter)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Error(err)
			}
		}},
		{"x509 from x509-ca", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca", DNSNames: []string{"db.internal"}, IPAddresses: []string{"10.1.2.3"}}, func(t *testing.T, v *Value) {
			wantKey("ecdsa-p256")(t, v)
			c := v.Cert
			if c.IsCA || c.Subject.CommonName != "x509 from x509-ca" || c.DNSNames[0] != "db.internal" || !c.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
				t.Errorf("IsCA %v CN %q DNS %v IP %v", c.IsCA, c.Subject.CommonName, c.DNSNames, c.IPAddresses)
			}
			if len(c.URIs) != 0 || len(c.ExtKeyUsage) != 2 {
				t.Errorf("URIs %v EKU %v", c.URIs, c.ExtKeyUsage)
			}
			if !c.NotAfter.Equal(testNow.Add(8760 * time.Hour)) {
				t.Errorf("NotAfter %s", c.NotAfter)
			}
			if len(v.Chain) != 1 || !v.Chain[0].Equal(ca.Cert) {
				t.Fatalf("chain %d", len(v.Chain))
			}
			verifies(t, v, ca.Cert, "db.internal")
		}},
		{"x509 from the coordinator", manifest.Secret{Kind: manifest.KindX509, CommonName: "api", DNSNames: []string{"api.m"}, KeyType: "rsa-2048"}, func(t *testing.T, v *Value) {
			wantKey("rsa-2048")(t, v)
			if v.Cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
				t.Errorf("KeyUsage %v", v.Cert.KeyUsage)
			}
			if len(v.Chain) != 2 || !v.Chain[0].Equal(in.Certificate()) || !v.Chain[1].Equal(root.Certificate()) {
				t.Fatalf("chain %d", len(v.Chain))
			}
			verifies(t, v, root.Certificate(), "api.m")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mustGenerate(t, tc.name, tc.s, lookup, in)
			if v.Kind != tc.s.Kind {
				t.Errorf("Kind %q, want %q", v.Kind, tc.s.Kind)
			}
			tc.check(t, v)
			// Every generated value survives storage.
			data, err := v.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalValue(data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGenerateRandom(t *testing.T) {
	a := mustGenerate(t, "a", manifest.Secret{Kind: manifest.KindSymmetric}, nil, nil)
	b := mustGenerate(t, "b", manifest.Secret{Kind: manifest.KindSymmetric}, nil, nil)
	if string(a.Bytes) == string(b.Bytes) {
		t.Fatal("two symmetric secrets are equal")
	}
}

func TestGenerateValidityCapped(t *testing.T) {
	_, in := testCA(t)
	ca := mustGenerate(t, "ca", manifest.Secret{Kind: manifest.KindX509CA, Validity: "48h"}, nil, nil)
	lookup := issuers(map[string]*Value{"ca": ca})
	tests := []struct {
		name string
		s    manifest.Secret
		want time.Time
	}{
		{"by x509-ca", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca"}, ca.Cert.NotAfter},
		{"by x509-ca, shorter", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca", Validity: "1h"}, testNow.Add(time.Hour)},
		{"by the coordinator", manifest.Secret{Kind: manifest.KindX509, Validity: "87600h"}, in.Certificate().NotAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mustGenerate(t, "leaf", tc.s, lookup, in)
			if !v.Cert.NotAfter.Equal(tc.want) {
				t.Errorf("NotAfter %s, want %s", v.Cert.NotAfter, tc.want)
			}
		})
	}
}

func TestGenerateRefusals(t *testing.T) {
	_, in := testCA(t)
	ca := mustGenerate(t, "ca", manifest.Secret{Kind: manifest.KindX509CA, Validity: "1h"}, nil, nil)
	key := mustGenerate(t, "key", manifest.Secret{Kind: manifest.KindPrivateKey}, nil, nil)
	lookup := issuers(map[string]*Value{"ca": ca, "key": key})
	tests := []struct {
		name string
		s    manifest.Secret
		ca   *pki.CA
		now  time.Time
		want error
	}{
		{"unknown kind", manifest.Secret{Kind: "magic"}, in, testNow, ErrKind},
		{"uploaded", manifest.Secret{Kind: manifest.KindUploaded}, in, testNow, ErrNotGenerated},
		{"imported", manifest.Secret{Kind: manifest.KindSymmetric, Import: &manifest.Import{Manifest: "o", Secret: "s"}}, in, testNow, ErrNotGenerated},
		{"symmetric too small", manifest.Secret{Kind: manifest.KindSymmetric, Size: 8}, in, testNow, ErrSize},
		{"symmetric negative", manifest.Secret{Kind: manifest.KindSymmetric, Size: -1}, in, testNow, ErrSize},
		{"symmetric too big", manifest.Secret{Kind: manifest.KindSymmetric, Size: maxSymmetricSize + 1}, in, testNow, ErrSize},
		{"parquet 20", manifest.Secret{Kind: manifest.KindParquetMasterKey, Size: 20}, in, testNow, ErrSize},
		{"parquet 64", manifest.Secret{Kind: manifest.KindParquetMasterKey, Size: 64}, in, testNow, ErrSize},
		{"ascii negative", manifest.Secret{Kind: manifest.KindASCII, Size: -5}, in, testNow, ErrSize},
		{"ascii too big", manifest.Secret{Kind: manifest.KindASCII, Size: maxASCIISize + 1}, in, testNow, ErrSize},
		{"ascii alphabet of one", manifest.Secret{Kind: manifest.KindASCII, Alphabet: "a"}, in, testNow, ErrAlphabet},
		{"ascii repeated", manifest.Secret{Kind: manifest.KindASCII, Alphabet: "abca"}, in, testNow, ErrAlphabet},
		{"ascii non-ASCII", manifest.Secret{Kind: manifest.KindASCII, Alphabet: "abcé"}, in, testNow, ErrAlphabet},
		{"ascii control", manifest.Secret{Kind: manifest.KindASCII, Alphabet: "ab\n"}, in, testNow, ErrAlphabet},
		{"explicit too big", manifest.Secret{Kind: manifest.KindExplicit, Value: strings.Repeat("x", maxExplicitSize+1)}, in, testNow, ErrSize},
		{"key type", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "rsa-1024"}, in, testNow, ErrKeyType},
		{"key type case", manifest.Secret{Kind: manifest.KindPrivateKey, KeyType: "ECDSA-P256"}, in, testNow, ErrKeyType},
		{"x509-ca key type", manifest.Secret{Kind: manifest.KindX509CA, KeyType: "dsa"}, in, testNow, ErrKeyType},
		{"validity unparsable", manifest.Secret{Kind: manifest.KindX509CA, Validity: "1 year"}, in, testNow, ErrValidity},
		{"validity negative", manifest.Secret{Kind: manifest.KindX509, Validity: "-1h"}, in, testNow, ErrValidity},
		{"validity too long", manifest.Secret{Kind: manifest.KindX509CA, Validity: "1000000h"}, in, testNow, ErrValidity},
		{"bad DNS name", manifest.Secret{Kind: manifest.KindX509, DNSNames: []string{"a b"}}, in, testNow, ErrName},
		{"bad IP", manifest.Secret{Kind: manifest.KindX509CA, IPAddresses: []string{"10.0.0"}}, in, testNow, ErrName},
		{"unknown issuer", manifest.Secret{Kind: manifest.KindX509, Issuer: "nope"}, in, testNow, ErrIssuer},
		{"issuer not a CA", manifest.Secret{Kind: manifest.KindX509, Issuer: "key"}, in, testNow, ErrIssuer},
		{"no coordinator CA", manifest.Secret{Kind: manifest.KindX509}, nil, testNow, ErrIssuer},
		{"issuer expired", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca"}, in, testNow.Add(2 * time.Hour), ErrValidity},
		{"coordinator CA expired", manifest.Secret{Kind: manifest.KindX509}, in, in.Certificate().NotAfter, ErrValidity},
		{"coordinator root", manifest.Secret{Kind: manifest.KindX509}, rootOf(t), testNow, pki.ErrWrongCA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate("s", tc.s, lookup, tc.ca, tc.now)
			wantErr(t, err, tc.want)
		})
	}
	// No issuer lookup at all.
	_, err := Generate("s", manifest.Secret{Kind: manifest.KindX509, Issuer: "ca"}, nil, in, testNow)
	wantErr(t, err, ErrIssuer)
}

func rootOf(t *testing.T) *pki.CA {
	root, _ := testCA(t)
	return root
}

func TestRandomASCIIUnbiasedMapping(t *testing.T) {
	// Every alphabet length from 2 to 95 yields only its characters.
	all := ""
	for c := byte(' '); c <= '~'; c++ {
		all += string(c)
	}
	for k := 2; k <= len(all); k++ {
		b, err := randomASCII(all[:k], 200)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 200 {
			t.Fatalf("len %d", len(b))
		}
		for _, c := range b {
			if strings.IndexByte(all[:k], c) < 0 {
				t.Fatalf("alphabet of %d: character %q", k, c)
			}
		}
	}
}

func wantBytes(n int) func(*testing.T, *Value) {
	return func(t *testing.T, v *Value) {
		if len(v.Bytes) != n || v.Key != nil || v.Cert != nil {
			t.Errorf("Bytes of %d, want %d (key %v cert %v)", len(v.Bytes), n, v.Key != nil, v.Cert != nil)
		}
	}
}

func wantASCII(n int, alphabet string) func(*testing.T, *Value) {
	return func(t *testing.T, v *Value) {
		if len(v.Bytes) != n {
			t.Errorf("%d characters, want %d", len(v.Bytes), n)
		}
		for _, c := range v.Bytes {
			if strings.IndexByte(alphabet, c) < 0 {
				t.Fatalf("character %q not in the alphabet", c)
			}
		}
	}
}

func wantKey(keyType string) func(*testing.T, *Value) {
	return func(t *testing.T, v *Value) {
		var got string
		switch k := v.Key.(type) {
		case *ecdsa.PrivateKey:
			got = map[elliptic.Curve]string{elliptic.P256(): "ecdsa-p256", elliptic.P384(): "ecdsa-p384"}[k.Curve]
		case ed25519.PrivateKey:
			got = "ed25519"
		case *rsa.PrivateKey:
			if k.N.BitLen() == 2048 {
				got = "rsa-2048"
			}
		}
		if got != keyType {
			t.Errorf("key %T, want %s", v.Key, keyType)
		}
		if v.Bytes != nil {
			t.Error("Bytes set on a key secret")
		}
	}
}

// verifies checks that v's certificate chains, through v.Chain, to root.
func verifies(t *testing.T, v *Value, root *x509.Certificate, dnsName string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inters := x509.NewCertPool()
	for _, c := range v.Chain {
		inters.AddCert(c)
	}
	if _, err := v.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow, DNSName: dnsName}); err != nil {
		t.Fatal(err)
	}
}
