package sgx

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
)

func TestFakeAccepted(t *testing.T) {
	w := newWorld(t)
	c, err := w.verify()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.TCBStatus != attest.TCBSWHardeningNeeded || !slices.Equal(c.Advisories, []string{"INTEL-SA-00001"}) {
		t.Errorf("status %v advisories %v", c.TCBStatus, c.Advisories)
	}
	if c.ProductID != "7" || c.SVN != 3 || c.Debug || c.Measurement[0] != 0xaa || c.Signer[0] != 0xcc {
		t.Errorf("claims %+v", c)
	}
	// CRLs present and clean: the only warning is the TCB status.
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "SWHardeningNeeded") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestFakeUpToDateNoWarnings(t *testing.T) {
	w := newWorld(t)
	for i := range w.pckTCB.Components {
		w.pckTCB.Components[i] = 6
	}
	w.pckTCB.PCESVN = 12
	w.reissueLeaf()
	c, err := w.verify()
	if err != nil {
		t.Fatal(err)
	}
	if c.TCBStatus != attest.TCBUpToDate || len(c.Warnings) != 0 || c.TCBDate.Year() != 2024 {
		t.Errorf("status %v warnings %q date %v", c.TCBStatus, c.Warnings, c.TCBDate)
	}
}

func TestFakeStatus(t *testing.T) {
	tests := []struct {
		name       string
		mut        func(*world)
		want       attest.TCBStatus
		wantDate   int // year
		advisories []string
		debug      bool
	}{
		{"platform level by pcesvn", func(w *world) { w.pckTCB.PCESVN = 10; w.reissueLeaf() }, attest.TCBOutOfDate, 2022, []string{"INTEL-SA-00002"}, false},
		{"platform level by one component", func(w *world) { w.pckTCB.Components[15] = 4; w.reissueLeaf() }, attest.TCBOutOfDate, 2022, []string{"INTEL-SA-00002"}, false},
		{"qe out of date", func(w *world) { w.qeReport.ISVSVN = 7 }, attest.TCBOutOfDate, 2023, []string{"INTEL-SA-00001", "INTEL-SA-00003"}, false},
		{"qe out of date, platform configuration needed", func(w *world) {
			w.qeReport.ISVSVN = 6
			w.tcbInfo["tcbLevels"].([]any)[1].(map[string]any)["tcbStatus"] = "ConfigurationNeeded"
		}, attest.TCBOutOfDateConfigurationNeeded, 2023, []string{"INTEL-SA-00001", "INTEL-SA-00003"}, false},
		{"debug enclave", func(w *world) { w.body.Attributes[0] |= 0x02 }, attest.TCBSWHardeningNeeded, 2023, []string{"INTEL-SA-00001"}, true},
		{"tcb info version 2", func(w *world) {
			delete(w.tcbInfo, "id")
			w.tcbInfo["version"] = 2
			var levels []any
			for _, l := range w.tcbInfo["tcbLevels"].([]any) {
				l := l.(map[string]any)
				tcb := l["tcb"].(map[string]any)
				v2 := map[string]any{"pcesvn": tcb["pcesvn"]}
				for i, c := range tcb["sgxtcbcomponents"].([]any) {
					v2[strings.Replace("sgxtcbcompNNsvn", "NN", twoDigits(i+1), 1)] = c.(map[string]any)["svn"]
				}
				l["tcb"] = v2
				levels = append(levels, l)
			}
			w.tcbInfo["tcbLevels"] = levels
		}, attest.TCBSWHardeningNeeded, 2023, []string{"INTEL-SA-00001"}, false},
		{"processor ca", func(w *world) { w.reissueCA(dcap.CNProcessorCA) }, attest.TCBSWHardeningNeeded, 2023, []string{"INTEL-SA-00001"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.mut(w)
			c, err := w.verify()
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.TCBStatus != tt.want || c.TCBDate.Year() != tt.wantDate || !slices.Equal(c.Advisories, tt.advisories) || c.Debug != tt.debug {
				t.Errorf("status %v date %v advisories %v debug %v; want %v %d %v %v", c.TCBStatus, c.TCBDate, c.Advisories, c.Debug, tt.want, tt.wantDate, tt.advisories, tt.debug)
			}
			if hasWarning(c, "debug enclave") != tt.debug {
				t.Errorf("warnings %q", c.Warnings)
			}
			if !hasWarning(c, "TCB status "+tt.want.String()) {
				t.Errorf("warnings %q lack the TCB status", c.Warnings)
			}
		})
	}
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func hasWarning(c *attest.Claims, s string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// TestFakeCRLRequest checks that the PCK CRL is asked for the CA that
// issued the PCK certificate.
func TestFakeCRLRequest(t *testing.T) {
	for _, tt := range []struct{ cn, want string }{{dcap.CNPlatformCA, "platform"}, {dcap.CNProcessorCA, "processor"}} {
		w := newWorld(t)
		w.reissueCA(tt.cn)
		rec := &recordingSource{Source: w.source()}
		_, err := NewVerifier(WithRoot(w.root)).Verify(context.Background(),
			attest.Evidence{Format: attest.FormatSGX, Payload: w.quote()}, attest.Options{Now: w.now, Collateral: rec})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rec.reqs {
			if r.TEE != "sgx" {
				t.Errorf("request %v: TEE %q", r.Kind, r.TEE)
			}
			switch r.Kind {
			case collateral.KindPCKCRL:
				got = append(got, "pck:"+r.CA)
			case collateral.KindTCBInfo:
				got = append(got, "tcb:"+r.FMSPC)
			}
		}
		if want := []string{"pck:" + tt.want, "tcb:00906ED50000"}; !slices.Equal(got, want) {
			t.Errorf("%s: requests %v, want %v", tt.cn, got, want)
		}
	}
}

type recordingSource struct {
	collateral.Source
	reqs []collateral.Request
}

func (r *recordingSource) Fetch(ctx context.Context, req collateral.Request) ([]byte, error) {
	r.reqs = append(r.reqs, req)
	return r.Source.Fetch(ctx, req)
}

func TestFakeRefused(t *testing.T) {
	tests := []struct {
		name  string
		mut   func(*world)
		class error
		field string
	}{
		// PCK chain and revocation.
		{"pck revoked", func(w *world) { w.pckCRL.revoked = []*big.Int{big.NewInt(4)} }, attest.ErrCertificate, "pck.serialNumber"},
		{"pck ca revoked", func(w *world) { w.rootCRL.revoked = []*big.Int{big.NewInt(2)} }, attest.ErrCertificate, "pck_ca.serialNumber"},
		{"tcb signing revoked", func(w *world) { w.rootCRL.revoked = []*big.Int{big.NewInt(3)} }, attest.ErrCollateral, "tcb_signing.serialNumber"},
		{"pck crl forged", func(w *world) { w.pckCRL.signer = w.pckKey }, attest.ErrCollateral, "pck_crl.signature"},
		{"root crl forged", func(w *world) { w.rootCRL.signer = w.caKey }, attest.ErrCollateral, "root_crl.signature"},
		{"pck is a ca", func(w *world) {
			w.leaf = w.issue(&x509.Certificate{SerialNumber: big.NewInt(4), Subject: intelName(dcap.CNPCKCertificate), IsCA: true, BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: w.leaf.Extensions[len(w.leaf.Extensions)-1:]}, w.ca, w.caKey, w.pckKey)
		}, attest.ErrCertificate, "pck.basicConstraints.cA"},
		{"pck without sgx extension", func(w *world) {
			w.leaf = w.issue(&x509.Certificate{SerialNumber: big.NewInt(4), Subject: intelName(dcap.CNPCKCertificate), BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageDigitalSignature}, w.ca, w.caKey, w.pckKey)
		}, attest.ErrCertificate, "pck.sgxExtensions"},
		{"pck ca of unknown kind", func(w *world) { w.reissueCA("Intel SGX PCK Other CA") }, attest.ErrCertificate, "pck_ca.subject.CN"},
		// Signatures.
		{"qe report signed by another key", func(w *world) { w.pckKey = genKey(w.t) }, attest.ErrSignature, "qe_report_signature"},
		// Collateral.
		{"non-intel qe vendor", func(w *world) { w.header.QEVendorID[0] ^= 1 }, attest.ErrCollateral, "header.qe_vendor_id"},
		{"collateral signed by pck key", func(w *world) {
			// A PCK key can be extracted from one platform; it chains to the
			// Intel root but must never sign collateral.
			w.collateralKey = w.pckKey
			w.signingChain = pemChain(w.leaf.Raw, w.root.Raw)
		}, attest.ErrCollateral, "tcb_signing.subject.CN"},
		{"tcb signing issued by pck ca", func(w *world) {
			signer := w.issue(&x509.Certificate{SerialNumber: big.NewInt(9), Subject: intelName(dcap.CNTCBSigning), BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageDigitalSignature}, w.ca, w.caKey, w.tcbKey)
			w.signingChain = pemChain(signer.Raw, w.root.Raw)
		}, attest.ErrCollateral, "tcb_signing.issuer"},
		{"tcb signing from another root", func(w *world) {
			other := newWorld(w.t)
			w.signingChain = pemChain(other.tcbSigner.Raw)
			w.collateralKey = other.tcbKey
		}, attest.ErrCollateral, "tcb_signing.signature"},
		{"tcb info fmspc mismatch", func(w *world) { w.tcbInfo["fmspc"] = "00906ED50001" }, attest.ErrCollateral, "tcb_info.fmspc"},
		{"tcb info pceId mismatch", func(w *world) { w.tcbInfo["pceId"] = "0100" }, attest.ErrCollateral, "tcb_info.pceId"},
		{"tcb info not yet issued", func(w *world) { w.tcbInfo["issueDate"] = w.now.Add(time.Hour).Format(time.RFC3339) }, attest.ErrCollateral, "tcb_info.issueDate"},
		{"tcb info expired", func(w *world) { w.tcbInfo["nextUpdate"] = w.now.Add(-time.Hour).Format(time.RFC3339) }, attest.ErrCollateral, "tcb_info.nextUpdate"},
		{"tcb info for tdx", func(w *world) { w.tcbInfo["id"] = "TDX" }, attest.ErrCollateral, "tcb_info.id"},
		{"tcb info version 4", func(w *world) { w.tcbInfo["version"] = 4 }, attest.ErrCollateral, "tcb_info.version"},
		{"qe identity expired", func(w *world) { w.qeIdentity["nextUpdate"] = w.now.Add(-time.Hour).Format(time.RFC3339) }, attest.ErrCollateral, "qe_identity.nextUpdate"},
		{"qe identity for td qe", func(w *world) { w.qeIdentity["id"] = "TD_QE" }, attest.ErrCollateral, "qe_identity.id"},
		{"qe mrsigner mismatch", func(w *world) { w.qeReport.MRSigner[31] ^= 1 }, attest.ErrCollateral, "qe_report.mrsigner"},
		{"qe isvprodid mismatch", func(w *world) { w.qeIdentity["isvprodid"] = 2 }, attest.ErrCollateral, "qe_report.isvprodid"},
		{"qe miscselect mismatch", func(w *world) { w.qeReport.MiscSelect = 1 }, attest.ErrCollateral, "qe_report.miscselect"},
		{"qe debug", func(w *world) { w.qeReport.Attributes[0] |= 0x02 }, attest.ErrCollateral, "qe_report.attributes"},
		// TCB levels.
		{"qe isvsvn below every level", func(w *world) { w.qeReport.ISVSVN = 5 }, attest.ErrTCB, "qe_identity.tcbLevels"},
		{"qe level revoked", func(w *world) {
			w.qeReport.ISVSVN = 6
			w.qeIdentity["tcbLevels"].([]any)[1].(map[string]any)["tcbStatus"] = "Revoked"
		}, attest.ErrTCB, "tcb_status"},
		{"platform below every level", func(w *world) { w.pckTCB.Components[0] = 3; w.reissueLeaf() }, attest.ErrTCB, "tcb_info.tcbLevels"},
		{"platform pcesvn below every level", func(w *world) { w.pckTCB.PCESVN = 9; w.reissueLeaf() }, attest.ErrTCB, "tcb_info.tcbLevels"},
		{"platform level revoked", func(w *world) {
			w.tcbInfo["tcbLevels"].([]any)[1].(map[string]any)["tcbStatus"] = "Revoked"
		}, attest.ErrTCB, "tcb_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.mut(w)
			_, err := w.verify()
			checkClass(t, err, tt.class)
			checkField(t, err, tt.field)
		})
	}
}

func TestFakeMissingCRLsWarn(t *testing.T) {
	w := newWorld(t)
	w.pckCRL, w.rootCRL = nil, nil
	c, err := w.verify()
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(c, "PCK CRL not available (platform CA)") || !hasWarning(c, "Root CA CRL not available") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestFakeQEIdentityAllMismatches(t *testing.T) {
	// Every mismatch is reported, not only the first.
	w := newWorld(t)
	w.qeReport.MRSigner[0] ^= 1
	w.qeReport.ISVProdID = 9
	w.qeReport.MiscSelect = 1
	_, err := w.verify()
	checkClass(t, err, attest.ErrCollateral)
	for _, f := range []string{"qe_report.mrsigner", "qe_report.isvprodid", "qe_report.miscselect"} {
		checkField(t, err, f)
	}
}

func TestFakeChainRefusedByDefaultRoot(t *testing.T) {
	w := newWorld(t)
	_, err := NewVerifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatSGX, Payload: w.quote()},
		attest.Options{Now: w.now, Collateral: w.source()})
	checkClass(t, err, attest.ErrCertificate)
	checkField(t, err, "root")
}

func pemChain(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

// A CRL outside its validity period is used, with a warning, as in
// attest/tdx: whoever controls collateral could omit it altogether, which is
// also only a warning, so refusing a stale one would protect nothing.
func TestFakeStaleCRLWarns(t *testing.T) {
	day := 24 * time.Hour
	w := newWorld(t)
	w.pckCRL.thisUpdate, w.pckCRL.nextUpdate = w.now.Add(-2*day), w.now.Add(-day)
	c, err := w.verify()
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(c, "pck_crl expired") {
		t.Errorf("warnings %q, want a stale PCK CRL warning", c.Warnings)
	}
}
