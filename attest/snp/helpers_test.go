package snp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevtest "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/trust"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The real Milan vector (testdata/milan, from go-sev-guest verify/testdata):
// its VCEK is valid 2022-09-24T00:55:28Z..2029-09-24T00:55:28Z.
var (
	milanNow        = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	milanCollateral = collateral.Dir(filepath.Join("testdata", "milan", "collateral"))
)

func readTestdata(t testing.TB, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func milanReport(t testing.TB) []byte { return readTestdata(t, "milan", "report.bin") }
func milanVCEK(t testing.TB) []byte   { return readTestdata(t, "milan", "collateral", "vcek.der") }

// milanASKARK returns the embedded Milan ASK and ARK in DER.
func milanASKARK(t testing.TB) (ask, ark []byte) {
	t.Helper()
	ask, ark, err := kds.ParseProductCertChain(trust.AskArkMilanVcekBytes)
	if err != nil {
		t.Fatal(err)
	}
	return ask, ark
}

// marshalCertTable encodes t as an extended report's certificate table.
func marshalCertTable(t certTable) []byte {
	var ct abi.CertTable
	for _, e := range []struct {
		guid [16]byte
		b    []byte
	}{
		{guidARK, t.ark}, {guidASK, t.ask}, {guidVCEK, t.vcek}, {guidVLEK, t.vlek}, {guidExtraPlatformInfo, t.extraPlatformInfo},
	} {
		if len(e.b) != 0 {
			ct.Entries = append(ct.Entries, abi.CertTableEntry{GUID: e.guid, RawCert: e.b})
		}
	}
	return ct.Marshal()
}

func withTable(report []byte, t certTable) []byte {
	return append(append([]byte(nil), report...), marshalCertTable(t)...)
}

// source is an in-memory collateral.Source that records its requests.
type source struct {
	items map[collateral.Kind][]byte
	errs  map[collateral.Kind]error
	reqs  []collateral.Request
}

func (s *source) Fetch(_ context.Context, req collateral.Request) ([]byte, error) {
	s.reqs = append(s.reqs, req)
	if err := s.errs[req.Kind]; err != nil {
		return nil, err
	}
	b, ok := s.items[req.Kind]
	if !ok {
		return nil, fmt.Errorf("test source: %v: %w", req.Kind, collateral.ErrNotFound)
	}
	return b, nil
}

// fake is a test-only AMD platform: a fake ARK/ASK/ASVK chain with a VCEK
// and a VLEK for one chip at one TCB, built with go-sev-guest's test signer.
type fake struct {
	productLine string
	signer      *sevtest.AmdSigner
	chipID      []byte
	tcb         uint64
}

var fakeEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeNow is inside every fake certificate's validity.
var fakeNow = fakeEpoch.Add(30 * 24 * time.Hour)

func newFake(t testing.TB, productName string, tcb uint64) *fake {
	t.Helper()
	return newFakeChip(t, productName, tcb, bytes.Repeat([]byte{0xc1}, abi.ChipIDSize))
}

func newFakeChip(t testing.TB, productName string, tcb uint64, chipID []byte) *fake {
	t.Helper()
	return newFakeKeys(t, productName, tcb, chipID, sevtest.DefaultAmdKeys())
}

// freshKeys returns AMD-shaped keys unrelated to go-sev-guest's fixed test
// keys (RSA 2048 rather than 4096, to keep the test quick).
func freshKeys(t testing.TB) *sevtest.AmdKeys {
	t.Helper()
	rsaKey := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return &sevtest.AmdKeys{Ark: rsaKey(), Ask: rsaKey(), Asvk: rsaKey(), Vcek: ecKey(), Vlek: ecKey()}
}

func newFakeKeys(t testing.TB, productName string, tcb uint64, chipID []byte, keys *sevtest.AmdKeys, extraVCEKExts ...pkix.Extension) *fake {
	t.Helper()
	parts := kds.DecomposeTCBVersion(kds.TCBVersion(tcb))
	if kds.ProductLineOfProductName(productName) == "Turin" {
		// KDS certifies Turin's components by name; read them from the
		// family 1Ah layout.
		p := tcbParts("Turin", tcb)
		parts = kds.TCBParts{BlSpl: uint8(p["bootloader"]), TeeSpl: uint8(p["tee"]), SnpSpl: uint8(p["snp"]), UcodeSpl: uint8(p["microcode"])}
	}
	b := &sevtest.AmdSignerBuilder{
		Keys:             keys,
		ProductName:      productName,
		ArkCreationTime:  fakeEpoch,
		AskCreationTime:  fakeEpoch,
		AsvkCreationTime: fakeEpoch,
		VcekCreationTime: fakeEpoch,
		VlekCreationTime: fakeEpoch,
		VcekCustom:       sevtest.CertOverride{Extensions: append(sevtest.CustomExtensions(parts, chipID, "", productName), extraVCEKExts...)},
		VlekCustom:       sevtest.CertOverride{Extensions: sevtest.CustomExtensions(parts, nil, "cofre-test", productName)},
	}
	s, err := b.TestOnlyCertChain()
	if err != nil {
		t.Fatal(err)
	}
	return &fake{productLine: kds.ProductLineOfProductName(productName), signer: s, chipID: chipID, tcb: tcb}
}

func (f *fake) roots() map[string]Root {
	return map[string]Root{f.productLine: {ARK: f.signer.Ark, ASK: f.signer.Ask, ASVK: f.signer.Asvk}}
}

func (f *fake) verifier() *Verifier { return NewVerifier(Config{Roots: f.roots()}) }

// report returns a version 3 report of f's chip, modified by mod and then
// signed with the key its SIGNER_INFO names.
func (f *fake) report(t testing.TB, mod func(*spb.Report)) []byte {
	t.Helper()
	product, err := kds.ParseProductLine(f.productLine)
	if err != nil {
		t.Fatal(err)
	}
	product.MachineStepping = wrapperspb.UInt32(1)
	pattern := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	r := &spb.Report{
		Version:         3,
		GuestSvn:        7,
		Policy:          0x30000, // SMT allowed, reserved bit 17 set, no debug
		FamilyId:        pattern(abi.FamilyIDSize, 0xfa),
		ImageId:         pattern(abi.ImageIDSize, 0x1a),
		SignatureAlgo:   abi.SignEcdsaP384Sha384,
		CurrentTcb:      f.tcb,
		PlatformInfo:    1,
		ReportData:      pattern(abi.ReportDataSize, 0xda),
		Measurement:     pattern(abi.MeasurementSize, 0x3e),
		HostData:        pattern(abi.HostDataSize, 0x40),
		IdKeyDigest:     pattern(abi.IDKeyDigestSize, 0x1d),
		AuthorKeyDigest: pattern(abi.AuthorKeyDigestSize, 0xa0),
		ReportId:        pattern(abi.ReportIDSize, 0x11),
		ReportIdMa:      pattern(abi.ReportIDMASize, 0xff),
		ReportedTcb:     f.tcb,
		ChipId:          append([]byte(nil), f.chipID...),
		CommittedTcb:    f.tcb,
		CurrentBuild:    21,
		CurrentMinor:    55,
		CurrentMajor:    1,
		CommittedBuild:  21,
		CommittedMinor:  55,
		CommittedMajor:  1,
		LaunchTcb:       f.tcb,
		Signature:       make([]byte, abi.SignatureSize),
		Cpuid1EaxFms:    abi.MaskedCpuid1EaxFromSevProduct(product),
	}
	if mod != nil {
		mod(r)
	}
	raw, err := abi.ReportToAbiBytes(r)
	if err != nil {
		t.Fatal(err)
	}
	R, S, err := f.signer.Sign(abi.SignedComponent(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := abi.SetSignature(R, S, raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// table returns a certificate table with f's VCEK (or VLEK), ASK (or ASVK)
// and ARK.
func (f *fake) table(vlek bool) certTable {
	if vlek {
		return certTable{vlek: f.signer.Vlek.Raw, ask: f.signer.Asvk.Raw, ark: f.signer.Ark.Raw}
	}
	return certTable{vcek: f.signer.Vcek.Raw, ask: f.signer.Ask.Raw, ark: f.signer.Ark.Raw}
}

// crl returns a CRL signed by f's ARK that revokes the given serials.
func (f *fake) crl(t testing.TB, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	return signCRL(t, f.signer.Ark, f.signer.Keys.Ark, thisUpdate, nextUpdate, revoked...)
}

func signCRL(t testing.TB, issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, sn := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: sn, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
