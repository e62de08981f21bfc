package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

func TestNewRoot(t *testing.T) {
	root := newTestRoot(t)
	c := root.Certificate()
	if got, want := c.Subject.CommonName, "cofre coordinator root example.org"; got != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P384() {
		t.Errorf("key %T, want ECDSA P-384", c.PublicKey)
	}
	if !c.IsCA || c.MaxPathLen != 1 || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("IsCA %v MaxPathLen %d KeyUsage %v", c.IsCA, c.MaxPathLen, c.KeyUsage)
	}
	if !c.NotBefore.Equal(testNow.Add(-time.Minute)) || !c.NotAfter.Equal(testNow.Add(10*365*24*time.Hour)) {
		t.Errorf("validity %s to %s", c.NotBefore, c.NotAfter)
	}
	if len(c.PermittedURIDomains) != 1 || c.PermittedURIDomains[0] != testTD {
		t.Errorf("PermittedURIDomains %q", c.PermittedURIDomains)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if root.TrustDomain() != testTD || root.Manifest() != "" || len(root.Chain()) != 1 {
		t.Errorf("TrustDomain %q Manifest %q Chain %d", root.TrustDomain(), root.Manifest(), len(root.Chain()))
	}
}

func TestNewRootInvalidTrustDomain(t *testing.T) {
	for _, td := range []string{"", "Example.org", "a..b", ".a", "a/b", "a:1"} {
		if _, err := NewRoot(td, testNow); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: err = %v, want ErrInvalidArgument", td, err)
		}
	}
}

func TestNewIntermediate(t *testing.T) {
	root := newTestRoot(t)
	in, err := root.NewIntermediate("billing", 7, testNow)
	if err != nil {
		t.Fatal(err)
	}
	c := in.Certificate()
	if got, want := c.Subject.CommonName, "cofre billing v7"; got != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.PublicKey)
	}
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("IsCA %v MaxPathLen %d zero %v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != "spiffe://example.org/billing" {
		t.Errorf("URIs %v", c.URIs)
	}
	if len(c.PermittedURIDomains) != 1 || c.PermittedURIDomains[0] != testTD {
		t.Errorf("PermittedURIDomains %q", c.PermittedURIDomains)
	}
	if !c.NotAfter.Equal(testNow.Add(365 * 24 * time.Hour)) {
		t.Errorf("NotAfter %s", c.NotAfter)
	}
	if c.SerialNumber.BitLen() > 128 || c.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v", c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(root.Certificate()); err != nil {
		t.Error(err)
	}
	if in.Manifest() != "billing" || in.TrustDomain() != testTD || len(in.Chain()) != 2 || in.Chain()[1] != root.Certificate() {
		t.Errorf("Manifest %q TrustDomain %q Chain %d", in.Manifest(), in.TrustDomain(), len(in.Chain()))
	}

	// Near the root's end, the intermediate ends with the root.
	late := root.Certificate().NotAfter.Add(-24 * time.Hour)
	in, err = root.NewIntermediate("billing", 8, late)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Certificate().NotAfter.Equal(root.Certificate().NotAfter) {
		t.Errorf("NotAfter %s, want capped at the root's %s", in.Certificate().NotAfter, root.Certificate().NotAfter)
	}
}

func TestNewIntermediateErrors(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	tests := []struct {
		name     string
		ca       *CA
		manifest string
		version  uint64
		now      time.Time
		want     error
	}{
		{"from intermediate", in, "m", 1, testNow, ErrWrongCA},
		{"empty manifest", root, "", 1, testNow, ErrInvalidArgument},
		{"slash in manifest", root, "a/b", 1, testNow, ErrInvalidArgument},
		{"dot-dot manifest", root, "..", 1, testNow, ErrInvalidArgument},
		{"version 0", root, "m", 0, testNow, ErrInvalidArgument},
		{"root expired", root, "m", 1, root.Certificate().NotAfter, ErrExpired},
		{"root not yet valid", root, "m", 1, testNow.Add(-time.Hour), ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ca.NewIntermediate(tc.manifest, tc.version, tc.now)
			wantErr(t, err, tc.want)
		})
	}
}

func TestMarshalParseCA(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	for _, ca := range []*CA{root, in} {
		t.Run(ca.Certificate().Subject.CommonName, func(t *testing.T) {
			data, err := ca.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseCA(data)
			if err != nil {
				t.Fatal(err)
			}
			if !got.cert.Equal(ca.cert) || !got.key.Public().(*ecdsa.PublicKey).Equal(ca.key.Public()) ||
				got.trustDomain != ca.trustDomain || got.manifest != ca.manifest || len(got.parents) != len(ca.parents) {
				t.Fatalf("round trip changed the CA")
			}
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Fatal("Marshal(ParseCA(x)) != x")
			}
		})
	}
	// A parsed intermediate still issues verifiable workloads.
	data, _ := in.Marshal()
	parsed, err := ParseCA(data)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issueTestWorkload(t, parsed, testID("m"))
	if _, err := VerifyWorkload([]*x509.Certificate{leaf, parsed.Certificate()}, root.Certificate(), testNow); err != nil {
		t.Fatal(err)
	}
}

func TestParseCAMalformed(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	other := newTestIntermediate(t, root, "other")
	otherRoot := newTestRoot(t)

	pemCert := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	pemKey := func(ca *CA) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(ca.key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	good, _ := in.Marshal()
	leaf := issueTestWorkload(t, in, testID("m"))

	tests := map[string][]byte{
		"empty":                    nil,
		"junk":                     []byte("hello"),
		"leading text":             cat([]byte("x\n"), good),
		"trailing text":            cat(good, []byte("x")),
		"trailing newline":         cat(good, []byte("\n")),
		"key first":                cat(pemKey(in), pemCert(in.cert), pemCert(root.cert)),
		"no key":                   cat(pemCert(in.cert), pemCert(root.cert)),
		"no certificate":           pemKey(in),
		"key mismatch":             cat(pemCert(in.cert), pemCert(root.cert), pemKey(other)),
		"intermediate alone":       cat(pemCert(in.cert), pemKey(in)),
		"wrong root":               cat(pemCert(in.cert), pemCert(otherRoot.cert), pemKey(in)),
		"three certificates":       cat(pemCert(in.cert), pemCert(root.cert), pemCert(root.cert), pemKey(in)),
		"root as intermediate":     cat(pemCert(root.cert), pemCert(root.cert), pemKey(root)),
		"leaf":                     cat(pemCert(leaf), pemCert(in.cert), pemKey(in)),
		"other block type":         cat(pemCert(root.cert), []byte("-----BEGIN X-----\nAAAA\n-----END X-----\n"), pemKey(root)),
		"two keys":                 cat(pemCert(root.cert), pemKey(root), pemKey(root)),
		"PEM header":               bytes.Replace(good, []byte("-----BEGIN PRIVATE KEY-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n"), 1),
		"oversized":                bytes.Repeat([]byte("A"), maxMarshaledCA+1),
		"truncated":                good[:len(good)-40],
		"certificate wrong type":   bytes.Replace(good, []byte("BEGIN CERTIFICATE"), []byte("BEGIN CERTIFICATF"), 1),
		"private key of the root":  cat(pemCert(in.cert), pemCert(root.cert), pemKey(root)),
		"intermediate under other": cat(pemCert(other.cert), pemCert(otherRoot.cert), pemKey(other)),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCA(data)
			wantErr(t, err, ErrMalformed)
		})
	}
}
