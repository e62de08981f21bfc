package tpm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	pb "github.com/google/go-tpm-tools/proto/attest"
	tpmpb "github.com/google/go-tpm-tools/proto/tpm"
	"github.com/google/go-tpm/legacy/tpm2"
)

// fakeTPM makes attestations hardware never gives: a software "TPM" with an
// ECDSA P-256 AK certified by a test CA. Tests use it for 64-byte report
// data, certificate shapes and signature faults the real vectors lack.
type fakeTPM struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	ak     *ecdsa.PrivateKey
	akCert []byte
}

var (
	fakeNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fakeNow       = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	// oidTCGManufacturer is tcg-at-tpmManufacturer (TCG EK Credential
	// Profile, 3.1.2).
	oidTCGManufacturer = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
)

func newFakeTPM(t testing.TB, tweak func(*x509.Certificate)) *fakeTPM {
	t.Helper()
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cofre test EK/AK CA"},
		NotBefore:             fakeNotBefore,
		NotAfter:              fakeNotBefore.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	// An empty subject with the TPM's identity in a critical SAN holding
	// only a directoryName, as TCG profiles and Google's UCA certificates do.
	rdn, err := asn1.Marshal(pkix.RDNSequence{{{Type: oidTCGManufacturer, Value: "id:434F4652"}}})
	if err != nil {
		t.Fatal(err)
	}
	san, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: rdn}})
	if err != nil {
		t.Fatal(err)
	}
	ak := mustKey(t)
	akTmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(2),
		NotBefore:       fakeNotBefore,
		NotAfter:        fakeNotBefore.AddDate(1, 0, 0),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidSubjectAltName, Critical: true, Value: san}},
	}
	if tweak != nil {
		tweak(akTmpl)
	}
	akCert, err := x509.CreateCertificate(rand.Reader, akTmpl, ca, ak.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeTPM{ca: ca, caKey: caKey, ak: ak, akCert: akCert}
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// attest returns an attestation with one SHA-256 quote over 24 PCRs (PCR i
// holds 32 bytes of value i), signed by signer, and no event log.
func (f *fakeTPM) attest(t testing.TB, extraData []byte, signer *ecdsa.PrivateKey) *pb.Attestation {
	t.Helper()
	pcrs := map[uint32][]byte{}
	for i := range numPCRs {
		v := make([]byte, sha256.Size)
		for j := range v {
			v[j] = byte(i)
		}
		pcrs[uint32(i)] = v
	}
	return f.attestPCRs(t, pcrs, extraData, signer)
}

// attestPCRs returns an attestation with one SHA-256 quote over pcrs (indices
// below numPCRs, 32-byte values), signed by signer, and no event log.
func (f *fakeTPM) attestPCRs(t testing.TB, pcrs map[uint32][]byte, extraData []byte, signer *ecdsa.PrivateKey) *pb.Attestation {
	t.Helper()
	var sel []int
	d := sha256.New()
	for i := range numPCRs {
		if v, ok := pcrs[uint32(i)]; ok {
			sel = append(sel, i)
			d.Write(v)
		}
	}
	quoted, err := tpm2.AttestationData{
		Magic:             0xff544347, // TPM_GENERATED_VALUE
		Type:              tpm2.TagAttestQuote,
		QualifiedSigner:   tpm2.Name{Digest: &tpm2.HashValue{Alg: tpm2.AlgSHA256, Value: make([]byte, sha256.Size)}},
		ExtraData:         extraData,
		AttestedQuoteInfo: &tpm2.QuoteInfo{PCRSelection: tpm2.PCRSelection{Hash: tpm2.AlgSHA256, PCRs: sel}, PCRDigest: d.Sum(nil)},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(quoted)
	r, s, err := ecdsa.Sign(rand.Reader, signer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig, err := tpm2.Signature{Alg: tpm2.AlgECDSA, ECC: &tpm2.SignatureECC{HashAlg: tpm2.AlgSHA256, R: r, S: s}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	point, err := f.ak.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		t.Fatal(err)
	}
	akPub, err := tpm2.Public{
		Type:       tpm2.AlgECC,
		NameAlg:    tpm2.AlgSHA256,
		Attributes: tpm2.FlagSignerDefault,
		ECCParameters: &tpm2.ECCParams{
			Sign:    &tpm2.SigScheme{Alg: tpm2.AlgECDSA, Hash: tpm2.AlgSHA256},
			CurveID: tpm2.CurveNISTP256,
			Point:   tpm2.ECPoint{XRaw: point[1:33], YRaw: point[33:]},
		},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &pb.Attestation{
		AkPub:  akPub,
		AkCert: f.akCert,
		Quotes: []*tpmpb.Quote{{Quote: quoted, RawSig: sig, Pcrs: &tpmpb.PCRs{Hash: tpmpb.HashAlgo_SHA256, Pcrs: pcrs}}},
	}
}

func TestVerifyFakeTPMBinding(t *testing.T) {
	f := newFakeTPM(t, nil)
	nonce := make([]byte, attest.NonceSize)
	nonce[0] = 7
	workloadKey := []byte("workload public key DER")
	rd, err := attest.ReportData(nonce, workloadKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := verify(marshal(t, f.attest(t, rd[:], f.ak)), fakeNow, WithRoots(f.ca), WithIntermediates())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := attest.CheckBinding(c, nonce, workloadKey, nil); err != nil {
		t.Errorf("CheckBinding: %v", err)
	}
	other := make([]byte, attest.NonceSize)
	if err := attest.CheckBinding(c, other, workloadKey, nil); !errors.Is(err, attest.ErrBinding) {
		t.Errorf("CheckBinding with another nonce = %v, want ErrBinding", err)
	}
	if hasWarning(c, "binds no cofre report data") {
		t.Errorf("warnings %q: 64-byte report data flagged", c.Warnings)
	}
	if !hasWarning(c, "no event log") || hasWarning(c, "Secure Boot") {
		t.Errorf("warnings %q: want the missing event log, and no Secure Boot verdict", c.Warnings)
	}
	if c.Raw["secure_boot"] != nil || c.TCB != nil {
		t.Errorf("machine state %v, TCB %v reported without an event log", c.Raw["secure_boot"], c.TCB)
	}
	if c.Raw["gce_instance"] != nil {
		t.Errorf("gce_instance = %v for a non-GCE AK", c.Raw["gce_instance"])
	}
	if len(c.Measurement) != sha256.Size {
		t.Errorf("measurement is %d bytes", len(c.Measurement))
	}
}

func TestVerifyFakeTPMRefusals(t *testing.T) {
	unknownCritical := func(c *x509.Certificate) {
		c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{0x05, 0x00}})
	}
	noSigning := func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }
	tests := []struct {
		name  string
		tweak func(*x509.Certificate)
		// signedByOther signs the quote with a key that is not the AK.
		signedByOther bool
		extraData     []byte
		want          error
	}{
		{"quote signed by another key", nil, true, make([]byte, 64), attest.ErrSignature},
		{"unknown critical extension", unknownCritical, false, make([]byte, 64), attest.ErrCertificate},
		{"ak cert cannot sign", noSigning, false, make([]byte, 64), attest.ErrCertificate},
		{"extraData too long", nil, false, make([]byte, maxExtraData+1), attest.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTPM(t, tc.tweak)
			signer := f.ak
			if tc.signedByOther {
				signer = mustKey(t)
			}
			_, err := verify(marshal(t, f.attest(t, tc.extraData, signer)), fakeNow, WithRoots(f.ca))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}
