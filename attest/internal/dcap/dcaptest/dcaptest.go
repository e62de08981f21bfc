// Package dcaptest is a fake Intel for tests of Intel DCAP verification: it
// signs, encodes and issues what Intel's quoting enclaves, PKI and PCS
// would, so that tests of attest/sgx, attest/tdx and attest/internal/dcap
// can build evidence and collateral that real hardware and Intel never give
// (revoked levels, mismatching identities, forged CRLs).
//
// Only tests import it. Its functions fail the test on error rather than
// returning one.
package dcaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// Key generates a P-256 key, the only kind Intel's PKI and quotes use.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Certificate issues tmpl for pub, signed by parentKey as parent, or
// self-signed if parent is nil.
func Certificate(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, pub *ecdsa.PublicKey) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SignRaw signs SHA-256(msg) with key, in the raw r ‖ s form of DCAP quotes
// and PCS collateral.
func SignRaw(t testing.TB, key *ecdsa.PrivateKey, msg []byte) [64]byte {
	t.Helper()
	d := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// Envelope returns Intel PCS's signed JSON document {"<member>":<body>,
// "signature":"<hex>"}, with key's signature over body's exact bytes.
func Envelope(t testing.TB, key *ecdsa.PrivateKey, member string, body []byte) []byte {
	t.Helper()
	sig := SignRaw(t, key, body)
	return fmt.Appendf(nil, `{%q:%s,"signature":"%x"}`, member, body, sig[:])
}

// SGXExtension encodes the value of a PCK certificate's SGX extension
// (pcs.OIDSGXExtensions): PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID,
// FMSPC and SGX type. The optional platform instance ID and configuration
// are not encoded.
func SGXExtension(t testing.TB, ext *pcs.PCKExtensions) []byte {
	t.Helper()
	type entry struct {
		ID  asn1.ObjectIdentifier
		Val asn1.RawValue
	}
	oid := func(arcs ...int) asn1.ObjectIdentifier {
		return append(append(asn1.ObjectIdentifier{}, pcs.OIDSGXExtensions...), arcs...)
	}
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	var tcb []entry
	for i, c := range ext.TCB.Components {
		tcb = append(tcb, entry{oid(2, i+1), raw(int(c))})
	}
	tcb = append(tcb, entry{oid(2, 17), raw(int(ext.TCB.PCESVN))}, entry{oid(2, 18), raw(ext.TCB.CPUSVN[:])})
	b, err := asn1.Marshal([]entry{
		{oid(1), raw(ext.PPID[:])},
		{oid(2), raw(tcb)},
		{oid(3), raw(ext.PCEID[:])},
		{oid(4), raw(ext.FMSPC[:])},
		{oid(5), raw(asn1.Enumerated(ext.SGXType))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CRL issues a DER CRL by issuer (signed with key) listing the given serial
// numbers, revoked at thisUpdate.
func CRL(t testing.TB, issuer *x509.Certificate, key *ecdsa.PrivateKey, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, s := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
