package sgx

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// The real vector (testdata/README.md) verifies at this time.
var pinned = time.Unix(1671497404, 0).UTC()

// Offsets into the real vector (Quote Format v3).
const (
	offHeaderQESVN  = 8
	offMREnclave    = quote.HeaderSize + 64
	offReportData   = quote.HeaderSize + 320
	offReserved2    = quote.HeaderSize + 96
	offQuoteSig     = quote.SignedSize + 4
	offAttKey       = offQuoteSig + 64
	offQEReport     = offAttKey + 64
	offQEReportSig  = offQEReport + quote.ReportBodySize
	offQEAuthData   = offQEReportSig + 64 + 2
	realFMSPC       = "00606a000000"
	realMREnclave   = "68823bc62f409ee33a32ea270cfe45d4b19a6fb3c8570d7bc186cbe062398e8f"
	realMRSigner    = "9affcfae47b848ec2caf1c49b4b283531e1cc425f93582b36806e52a43d78d1a"
	realVectorPath  = "testdata/quote_v3_ecdsa_p256_pck_chain.bin"
	realCollateral  = "testdata/collateral"
	badChainDirPath = "testdata/collateral-bad-chain"
)

func realQuote(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(realVectorPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// realSource returns the real collateral as a memory source, so tests can
// alter single items.
func realSource(t testing.TB) memSource {
	t.Helper()
	m := memSource{}
	for _, k := range []collateral.Kind{collateral.KindTCBInfo, collateral.KindQEIdentity, collateral.KindTCBSigningChain} {
		b, err := os.ReadFile(filepath.Join(realCollateral, k.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		m[k] = b
	}
	return m
}

func verifyReal(payload []byte, src collateral.Source, now time.Time) (*attest.Claims, error) {
	return NewVerifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatSGX, Payload: payload},
		attest.Options{Now: now, Collateral: src})
}

// checkClass fails unless err is of exactly the class want.
func checkClass(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refusal %v", want)
	}
	if got := attest.Class(err); got != want {
		t.Fatalf("class %v, want %v; error: %v", got, want, err)
	}
}

// checkField fails unless err is or joins a *CheckError on field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if !hasField(err, field) {
		t.Fatalf("no check error on field %q in: %v", field, err)
	}
}

func hasField(err error, field string) bool {
	var ce *attest.CheckError
	if errors.As(err, &ce) && ce.Field == field {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasField(e, field) {
				return true
			}
		}
	}
	return false
}

func TestVerifyRealVector(t *testing.T) {
	c, err := verifyReal(realQuote(t), collateral.Dir(realCollateral), pinned)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Format != attest.FormatSGX || c.TEE != attest.TEESGX {
		t.Errorf("format %q tee %v", c.Format, c.TEE)
	}
	for name, got := range map[string]string{
		"measurement": c.Measurement.String(), "signer": c.Signer.String(), "platform_id": c.PlatformID.String(),
	} {
		want := map[string]string{"measurement": realMREnclave, "signer": realMRSigner, "platform_id": realFMSPC}[name]
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if len(c.ReportData) != 64 || !strings.HasPrefix(c.ReportData.String(), "026a69ce") {
		t.Errorf("report data %s", c.ReportData)
	}
	if c.ProductID != "0" || c.SVN != 0 || c.Debug {
		t.Errorf("product %q svn %d debug %v", c.ProductID, c.SVN, c.Debug)
	}
	if c.TCBStatus != attest.TCBSWHardeningNeeded {
		t.Errorf("tcb status %v, want SWHardeningNeeded", c.TCBStatus)
	}
	if !c.TCBDate.Equal(time.Date(2022, 8, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("tcb date %v", c.TCBDate)
	}
	if !slices.Equal(c.Advisories, []string{"INTEL-SA-00615", "INTEL-SA-00657"}) {
		t.Errorf("advisories %v", c.Advisories)
	}
	wantTCB := map[string]uint64{"pcesvn": 13, "qe_isvsvn": 9, "comp01": 7, "comp02": 9, "comp03": 3, "comp04": 3, "comp05": 255, "comp06": 255, "comp07": 1, "comp16": 0}
	for k, v := range wantTCB {
		if got, ok := c.TCB[k]; !ok || got != v {
			t.Errorf("tcb[%s] = %d (present %v), want %d", k, got, ok, v)
		}
	}
	if len(c.TCB) != 18 {
		t.Errorf("tcb has %d entries, want 18", len(c.TCB))
	}
	if c.Raw["sgx_type"] != "Scalable" || c.Raw["pce_id"].(attest.Hex).String() != "0000" ||
		c.Raw["cpusvn"].(attest.Hex).String() != "08090e0dffff01000000000000000000" {
		t.Errorf("raw %v", c.Raw)
	}
	if _, ok := c.Raw["ppid"]; ok {
		t.Error("raw carries the PPID")
	}
	wantWarn := []string{"PCK CRL not available (platform CA)", "Root CA CRL not available", "TCB status SWHardeningNeeded"}
	if len(c.Warnings) != len(wantWarn) {
		t.Fatalf("warnings %q", c.Warnings)
	}
	for i, w := range wantWarn {
		if !strings.Contains(c.Warnings[i], w) {
			t.Errorf("warning %d = %q, want it to contain %q", i, c.Warnings[i], w)
		}
	}
}

func TestVerifyRealVectorTamper(t *testing.T) {
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x01; return b }
	}
	tests := []struct {
		name  string
		mut   func([]byte) []byte
		class error
		field string
	}{
		{"quote signature", flip(offQuoteSig + 10), attest.ErrSignature, "quote_signature"},
		{"mrenclave", flip(offMREnclave), attest.ErrSignature, "quote_signature"},
		{"report data", flip(offReportData + 63), attest.ErrSignature, "quote_signature"},
		{"header qe svn", flip(offHeaderQESVN), attest.ErrSignature, "quote_signature"},
		{"attestation key", flip(offAttKey + 5), attest.ErrSignature, "qe_report.report_data"},
		{"qe report mrsigner", flip(offQEReport + 128), attest.ErrSignature, "qe_report_signature"},
		{"qe report data", flip(offQEReport + 320), attest.ErrSignature, "qe_report_signature"},
		{"qe report signature", flip(offQEReportSig + 40), attest.ErrSignature, "qe_report_signature"},
		{"qe auth data", flip(offQEAuthData + 3), attest.ErrSignature, "qe_report.report_data"},
		{"reserved field", flip(offReserved2), attest.ErrMalformed, ""},
		{"version", func(b []byte) []byte { b[0] = 4; return b }, attest.ErrMalformed, ""},
		{"attestation key type", func(b []byte) []byte { b[2] = 3; return b }, attest.ErrMalformed, ""},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, attest.ErrMalformed, ""},
		{"pck signature", mutChain(t, func(c [][]byte) [][]byte { c[0][len(c[0])-5] ^= 1; return c }), attest.ErrCertificate, "pck.signature"},
		{"pck ca signature", mutChain(t, func(c [][]byte) [][]byte { c[1][len(c[1])-5] ^= 1; return c }), attest.ErrCertificate, "pck_ca.signature"},
		{"pck swapped for pck ca", mutChain(t, func(c [][]byte) [][]byte { return [][]byte{c[1], c[1], c[2]} }), attest.ErrCertificate, "pck.subject.CN"},
		{"root replaced", mutChain(t, func(c [][]byte) [][]byte { return [][]byte{c[0], c[1], c[1]} }), attest.ErrCertificate, "root"},
		{"two certificates", mutChain(t, func(c [][]byte) [][]byte { return c[:2] }), attest.ErrCertificate, "certification_data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifyReal(tt.mut(realQuote(t)), realSource(t), pinned)
			checkClass(t, err, tt.class)
			if tt.field != "" {
				checkField(t, err, tt.field)
			}
		})
	}
}

// mutChain returns a mutation that rewrites the quote's PCK chain. The
// quote signature does not cover certification data, so only the chain
// checks can catch it.
func mutChain(t *testing.T, f func([][]byte) [][]byte) func([]byte) []byte {
	return func(b []byte) []byte {
		q, err := quote.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		ders, err := layout.PEMCertificates(q.CertData)
		if err != nil {
			t.Fatal(err)
		}
		var pemData []byte
		for _, d := range f(ders) {
			pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bytes.Clone(d)})...)
		}
		q.CertData = pemData
		return q.Marshal()
	}
}

func TestVerifyRealVectorTime(t *testing.T) {
	tests := []struct {
		name  string
		now   time.Time
		class error
		field string
	}{
		{"before pck certificate", time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC), attest.ErrCertificate, "pck.notBefore"},
		{"before tcb info issue", time.Date(2022, 12, 18, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "tcb_info.issueDate"},
		{"qe identity expired", time.Date(2023, 1, 16, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "qe_identity.nextUpdate"},
		{"tcb info expired", time.Date(2023, 1, 19, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "tcb_info.nextUpdate"},
		{"tcb signing expired", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "tcb_signing.notAfter"},
		{"pck expired", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), attest.ErrCertificate, "pck.notAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifyReal(realQuote(t), realSource(t), tt.now)
			checkClass(t, err, tt.class)
			checkField(t, err, tt.field)
		})
	}
}

func TestVerifyRealVectorCollateral(t *testing.T) {
	flipHex := func(k collateral.Kind) func(memSource) {
		// Change one hex digit of the signature.
		return func(m memSource) {
			s := string(m[k])
			i := strings.Index(s, `"signature":"`) + len(`"signature":"`) + 4
			c := byte('0')
			if s[i] == '0' {
				c = '1'
			}
			m[k] = []byte(s[:i] + string(c) + s[i+1:])
		}
	}
	replace := func(k collateral.Kind, old, new string) func(memSource) {
		return func(m memSource) {
			if !bytes.Contains(m[k], []byte(old)) {
				t.Fatalf("%v does not contain %q", k, old)
			}
			m[k] = bytes.Replace(m[k], []byte(old), []byte(new), 1)
		}
	}
	tests := []struct {
		name  string
		mut   func(memSource)
		class error
		field string
	}{
		{"tcb info signature", flipHex(collateral.KindTCBInfo), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info level", replace(collateral.KindTCBInfo, `"tcbStatus":"SWHardeningNeeded"`, `"tcbStatus":"UpToDate"`), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info fmspc", replace(collateral.KindTCBInfo, `"fmspc":"00606A000000"`, `"fmspc":"00606A000001"`), attest.ErrCollateral, "tcb_info.fmspc"},
		{"tcb info pceId", replace(collateral.KindTCBInfo, `"pceId":"0000"`, `"pceId":"0001"`), attest.ErrCollateral, "tcb_info.pceId"},
		{"tcb info whitespace", replace(collateral.KindTCBInfo, `"version":3,`, `"version": 3,`), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info unknown member", replace(collateral.KindTCBInfo, `"version":3,`, `"version":3,"x":1,`), attest.ErrCollateral, "tcb_info.json"},
		{"tcb info not json", func(m memSource) { m[collateral.KindTCBInfo] = []byte("{") }, attest.ErrCollateral, "tcb_info.json"},
		{"qe identity signature", flipHex(collateral.KindQEIdentity), attest.ErrCollateral, "qe_identity.signature"},
		{"qe identity mrsigner", replace(collateral.KindQEIdentity, `"mrsigner":"8C`, `"mrsigner":"9C`), attest.ErrCollateral, "qe_identity.signature"},
		{"qe identity is tcb info", func(m memSource) { m[collateral.KindQEIdentity] = m[collateral.KindTCBInfo] }, attest.ErrCollateral, "qe_identity.json"},
		{"tcb info missing", func(m memSource) { delete(m, collateral.KindTCBInfo) }, attest.ErrCollateral, "tcb_info.json"},
		{"qe identity missing", func(m memSource) { delete(m, collateral.KindQEIdentity) }, attest.ErrCollateral, "qe_identity.json"},
		{"signing chain missing", func(m memSource) { delete(m, collateral.KindTCBSigningChain) }, attest.ErrCollateral, "tcb_signing_chain.pem"},
		{"signing chain garbage", func(m memSource) { m[collateral.KindTCBSigningChain] = []byte("nope") }, attest.ErrCollateral, "tcb_signing_chain.pem"},
		{"signing chain with wrong root", func(m memSource) {
			c := m[collateral.KindTCBSigningChain]
			i := bytes.Index(c, []byte("-----END CERTIFICATE-----")) + len("-----END CERTIFICATE-----\n")
			m[collateral.KindTCBSigningChain] = append(bytes.Clone(c[:i]), c[:i]...)
		}, attest.ErrCollateral, "root"},
		{"pck crl unparsable", func(m memSource) { m[collateral.KindPCKCRL] = []byte("not a crl") }, attest.ErrCollateral, "pck_crl.der"},
		{"root crl unparsable", func(m memSource) { m[collateral.KindRootCRL] = []byte("not a crl") }, attest.ErrCollateral, "root_crl.der"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := realSource(t)
			tt.mut(src)
			_, err := verifyReal(realQuote(t), src, pinned)
			checkClass(t, err, tt.class)
			checkField(t, err, tt.field)
		})
	}
}

func TestVerifyRealVectorBadChain(t *testing.T) {
	// The bundle's TCB signing chain holds the PCK Platform CA instead of
	// the TCB Signing certificate: same root, wrong role.
	_, err := verifyReal(realQuote(t), collateral.Dir(badChainDirPath), pinned)
	checkClass(t, err, attest.ErrCollateral)
	checkField(t, err, "tcb_signing.subject.CN")
}

func TestVerifyNoCollateral(t *testing.T) {
	_, err := verifyReal(realQuote(t), nil, pinned)
	checkClass(t, err, attest.ErrCollateral)
	checkField(t, err, "opts.Collateral")

	// A source that fails (rather than not finding an item) is a refusal:
	// revocation must not silently be skipped.
	_, err = verifyReal(realQuote(t), errSource{}, pinned)
	checkClass(t, err, attest.ErrCollateral)
}

func TestVerifyWrongFormat(t *testing.T) {
	_, err := NewVerifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatTDX, Payload: realQuote(t)},
		attest.Options{Now: pinned, Collateral: collateral.Dir(realCollateral)})
	checkClass(t, err, attest.ErrMalformed)
}

func TestVerifyTruncated(t *testing.T) {
	b := realQuote(t)
	src := realSource(t)
	for n := 0; n < len(b); n++ {
		_, err := verifyReal(b[:n:n], src, pinned)
		if attest.Class(err) != attest.ErrMalformed {
			t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", n, err)
		}
	}
}

func TestVerifyDoesNotModifyPayload(t *testing.T) {
	b := realQuote(t)
	orig := bytes.Clone(b)
	if _, err := verifyReal(b, realSource(t), pinned); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("Verify modified the payload")
	}
}

// FuzzVerify runs the whole verifier on arbitrary payloads with the real
// collateral: whatever the bytes, Verify returns claims or an error of one
// refusal class, and never panics.
func FuzzVerify(f *testing.F) {
	f.Add(realQuote(f))
	src := realSource(f)
	v := NewVerifier()
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatSGX, Payload: in}, attest.Options{Now: pinned, Collateral: src})
		if err != nil {
			if attest.Class(err) == nil {
				t.Fatalf("error without a refusal class: %v", err)
			}
			return
		}
		if c.Format != attest.FormatSGX || len(c.ReportData) != 64 || len(c.Measurement) != 32 {
			t.Fatalf("claims %+v", c)
		}
	})
}
