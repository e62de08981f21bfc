package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"
)

func TestIssueWorkload(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	key := newP256(t)
	// The CSR asks for names, a CA bit and extra extensions; none may
	// reach the certificate.
	csr := newCSR(t, key, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "admin", Organization: []string{"evil"}},
		DNSNames:       []string{"coordinator.example.org"},
		EmailAddresses: []string{"root@example.org"},
		URIs:           []*url.URL{mustURL(t, "spiffe://example.org/other/admin/1")},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		ExtraExtensions: []pkix.Extension{{
			Id:    asn1.ObjectIdentifier{2, 5, 29, 19}, // basic constraints
			Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff},
		}},
	})
	id := testID("m")
	cert, err := in.IssueWorkload(csr, id, []string{"web.m.svc"}, []net.IP{net.ParseIP("192.0.2.1")}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != id.String() {
		t.Errorf("URIs %v, want [%s]", cert.URIs, id)
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "web.m.svc" || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.ParseIP("192.0.2.1")) {
		t.Errorf("DNS %v IP %v", cert.DNSNames, cert.IPAddresses)
	}
	if len(cert.EmailAddresses) != 0 || cert.Subject.String() != "" || cert.IsCA {
		t.Errorf("CSR names copied: emails %v subject %q IsCA %v", cert.EmailAddresses, cert.Subject, cert.IsCA)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage %v", cert.KeyUsage)
	}
	if len(cert.ExtKeyUsage) != 2 {
		t.Errorf("ExtKeyUsage %v", cert.ExtKeyUsage)
	}
	if !cert.NotBefore.Equal(testNow.Add(-time.Minute)) || !cert.NotAfter.Equal(testNow.Add(time.Hour)) {
		t.Errorf("validity %s to %s", cert.NotBefore, cert.NotAfter)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the CSR's key")
	}
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) && !e.Critical {
			t.Error("SAN not critical with an empty subject")
		}
	}
	other := issueTestWorkload(t, in, id)
	if other.SerialNumber.Cmp(cert.SerialNumber) == 0 {
		t.Error("two certificates with one serial")
	}
}

func TestIssueWorkloadKeyTypes(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	gen := func(f func() (crypto.Signer, error)) crypto.Signer {
		k, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ec := func(c elliptic.Curve) crypto.Signer {
		return gen(func() (crypto.Signer, error) { return ecdsa.GenerateKey(c, rand.Reader) })
	}
	rsaKey := func(bits int) crypto.Signer {
		return gen(func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, bits) })
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name      string
		key       crypto.Signer
		refused   string // KeyError.Key, or "" when accepted
		wantUsage x509.KeyUsage
	}{
		{"ecdsa-p256", ec(elliptic.P256()), "", x509.KeyUsageDigitalSignature},
		{"ecdsa-p384", ec(elliptic.P384()), "", x509.KeyUsageDigitalSignature},
		{"ed25519", edKey, "", x509.KeyUsageDigitalSignature},
		{"rsa-2048", rsaKey(2048), "", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{"rsa-1024", rsaKey(1024), "rsa-1024", 0},
		{"ecdsa-p224", ec(elliptic.P224()), "ecdsa-P-224", 0},
		{"ecdsa-p521", ec(elliptic.P521()), "ecdsa-P-521", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := in.IssueWorkload(newCSR(t, tc.key, nil), testID("m"), nil, nil, testNow, time.Hour)
			if tc.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cert.KeyUsage != tc.wantUsage {
					t.Errorf("KeyUsage %v, want %v", cert.KeyUsage, tc.wantUsage)
				}
				return
			}
			var ke *KeyError
			if !errors.As(err, &ke) || !errors.Is(err, ErrUnsupportedKey) || ke.Key != tc.refused {
				t.Fatalf("err = %v, want KeyError %q", err, tc.refused)
			}
		})
	}
}

func TestIssueWorkloadRefusals(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	good := newCSR(t, newP256(t), nil)
	badSig := newCSR(t, newP256(t), nil)
	badSig.Signature = append([]byte(nil), badSig.Signature...)
	badSig.Signature[len(badSig.Signature)-1] ^= 1
	otherKey := newCSR(t, newP256(t), nil)
	otherKey.PublicKey = newP256(t).Public() // signed by another key
	tests := []struct {
		name     string
		ca       *CA
		csr      *x509.CertificateRequest
		id       SPIFFEID
		dns      []string
		now      time.Time
		lifetime time.Duration
		want     error
	}{
		{"root", root, good, testID("m"), nil, testNow, time.Hour, ErrWrongCA},
		{"other manifest", in, good, testID("other"), nil, testNow, time.Hour, ErrManifest},
		{"other trust domain", in, good, SPIFFEID{"evil.org", "m", "s", "i"}, nil, testNow, time.Hour, ErrTrustDomain},
		{"subdomain trust domain", in, good, SPIFFEID{"x.example.org", "m", "s", "i"}, nil, testNow, time.Hour, ErrTrustDomain},
		{"invalid ID", in, good, SPIFFEID{testTD, "m", "s/x", "i"}, nil, testNow, time.Hour, ErrInvalidSPIFFEID},
		{"empty instance", in, good, SPIFFEID{testTD, "m", "s", ""}, nil, testNow, time.Hour, ErrInvalidSPIFFEID},
		{"no CSR", in, nil, testID("m"), nil, testNow, time.Hour, ErrInvalidArgument},
		{"bad CSR signature", in, badSig, testID("m"), nil, testNow, time.Hour, ErrCSRSignature},
		{"CSR key swapped", in, otherKey, testID("m"), nil, testNow, time.Hour, ErrCSRSignature},
		{"zero lifetime", in, good, testID("m"), nil, testNow, 0, ErrInvalidArgument},
		{"negative lifetime", in, good, testID("m"), nil, testNow, -time.Hour, ErrInvalidArgument},
		{"huge lifetime", in, good, testID("m"), nil, testNow, 100 * 365 * 24 * time.Hour, ErrInvalidArgument},
		{"issuer expired", in, good, testID("m"), nil, in.cert.NotAfter, time.Hour, ErrExpired},
		{"issuer not yet valid", in, good, testID("m"), nil, testNow.Add(-time.Hour), time.Hour, ErrExpired},
		{"bad DNS name", in, good, testID("m"), []string{"a b"}, testNow, time.Hour, ErrInvalidArgument},
		{"empty DNS name", in, good, testID("m"), []string{""}, testNow, time.Hour, ErrInvalidArgument},
		{"too many names", in, good, testID("m"), make([]string, maxNames+1), testNow, time.Hour, ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ca.IssueWorkload(tc.csr, tc.id, tc.dns, nil, tc.now, tc.lifetime)
			wantErr(t, err, tc.want)
		})
	}
}

func TestIssueLifetimeCapped(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	now := in.cert.NotAfter.Add(-time.Hour)
	cert, err := in.IssueWorkload(newCSR(t, newP256(t), nil), testID("m"), nil, nil, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(in.cert.NotAfter) {
		t.Errorf("NotAfter %s, want the issuer's %s", cert.NotAfter, in.cert.NotAfter)
	}
	// NotBefore never precedes the issuer's.
	cert, err = in.IssueWorkload(newCSR(t, newP256(t), nil), testID("m"), nil, nil, in.cert.NotBefore, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotBefore.Equal(in.cert.NotBefore) {
		t.Errorf("NotBefore %s, want the issuer's %s", cert.NotBefore, in.cert.NotBefore)
	}
}

func TestIssueLeaf(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	key := newP256(t)
	cert, err := in.IssueLeaf(key.Public(), "db", []string{"db.example.org"}, []net.IP{net.ParseIP("::1")}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 0 || cert.Subject.CommonName != "db" || cert.DNSNames[0] != "db.example.org" || cert.IsCA {
		t.Errorf("URIs %v CN %q DNS %v", cert.URIs, cert.Subject.CommonName, cert.DNSNames)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.cert)
	inters := x509.NewCertPool()
	inters.AddCert(in.cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow, DNSName: "db.example.org"}); err != nil {
		t.Fatal(err)
	}

	refusals := []struct {
		name string
		ca   *CA
		pub  crypto.PublicKey
		want error
	}{
		{"root", root, key.Public(), ErrWrongCA},
		{"unsupported key", in, &rsa.PublicKey{}, ErrUnsupportedKey},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ca.IssueLeaf(tc.pub, "db", nil, nil, testNow, time.Hour)
			wantErr(t, err, tc.want)
		})
	}
}

func TestServerCertificate(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	tc, err := ServerCertificate(root, []string{"coordinator.example.org", "127.0.0.1"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tc.Leaf
	if len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 1 || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("DNS %v IP %v EKU %v", leaf.DNSNames, leaf.IPAddresses, leaf.ExtKeyUsage)
	}
	if !tc.PrivateKey.(*ecdsa.PrivateKey).PublicKey.Equal(leaf.PublicKey) {
		t.Error("key does not match")
	}
	for _, host := range []string{"coordinator.example.org", "127.0.0.1"} {
		if err := VerifyServer([]*x509.Certificate{leaf}, root.cert, host, testNow); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}

	// An x509 secret (or a workload) under an intermediate may carry the
	// coordinator's name: it must not pass as the coordinator.
	impostor, err := in.IssueLeaf(newP256(t).Public(), "", []string{"coordinator.example.org"}, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherRoot := newTestRoot(t)
	refusals := []struct {
		name  string
		chain []*x509.Certificate
		root  *x509.Certificate
		host  string
		now   time.Time
		want  error
	}{
		{"intermediate-issued impostor", []*x509.Certificate{impostor, in.cert}, root.cert, "coordinator.example.org", testNow, ErrUntrusted},
		{"wrong host", []*x509.Certificate{leaf}, root.cert, "other.example.org", testNow, ErrUntrusted},
		{"wrong root", []*x509.Certificate{leaf}, otherRoot.cert, "coordinator.example.org", testNow, ErrUntrusted},
		{"expired", []*x509.Certificate{leaf}, root.cert, "coordinator.example.org", leaf.NotAfter.Add(time.Second), ErrExpired},
		{"CA as leaf", []*x509.Certificate{in.cert}, root.cert, "coordinator.example.org", testNow, ErrUntrusted},
		{"empty chain", nil, root.cert, "coordinator.example.org", testNow, ErrUntrusted},
		{"not a cofre root", []*x509.Certificate{leaf}, leaf, "coordinator.example.org", testNow, ErrUntrusted},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, VerifyServer(tc.chain, tc.root, tc.host, tc.now), tc.want)
		})
	}

	errCases := []struct {
		name  string
		ca    *CA
		hosts []string
		want  error
	}{
		{"intermediate", in, []string{"a"}, ErrWrongCA},
		{"no hosts", root, nil, ErrInvalidArgument},
		{"bad host", root, []string{"a_b"}, ErrInvalidArgument},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ServerCertificate(tc.ca, tc.hosts, testNow)
			wantErr(t, err, tc.want)
		})
	}
}
