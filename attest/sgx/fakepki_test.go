package sgx

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/internal/dcap/dcaptest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// world is a fake Intel SGX PKI, platform and PCS: it signs quotes and
// collateral that real hardware and Intel never would (revoked levels,
// mismatching identities, debug enclaves), so that every branch of Verify
// can be reached. Tests mutate its fields, then call quote() and source().
type world struct {
	t   *testing.T
	now time.Time

	rootKey, caKey, pckKey, tcbKey, attKey *ecdsa.PrivateKey
	root, ca, leaf, tcbSigner              *x509.Certificate

	// PCK certificate values.
	pckTCB pcs.PCKTCB
	fmspc  [6]byte
	pceID  [2]byte

	header   quote.Header
	body     quote.ReportBody
	qeReport quote.ReportBody
	authData []byte

	// tcbInfo and qeIdentity are the signed members, as JSON objects.
	tcbInfo    map[string]any
	qeIdentity map[string]any
	// signingChain overrides the TCB signing chain PEM if non-nil.
	signingChain []byte
	// collateralKey overrides the key signing TCB info and QE identity.
	collateralKey *ecdsa.PrivateKey

	// CRLs: nil means absent from the source.
	pckCRL, rootCRL *crlSpec
}

type crlSpec struct {
	revoked    []*big.Int
	thisUpdate time.Time
	nextUpdate time.Time
	signer     *ecdsa.PrivateKey // nil: the issuing CA's key
}

var (
	fakeQEMRSigner = [32]byte{0x8c, 0x4f, 0x57, 0x75}
	fakeFMSPC      = [6]byte{0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00}
)

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), fmspc: fakeFMSPC}
	w.rootKey, w.caKey, w.pckKey, w.tcbKey, w.attKey = genKey(t), genKey(t), genKey(t), genKey(t), genKey(t)
	for i := range w.pckTCB.Components {
		w.pckTCB.Components[i] = 5
	}
	w.pckTCB.PCESVN = 11
	copy(w.pckTCB.CPUSVN[:], []byte{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5})

	w.root = w.issue(&x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: intelName("Intel SGX Root CA"),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, w.rootKey, w.rootKey)
	w.tcbSigner = w.issue(&x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: intelName(dcap.CNTCBSigning),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}, w.root, w.rootKey, w.tcbKey)
	w.reissueCA(dcap.CNPlatformCA)

	w.header = quote.Header{Version: 3, AttestationKeyType: 2, QESVN: 8, PCESVN: 11, QEVendorID: layout.IntelQEVendorID}
	w.body.MREnclave = [32]byte{0xaa, 0xbb}
	w.body.MRSigner = [32]byte{0xcc, 0xdd}
	w.body.ISVProdID = 7
	w.body.ISVSVN = 3
	w.body.Attributes = [16]byte{0x05, 0, 0, 0, 0, 0, 0, 0, 0x03}
	w.body.ReportData = [64]byte{1, 2, 3}
	w.qeReport.MRSigner = fakeQEMRSigner
	w.qeReport.ISVProdID = 1
	w.qeReport.ISVSVN = 8
	w.qeReport.Attributes = [16]byte{0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7}
	w.authData = []byte("0123456789abcdef0123456789abcdef")

	day := 24 * time.Hour
	w.tcbInfo = map[string]any{
		"id": "SGX", "version": 3,
		"issueDate": w.now.Add(-day).Format(time.RFC3339), "nextUpdate": w.now.Add(29 * day).Format(time.RFC3339),
		"fmspc": "00906ED50000", "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 17,
		"tcbLevels": []any{
			tcbLevelV3(6, 12, "2024-01-01T00:00:00Z", "UpToDate"),
			tcbLevelV3(5, 11, "2023-01-01T00:00:00Z", "SWHardeningNeeded", "INTEL-SA-00001"),
			tcbLevelV3(4, 10, "2022-01-01T00:00:00Z", "OutOfDate", "INTEL-SA-00002"),
		},
	}
	w.qeIdentity = map[string]any{
		"id": "QE", "version": 2,
		"issueDate": w.now.Add(-day).Format(time.RFC3339), "nextUpdate": w.now.Add(29 * day).Format(time.RFC3339),
		"tcbEvaluationDataNumber": 17,
		"miscselect":              "00000000", "miscselectMask": "FFFFFFFF",
		"attributes": "11000000000000000000000000000000", "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
		"mrsigner": hex.EncodeToString(fakeQEMRSigner[:]), "isvprodid": 1,
		"tcbLevels": []any{
			qeLevelJSON(8, "2024-01-01T00:00:00Z", "UpToDate"),
			qeLevelJSON(6, "2023-01-01T00:00:00Z", "OutOfDate", "INTEL-SA-00003"),
		},
	}
	w.pckCRL = &crlSpec{}
	w.rootCRL = &crlSpec{}
	return w
}

func tcbLevelV3(comp, pcesvn int, date, status string, adv ...string) map[string]any {
	comps := make([]any, 16)
	for i := range comps {
		comps[i] = map[string]any{"svn": comp}
	}
	l := map[string]any{"tcb": map[string]any{"sgxtcbcomponents": comps, "pcesvn": pcesvn}, "tcbDate": date, "tcbStatus": status}
	if len(adv) > 0 {
		l["advisoryIDs"] = adv
	}
	return l
}

func qeLevelJSON(isvsvn int, date, status string, adv ...string) map[string]any {
	l := map[string]any{"tcb": map[string]any{"isvsvn": isvsvn}, "tcbDate": date, "tcbStatus": status}
	if len(adv) > 0 {
		l["advisoryIDs"] = adv
	}
	return l
}

func genKey(t *testing.T) *ecdsa.PrivateKey { return dcaptest.Key(t) }

func intelName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"Intel Corporation"}, Locality: []string{"Santa Clara"},
		Province: []string{"CA"}, Country: []string{"US"}}
}

// issue signs tmpl with parentKey (self-signed if parent is nil).
func (w *world) issue(tmpl, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) *x509.Certificate {
	w.t.Helper()
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = w.now.Add(-365 * 24 * time.Hour)
		tmpl.NotAfter = w.now.Add(5 * 365 * 24 * time.Hour)
	}
	return dcaptest.Certificate(w.t, tmpl, parent, parentKey, &key.PublicKey)
}

// reissueCA issues the PCK CA with common name cn, then the leaf.
func (w *world) reissueCA(cn string) {
	w.ca = w.issue(&x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: intelName(cn),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, w.root, w.rootKey, w.caKey)
	w.reissueLeaf()
}

// reissueLeaf issues the PCK certificate from the current PCK values.
func (w *world) reissueLeaf() {
	w.leaf = w.issue(&x509.Certificate{
		SerialNumber: big.NewInt(4), Subject: intelName(dcap.CNPCKCertificate),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtraExtensions: []pkix.Extension{{Id: pcs.OIDSGXExtensions, Value: dcaptest.SGXExtension(w.t, &pcs.PCKExtensions{TCB: w.pckTCB, FMSPC: w.fmspc, PCEID: w.pceID})}},
	}, w.ca, w.caKey, w.pckKey)
}

// quote builds and signs a quote from the world's values.
func (w *world) quote() []byte {
	w.t.Helper()
	att := w.attKey.PublicKey
	attBytes, err := att.Bytes()
	if err != nil {
		w.t.Fatal(err)
	}
	q := &quote.Quote{Header: w.header, Body: w.body, QEReport: w.qeReport, QEAuthData: w.authData}
	copy(q.AttestationKey[:], attBytes[1:])
	h := sha256.New()
	h.Write(q.AttestationKey[:])
	h.Write(w.authData)
	var rd [64]byte
	h.Sum(rd[:0])
	q.QEReport.ReportData = rd
	q.QEReportSignature = dcaptest.SignRaw(w.t, w.pckKey, q.QEReport.AppendTo(nil))
	for _, c := range []*x509.Certificate{w.leaf, w.ca, w.root} {
		q.CertData = append(q.CertData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	q.CertData = append(q.CertData, 0)
	q.Signature = dcaptest.SignRaw(w.t, w.attKey, q.Marshal()[:quote.SignedSize])
	return q.Marshal()
}

// signedDoc returns {"<member>":<body>,"signature":"<hex>"} signed by key.
func signedDoc(t testing.TB, key *ecdsa.PrivateKey, member string, body map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return dcaptest.Envelope(t, key, member, b)
}

func (w *world) crl(spec *crlSpec, issuer *x509.Certificate, key *ecdsa.PrivateKey) []byte {
	w.t.Helper()
	this, next := spec.thisUpdate, spec.nextUpdate
	if this.IsZero() {
		this, next = w.now.Add(-time.Hour), w.now.Add(24*time.Hour)
	}
	if spec.signer != nil {
		key = spec.signer
	}
	return dcaptest.CRL(w.t, issuer, key, this, next, spec.revoked...)
}

// source returns the world's collateral as a memory source.
func (w *world) source() memSource {
	w.t.Helper()
	key := w.tcbKey
	if w.collateralKey != nil {
		key = w.collateralKey
	}
	chain := w.signingChain
	if chain == nil {
		chain = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.tcbSigner.Raw}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.root.Raw})...)
	}
	m := memSource{
		collateral.KindTCBInfo:         signedDoc(w.t, key, "tcbInfo", w.tcbInfo),
		collateral.KindQEIdentity:      signedDoc(w.t, key, "enclaveIdentity", w.qeIdentity),
		collateral.KindTCBSigningChain: chain,
	}
	if w.pckCRL != nil {
		m[collateral.KindPCKCRL] = w.crl(w.pckCRL, w.ca, w.caKey)
	}
	if w.rootCRL != nil {
		m[collateral.KindRootCRL] = w.crl(w.rootCRL, w.root, w.rootKey)
	}
	return m
}

func (w *world) verify() (*attest.Claims, error) {
	return NewVerifier(WithRoot(w.root)).Verify(context.Background(),
		attest.Evidence{Format: attest.FormatSGX, Payload: w.quote()},
		attest.Options{Now: w.now, Collateral: w.source()})
}

// memSource is an in-memory collateral source.
type memSource map[collateral.Kind][]byte

func (m memSource) Fetch(_ context.Context, req collateral.Request) ([]byte, error) {
	b, ok := m[req.Kind]
	if !ok {
		return nil, fmt.Errorf("mem: %v: %w", req.Kind, collateral.ErrNotFound)
	}
	return b, nil
}

// errSource fails every fetch with an error other than ErrNotFound.
type errSource struct{}

func (errSource) Fetch(context.Context, collateral.Request) ([]byte, error) {
	return nil, fmt.Errorf("connection refused")
}
