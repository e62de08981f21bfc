package pki

import (
	"crypto/x509"
	"testing"
	"time"
)

// TestManifestRoots: each manifest's workloads verify under their own
// manifest's root and under no other, and a manifest root makes only its
// own manifest's intermediates.
func TestManifestRoots(t *testing.T) {
	rootA, err := NewManifestRoot(testTD, "a", testNow)
	if err != nil {
		t.Fatal(err)
	}
	rootB, err := NewManifestRoot(testTD, "b", testNow)
	if err != nil {
		t.Fatal(err)
	}
	interA := newTestIntermediate(t, rootA, "a")
	interB := newTestIntermediate(t, rootB, "b")
	leafA := issueTestWorkload(t, interA, testID("a"))
	leafB := issueTestWorkload(t, interB, testID("b"))

	id, err := VerifyWorkload([]*x509.Certificate{leafA, interA.Certificate()}, rootA.Certificate(), testNow)
	if err != nil || id.Manifest != "a" {
		t.Fatalf("A under A's root: %v %v", id, err)
	}
	_, err = VerifyWorkload([]*x509.Certificate{leafB, interB.Certificate()}, rootA.Certificate(), testNow)
	wantErr(t, err, ErrUntrusted)

	// A manifest root signs no other manifest's intermediate, and no
	// server certificate.
	if _, err := rootA.NewIntermediate("b", 1, testNow); err == nil {
		t.Fatal("the root of a made an intermediate for b")
	}
	_, err = ServerCertificate(rootA, []string{"localhost"}, testNow)
	wantErr(t, err, ErrWrongCA)

	// A certificate for any DNS name a manifest's x509 secret asks for
	// does not verify under another manifest's root.
	leaf, err := interB.IssueLeaf(&newP256(t).PublicKey, "db.a.internal", []string{"db.a.internal"}, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rootA.Certificate())
	inters := x509.NewCertPool()
	inters.AddCert(interB.Certificate())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inters, DNSName: "db.a.internal", CurrentTime: testNow}); err == nil {
		t.Fatal("b's certificate for a's host verified under a's root")
	}

	// Marshal round trip keeps the manifest.
	for _, ca := range []*CA{rootA, interA} {
		b, err := ca.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCA(b)
		if err != nil || back.Manifest() != "a" || !back.Certificate().Equal(ca.Certificate()) {
			t.Fatalf("round trip: %v", err)
		}
	}
}
