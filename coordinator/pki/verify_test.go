package pki

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestVerifyWorkload(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	id := testID("m")
	leaf := issueTestWorkload(t, in, id)
	got, err := VerifyWorkload([]*x509.Certificate{leaf, in.cert}, root.cert, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Fatalf("got %+v, want %+v", got, id)
	}
	// The root in the presented chain is harmless: only the given root
	// anchors.
	if _, err := VerifyWorkload([]*x509.Certificate{leaf, in.cert, root.cert}, root.cert, testNow); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWorkloadRefusals(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	inOther := newTestIntermediate(t, root, "other")
	otherRoot := newTestRoot(t) // same trust domain, another key
	inOtherRoot := newTestIntermediate(t, otherRoot, "m")
	good := issueTestWorkload(t, in, testID("m"))
	id := testID("m").String()

	// A CA under the root that is not a manifest intermediate (no URI SAN):
	// what a bug, or a leaked root key, could make.
	bareCA := forgeCA(t, root)

	tests := []struct {
		name  string
		chain []*x509.Certificate
		root  *x509.Certificate
		now   time.Time
		want  []error
	}{
		{"self-signed leaf with a forged ID", []*x509.Certificate{forgeLeaf(t, nil, nil, id)}, root.cert, testNow, []error{ErrUntrusted}},
		{"self-signed leaf with the real intermediate", []*x509.Certificate{forgeLeaf(t, nil, nil, id), in.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"other manifest's intermediate claiming m", []*x509.Certificate{forgeLeaf(t, inOther, nil, id), inOther.cert}, root.cert, testNow, []error{ErrManifest}},
		{"other manifest's intermediate, m's presented", []*x509.Certificate{forgeLeaf(t, inOther, nil, id), in.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"expired", []*x509.Certificate{good, in.cert}, root.cert, good.NotAfter.Add(time.Second), []error{ErrExpired}},
		{"not yet valid", []*x509.Certificate{good, in.cert}, root.cert, good.NotBefore.Add(-time.Second), []error{ErrExpired}},
		{"intermediate expired", []*x509.Certificate{forgeLeaf(t, in, func(c *x509.Certificate) { c.NotAfter = in.cert.NotAfter.Add(time.Hour) }, id), in.cert}, root.cert, in.cert.NotAfter.Add(time.Minute), []error{ErrExpired}},
		{"wrong root", []*x509.Certificate{good, in.cert}, otherRoot.cert, testNow, []error{ErrUntrusted}},
		{"other root's intermediate", []*x509.Certificate{issueTestWorkload(t, inOtherRoot, testID("m")), inOtherRoot.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"two URI SANs", []*x509.Certificate{forgeLeaf(t, in, nil, id, "spiffe://example.org/m/admin/1"), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		{"no URI SAN (x509 secret)", []*x509.Certificate{forgeLeaf(t, in, nil), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		{"four path segments", []*x509.Certificate{forgeLeaf(t, in, nil, "spiffe://example.org/m/s/i/x"), in.cert}, root.cert, testNow, []error{ErrIdentity, ErrInvalidSPIFFEID}},
		{"query in URI", []*x509.Certificate{forgeLeaf(t, in, nil, id+"?x=1"), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		{"percent-encoded URI", []*x509.Certificate{forgeLeaf(t, in, nil, "spiffe://example.org/m/s/%69"), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		{"uppercase trust domain", []*x509.Certificate{forgeLeaf(t, in, nil, "spiffe://EXAMPLE.org/m/s/i"), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		// Go enforces the URI constraint on the host...
		{"other trust domain", []*x509.Certificate{forgeLeaf(t, in, nil, "spiffe://evil.org/m/s/i"), in.cert}, root.cert, testNow, []error{ErrUntrusted}},
		// ...but as a DNS suffix: the exact check is ours.
		{"subdomain trust domain", []*x509.Certificate{forgeLeaf(t, in, nil, "spiffe://x.example.org/m/s/i"), in.cert}, root.cert, testNow, []error{ErrTrustDomain}},
		{"server auth only", []*x509.Certificate{forgeLeaf(t, in, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, id), in.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"leaf signed by the root", []*x509.Certificate{forgeLeaf(t, root, nil, id)}, root.cert, testNow, []error{ErrUntrusted}},
		{"leaf is a CA", []*x509.Certificate{forgeLeaf(t, in, func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign }, id), in.cert}, root.cert, testNow, []error{ErrIdentity}},
		{"intermediate missing", []*x509.Certificate{good}, root.cert, testNow, []error{ErrUntrusted}},
		{"CA without manifest URI", []*x509.Certificate{forgeLeaf(t, bareCA, nil, id), bareCA.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"empty chain", nil, root.cert, testNow, []error{ErrUntrusted}},
		{"chain too long", []*x509.Certificate{good, in.cert, in.cert, in.cert, in.cert}, root.cert, testNow, []error{ErrUntrusted}},
		{"root is an intermediate", []*x509.Certificate{good}, in.cert, testNow, []error{ErrUntrusted}},
		{"no root", []*x509.Certificate{good, in.cert}, nil, testNow, []error{ErrUntrusted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyWorkload(tc.chain, tc.root, tc.now)
			wantErr(t, err, tc.want...)
		})
	}
}

// TestGoURIConstraints pins what crypto/x509 does with the URI name
// constraints this package sets, since the package's security argument
// rests on it: the host is enforced, as a DNS suffix; the path is not.
func TestGoURIConstraints(t *testing.T) {
	root := newTestRoot(t)
	in := newTestIntermediate(t, root, "m")
	roots := x509.NewCertPool()
	roots.AddCert(root.cert)
	inters := x509.NewCertPool()
	inters.AddCert(in.cert)
	verify := func(uri string) error {
		leaf := forgeLeaf(t, in, nil, uri)
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
	tests := []struct {
		uri     string
		allowed bool
	}{
		{"spiffe://example.org/m/s/i", true},
		{"spiffe://example.org/other/s/i", true}, // path not constrained
		{"spiffe://x.example.org/m/s/i", true},   // subdomains permitted
		{"spiffe://evil.org/m/s/i", false},
		{"spiffe://notexample.org/m/s/i", false},
		{"spiffe://example.org.evil/m/s/i", false},
		{"spiffe://192.0.2.1/m/s/i", false},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			err := verify(tc.uri)
			if tc.allowed {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var invalid x509.CertificateInvalidError
			if !errors.As(err, &invalid) || invalid.Reason != x509.CANotAuthorizedForThisName {
				t.Fatalf("err = %v, want CANotAuthorizedForThisName", err)
			}
		})
	}
	// Underscores, which SPIFFE allows in trust domains, pass Go's
	// constraint matching.
	rootU, err := NewRoot("a_b.example", testNow)
	if err != nil {
		t.Fatal(err)
	}
	inU := newTestIntermediate(t, rootU, "m")
	id := SPIFFEID{"a_b.example", "m", "s", "i"}
	leaf, err := inU.IssueWorkload(newCSR(t, newP256(t), nil), id, nil, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := VerifyWorkload([]*x509.Certificate{leaf, inU.cert}, rootU.cert, testNow); err != nil || got != id {
		t.Fatalf("got %v, %v", got, err)
	}
}
