package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/coordinator/pki"
)

func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// Once per coordinator: the root (seal root.Marshal()).
	root, err := pki.NewRoot("example.org", now)
	if err != nil {
		panic(err)
	}
	// Once per manifest version: its intermediate.
	billing, err := root.NewIntermediate("billing", 1, now)
	if err != nil {
		panic(err)
	}

	// A workload's key and CSR (the launcher makes them); after attestation
	// the coordinator issues its certificate.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	csr, _ := x509.ParseCertificateRequest(der)
	id := pki.SPIFFEID{TrustDomain: "example.org", Manifest: "billing", Service: "api", Instance: "0"}
	cert, err := billing.IssueWorkload(csr, id, nil, nil, now, time.Hour)
	if err != nil {
		panic(err)
	}

	// A peer verifies the workload's chain against the root.
	got, err := pki.VerifyWorkload([]*x509.Certificate{cert, billing.Certificate()}, root.Certificate(), now.Add(time.Minute))
	fmt.Println(got, err)
	// Output: spiffe://example.org/billing/api/0 <nil>
}
