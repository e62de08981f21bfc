package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"
)

// testNow is the pinned time of every test.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testTD = "example.org"

func newTestRoot(t testing.TB) *CA {
	t.Helper()
	root, err := NewRoot(testTD, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func newTestIntermediate(t testing.TB, root *CA, manifest string) *CA {
	t.Helper()
	in, err := root.NewIntermediate(manifest, 1, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCSR(t testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	if tmpl == nil {
		tmpl = &x509.CertificateRequest{}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func testID(manifest string) SPIFFEID {
	return SPIFFEID{TrustDomain: testTD, Manifest: manifest, Service: "web", Instance: "i-1"}
}

// issueTestWorkload issues a workload certificate for a fresh P-256 key.
func issueTestWorkload(t testing.TB, in *CA, id SPIFFEID) *x509.Certificate {
	t.Helper()
	cert, err := in.IssueWorkload(newCSR(t, newP256(t), nil), id, nil, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// forgeLeaf signs a workload-like leaf with arbitrary URIs by parent's key
// (or self-signed when parent is nil), bypassing every check of
// IssueWorkload: what an attacker holding that key could make.
func forgeLeaf(t testing.TB, parent *CA, edit func(*x509.Certificate), uris ...string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, u := range uris {
		tmpl.URIs = append(tmpl.URIs, mustURL(t, u))
	}
	if edit != nil {
		edit(tmpl)
	}
	key := newP256(t)
	parentCert, parentKey := tmpl, crypto.Signer(key)
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forgeCA signs a path-length-0 CA without a manifest URI SAN by
// parent's key.
func forgeCA(t testing.TB, parent *CA) *CA {
	t.Helper()
	key := newP256(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(43),
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.cert, key.Public(), parent.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{cert: c, key: key, parents: []*x509.Certificate{parent.cert}, trustDomain: parent.trustDomain, manifest: "m"}
}

func wantErr(t testing.TB, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("err = %v, want errors.Is %v", err, target)
		}
	}
}
