package tdx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/internal/dcap/dcaptest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// This file is a fake Intel: a root CA, a PCK CA, a PCK certificate with
// the SGX extension, a TCB signing certificate, and helpers that re-sign a
// real quote and real collateral after a test changes them. It produces
// what hardware and Intel never give (revoked levels, debug TDs, revoked
// PCK certificates), so every security decision has a negative test.

const (
	oasisQuote = "testdata/quote_v4_tdx_ecdsa_p256.bin"
	oasisDir   = "testdata/collateral"
)

// oasisTime is when the oasis vector and its collateral are valid
// (2024-09-02T07:43:52Z).
var oasisTime = time.Unix(1725263032, 0).UTC()

// memSource serves collateral from memory and records what was asked.
type memSource struct {
	items map[collateral.Kind][]byte
	reqs  []collateral.Request
}

func (m *memSource) Fetch(_ context.Context, req collateral.Request) ([]byte, error) {
	m.reqs = append(m.reqs, req)
	b, ok := m.items[req.Kind]
	if !ok {
		return nil, fmt.Errorf("mem: %v: %w", req.Kind, collateral.ErrNotFound)
	}
	return b, nil
}

// readOasis returns the real quote and its collateral directory's files.
func readOasis(t testing.TB) ([]byte, map[collateral.Kind][]byte) {
	t.Helper()
	q, err := os.ReadFile(oasisQuote)
	if err != nil {
		t.Fatal(err)
	}
	items := map[collateral.Kind][]byte{}
	for _, k := range []collateral.Kind{collateral.KindTCBInfo, collateral.KindQEIdentity, collateral.KindTCBSigningChain} {
		b, err := os.ReadFile(filepath.Join(oasisDir, k.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		items[k] = b
	}
	return q, items
}

type fakeCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

type fakeIntel struct {
	root, pckCA, pck, tcbSigner fakeCert
}

var (
	fakeNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	fakeNotAfter  = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
)

// pckProfile is what the fake PCK certificate's SGX extension says. The
// default matches the oasis platform, so Intel's real TCB info applies.
type pckProfile struct {
	caCN   string
	fmspc  []byte
	pceID  []byte
	cpuSVN [16]byte
	pceSVN int
}

func oasisProfile() pckProfile {
	return pckProfile{
		caCN:   dcap.CNPlatformCA,
		fmspc:  []byte{0xc0, 0x80, 0x6f, 0, 0, 0},
		pceID:  []byte{0, 0},
		cpuSVN: [16]byte{7, 7, 2, 2, 3, 1, 0, 3},
		pceSVN: 11,
	}
}

func newFakeIntel(t testing.TB, p pckProfile) *fakeIntel {
	t.Helper()
	f := &fakeIntel{}
	f.root = mkCert(t, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Intel SGX Root CA", Organization: []string{"Fake Intel"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	})
	f.pckCA = mkCert(t, &f.root, &x509.Certificate{
		Subject:               pkix.Name{CommonName: p.caCN, Organization: []string{"Fake Intel"}},
		IsCA:                  true,
		MaxPathLenZero:        true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	})
	f.tcbSigner = mkCert(t, &f.root, &x509.Certificate{
		Subject:               pkix.Name{CommonName: dcap.CNTCBSigning, Organization: []string{"Fake Intel"}},
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	})
	// Intel's PCK certificates carry six extensions: key usage, basic
	// constraints, subject and authority key IDs, CRL distribution point,
	// and the SGX extension. The fake one has the same.
	f.pck = mkCert(t, &f.pckCA, &x509.Certificate{
		Subject:               pkix.Name{CommonName: dcap.CNPCKCertificate, Organization: []string{"Fake Intel"}},
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		SubjectKeyId:          []byte("fake pck subject key id"),
		CRLDistributionPoints: []string{"https://pcs.invalid/pckcrl"},
		ExtraExtensions:       []pkix.Extension{{Id: pcs.OIDSGXExtensions, Value: sgxExtension(t, p)}},
	})
	return f
}

var serial int64

func mkCert(t testing.TB, parent *fakeCert, tmpl *x509.Certificate) fakeCert {
	t.Helper()
	key := dcaptest.Key(t)
	serial++
	tmpl.SerialNumber = big.NewInt(1000 + serial)
	tmpl.NotBefore, tmpl.NotAfter = fakeNotBefore, fakeNotAfter
	if parent == nil {
		return fakeCert{cert: dcaptest.Certificate(t, tmpl, nil, key, &key.PublicKey), key: key}
	}
	return fakeCert{cert: dcaptest.Certificate(t, tmpl, parent.cert, parent.key, &key.PublicKey), key: key}
}

// sgxExtension encodes the SGX extension of a PCK certificate for p
// (PCK certificate profile, OID 1.2.840.113741.1.13.1).
func sgxExtension(t testing.TB, p pckProfile) []byte {
	t.Helper()
	return dcaptest.SGXExtension(t, &pcs.PCKExtensions{
		TCB:     pcs.PCKTCB{Components: p.cpuSVN, PCESVN: uint16(p.pceSVN), CPUSVN: p.cpuSVN},
		PCEID:   [2]byte(p.pceID),
		FMSPC:   [6]byte(p.fmspc),
		SGXType: pcs.SGXTypeScalable,
	})
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// quote re-signs a real quote as the fake platform: a fresh attestation
// key, the fake PCK chain, the QE report signed by the fake PCK key. edit,
// if not nil, changes the quote first.
func (f *fakeIntel) quote(t testing.TB, real []byte, edit func(*quote.Quote)) []byte {
	t.Helper()
	q, err := quote.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(q)
	}
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	akBytes, err := ak.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	copy(q.AttestationKey[:], akBytes[1:])
	h := sha256.Sum256(append(q.AttestationKey[:], q.QEAuthData...))
	q.QEReport.ReportData = [64]byte{}
	copy(q.QEReport.ReportData[:], h[:])
	q.PCKChain = append(bytes.Join([][]byte{pemCert(f.pck.cert), pemCert(f.pckCA.cert), pemCert(f.root.cert)}, nil), 0)

	// Sign the QE report, then the quote, each over its final bytes.
	q2, err := quote.Parse(q.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	q.QEReportSignature = dcaptest.SignRaw(t, f.pck.key, q2.QEReportBytes())
	q.Signature = dcaptest.SignRaw(t, ak, q2.SignedBytes())
	return q.Marshal()
}

// signedJSON re-encodes Intel's signed JSON (member "tcbInfo" or
// "enclaveIdentity") after edit changes it, signed by key.
func signedJSON(t testing.TB, envelope []byte, member string, key *ecdsa.PrivateKey, edit func(map[string]any)) []byte {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(envelope, &env); err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(env[member]))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(obj)
	}
	body, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return dcaptest.Envelope(t, key, member, body)
}

// collateral returns Intel's real oasis collateral re-signed by the fake
// TCB signing key, with optional edits of the TCB info and QE identity.
func (f *fakeIntel) collateral(t testing.TB, real map[collateral.Kind][]byte, editTCB, editQE func(map[string]any)) map[collateral.Kind][]byte {
	t.Helper()
	return map[collateral.Kind][]byte{
		collateral.KindTCBInfo:         signedJSON(t, real[collateral.KindTCBInfo], "tcbInfo", f.tcbSigner.key, editTCB),
		collateral.KindQEIdentity:      signedJSON(t, real[collateral.KindQEIdentity], "enclaveIdentity", f.tcbSigner.key, editQE),
		collateral.KindTCBSigningChain: append(pemCert(f.tcbSigner.cert), pemCert(f.root.cert)...),
	}
}

// crl issues a DER CRL by issuer listing the given certificates.
func crl(t testing.TB, issuer fakeCert, thisUpdate, nextUpdate time.Time, revoked ...*x509.Certificate) []byte {
	t.Helper()
	var serials []*big.Int
	for _, c := range revoked {
		serials = append(serials, c.SerialNumber)
	}
	return dcaptest.CRL(t, issuer.cert, issuer.key, thisUpdate, nextUpdate, serials...)
}

// level returns the i-th element of the JSON array at key of obj, as an
// object.
func level(obj map[string]any, key string, i int) map[string]any {
	return obj[key].([]any)[i].(map[string]any)
}
