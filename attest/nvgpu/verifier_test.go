package nvgpu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// pinned is the verification time of the real vector (testdata/README.md).
var pinned = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	vectorMeasurement = "18c4b9dc8bfb2da4f12c34829f2ff555553cc5469c5e30e72c50c69680710a4e19f42495d513a7e6a6f762fe0ccc40cf"
	vectorNonce       = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
	vectorPlatformID  = "41ffeeb20009e0be49"
)

// vector returns the real H100 report as binary payload.
func vector(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/attestationReport.txt")
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// vectorChain returns the DER certificates of the real chain.
func vectorChain(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/collateral/cert_chain.pem")
	if err != nil {
		t.Fatal(err)
	}
	var ders [][]byte
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return ders
		}
		ders = append(ders, blk.Bytes)
	}
}

func chainPEM(ders [][]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

// memSource serves a fixed chain, or err.
type memSource struct {
	chain []byte
	err   error
}

func (m memSource) Fetch(_ context.Context, req collateral.Request) ([]byte, error) {
	if m.err != nil {
		return nil, m.err
	}
	if req.Kind != collateral.KindNVIDIACertChain {
		return nil, fmt.Errorf("unexpected %v: %w", req.Kind, collateral.ErrNotFound)
	}
	return m.chain, nil
}

func evidence(p []byte) attest.Evidence {
	return attest.Evidence{Format: attest.FormatNVGPU, Payload: p}
}

func TestVerifyVector(t *testing.T) {
	p := vector(t)
	orig := bytes.Clone(p)
	c, err := NewVerifier().Verify(context.Background(), evidence(p), attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !bytes.Equal(p, orig) {
		t.Error("Verify modified the payload")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"format", c.Format, attest.FormatNVGPU},
		{"tee", c.TEE, attest.TEENVGPU},
		{"measurement", c.Measurement.String(), vectorMeasurement},
		{"report data", c.ReportData.String(), vectorNonce},
		{"platform id", c.PlatformID.String(), vectorPlatformID},
		{"product id", c.ProductID, "1010_0200_882"},
		{"tcb status", c.TCBStatus, attest.TCBUnevaluated},
		{"debug", c.Debug, false},
		{"svn", c.SVN, uint64(0)},
		{"tcb vbios", c.TCB["vbios"], uint64(0x96005e0001)},
		{"tcb driver", c.TCB["driver"], uint64(545) << 32},
		{"warnings", strings.Join(c.Warnings, "|"), RevocationWarning},
		{"driver_version", c.Raw["driver_version"], "545.00"},
		{"vbios_version", c.Raw["vbios_version"], "96.00.5e.00.01"},
		{"project", c.Raw["project"], "1010"},
		{"project_sku", c.Raw["project_sku"], "0200"},
		{"chip_sku", c.Raw["chip_sku"], "882"},
		{"project_sku_mod", c.Raw["project_sku_mod"], ""},
		{"nvdec0_status", fmt.Sprint(c.Raw["nvdec0_status"]), "55"},
		{"spdm_version", c.Raw["spdm_version"], "1.1"},
		{"slot", c.Raw["slot"], 0},
		{"blocks", c.Raw["measurement_blocks"], 64},
		{"measurement_01", fmt.Sprint(c.Raw["measurement_01"]), strings.Repeat("00", 48)},
		{"measurement_02", fmt.Sprint(c.Raw["measurement_02"]), "0b42836f56a7162e63cb7a9f3ee56b038325a9121442fa2ef34182f462816801448fa8f6798d13144a1b38be97181058"},
		{"responder_nonce", fmt.Sprint(c.Raw["responder_nonce"]), "1020ecb8f64dcfd50dabb760fc6a24210ba77d9f43a3a4db170a1f560283566f"},
		{"device_name", c.Raw["device_name"], "NVIDIA:GH100:48B02DB73E52137E"},
		{"device_certificate", c.Raw["device_certificate"], "SERIALNUMBER=41FFEEB20009E0BE49,CN=GH100 A01 GSP BROM,O=NVIDIA Corporation,C=US"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	counts, ok := c.Raw["measurement_counts"].([]uint32)
	if !ok || len(counts) != 64 || counts[11] != 130 {
		t.Errorf("measurement_counts = %v", c.Raw["measurement_counts"])
	}
	if len(c.ReportData) != nonceLen {
		t.Errorf("report data is %d bytes, want the %d-byte SPDM nonce", len(c.ReportData), nonceLen)
	}
	// Claims must not alias the caller's buffer.
	p[4] ^= 0xff
	if c.ReportData.String() != vectorNonce {
		t.Error("claims alias the payload")
	}
}

// TestVerifyTamperedEvidence flips security-relevant bytes of the real
// report: each must break the signature, not the parse.
func TestVerifyTamperedEvidence(t *testing.T) {
	p := vector(t)
	r, err := parseReport(p)
	if err != nil {
		t.Fatal(err)
	}
	respOff := requestLen
	recordOff := respOff + responseFixedLen
	block2Value := recordOff + (blockHeaderLen + dmtfHeaderLen + 48) + blockHeaderLen + dmtfHeaderLen
	respNonceOff := recordOff + len(r.Response.Record)
	opaqueOff := respNonceOff + nonceLen + opaqueLengthLen
	driverOff := bytes.Index(p, []byte("545.00"))
	if driverOff < opaqueOff {
		t.Fatal("driver version not found in opaque data")
	}
	sigOff := len(p) - signatureLen
	tests := []struct {
		name string
		off  int
	}{
		{"request nonce", headerLen},
		{"request nonce last byte", headerLen + nonceLen - 1},
		{"measurement block 2 value", block2Value},
		{"measurement block 64 value last byte", respNonceOff - 1},
		{"measurement value type", recordOff + blockHeaderLen}, // 0x01 → 0x00, still a valid type
		{"responder nonce", respNonceOff},
		{"opaque driver version", driverOff},
		{"opaque board id", opaqueOff + bytes.Index(r.Response.Opaque, []byte{0x0e, 0x00, 0x04, 0x00}) + 4},
		{"signature r", sigOff},
		{"signature s", sigOff + signatureLen - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := bytes.Clone(p)
			q[tt.off] ^= 0x01
			_, err := NewVerifier().Verify(context.Background(), evidence(q), attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")})
			if !errors.Is(err, attest.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			if attest.Class(err) != attest.ErrSignature {
				t.Errorf("class = %v", attest.Class(err))
			}
		})
	}
}

func TestVerifyCollateral(t *testing.T) {
	p := vector(t)
	ders := vectorChain(t)
	if len(ders) != 5 {
		t.Fatalf("chain has %d certificates", len(ders))
	}
	mutate := func(f func(d [][]byte) [][]byte) []byte {
		c := make([][]byte, len(ders))
		for i := range ders {
			c[i] = bytes.Clone(ders[i])
		}
		return chainPEM(f(c))
	}
	fake := newFakePKI(t, pinned)
	tests := []struct {
		name  string
		src   collateral.Source
		class error
		field string
	}{
		{"nil collateral", nil, attest.ErrCollateral, "cert_chain.pem"},
		{"missing file", collateral.Dir(t.TempDir()), attest.ErrCollateral, "cert_chain.pem"},
		{"fetch error", memSource{err: errors.New("unavailable")}, attest.ErrCollateral, "cert_chain.pem"},
		{"not PEM", memSource{chain: []byte("garbage")}, attest.ErrCollateral, "cert_chain.pem"},
		{"trailing garbage", memSource{chain: append(chainPEM(ders), "x"...)}, attest.ErrCollateral, "cert_chain.pem"},
		{"private key block", memSource{chain: append(chainPEM(ders), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...)}, attest.ErrCollateral, "cert_chain.pem[5]"},
		{"unparsable certificate", memSource{chain: mutate(func(d [][]byte) [][]byte { d[2] = d[2][:100]; return d })}, attest.ErrCollateral, "cert_chain.pem[2]"},
		{"too short", memSource{chain: chainPEM([][]byte{ders[0], ders[4]})}, attest.ErrCollateral, "cert_chain.pem"},
		{"too long", memSource{chain: chainPEM(append(append([][]byte{}, ders...), ders...))}, attest.ErrCollateral, "cert_chain.pem"},
		{"leaf signature", memSource{chain: mutate(func(d [][]byte) [][]byte { d[0][len(d[0])-1] ^= 1; return d })}, attest.ErrCertificate, "cert_chain"},
		{"device cert signature", memSource{chain: mutate(func(d [][]byte) [][]byte { d[1][len(d[1])-1] ^= 1; return d })}, attest.ErrCertificate, "cert_chain"},
		{"intermediate missing", memSource{chain: mutate(func(d [][]byte) [][]byte { return append(d[:2], d[3:]...) })}, attest.ErrCertificate, "cert_chain"},
		{"intermediates swapped", memSource{chain: mutate(func(d [][]byte) [][]byte { d[2], d[3] = d[3], d[2]; return d })}, attest.ErrCertificate, "cert_chain"},
		{"root missing", memSource{chain: mutate(func(d [][]byte) [][]byte { return d[:4] })}, attest.ErrCertificate, "cert_chain[3]"},
		{"another root", memSource{chain: mutate(func(d [][]byte) [][]byte { d[4] = fake.root.Raw; return d })}, attest.ErrCertificate, "cert_chain[4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier().Verify(context.Background(), evidence(p), attest.Options{Now: pinned, Collateral: tt.src})
			if !errors.Is(err, tt.class) || attest.Class(err) != tt.class || classes(err) != 1 {
				t.Fatalf("err = %v, want class %v", err, tt.class)
			}
			var ce *attest.CheckError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", fieldOf(err), tt.field, err)
			}
		})
	}
}

func fieldOf(err error) string {
	var ce *attest.CheckError
	if errors.As(err, &ce) {
		return ce.Field
	}
	return ""
}

func TestVerifyTime(t *testing.T) {
	p := vector(t)
	tests := []struct {
		name  string
		now   time.Time
		class error
		field string
	}{
		{"pinned", pinned, nil, ""},
		{"provisioner ICA not yet valid", time.Date(2022, 2, 28, 0, 0, 0, 0, time.UTC), attest.ErrCertificate, "cert_chain[2].validity"},
		{"nothing valid yet", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), attest.ErrCertificate, "cert_chain[0].validity"},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier().Verify(context.Background(), evidence(p), attest.Options{Now: tt.now, Collateral: collateral.Dir("testdata/collateral")})
			if tt.class == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if attest.Class(err) != tt.class || fieldOf(err) != tt.field {
				t.Fatalf("err = %v, want %v on %s", err, tt.class, tt.field)
			}
		})
	}
}

// TestVerifyTruncated cuts the real report at every length and extends it
// by a byte: each is malformed, none panics.
func TestVerifyTruncated(t *testing.T) {
	p := vector(t)
	v := NewVerifier()
	opts := attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")}
	for n := 0; n < len(p); n++ {
		_, err := v.Verify(context.Background(), evidence(p[:n]), opts)
		if attest.Class(err) != attest.ErrMalformed {
			t.Fatalf("%d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
	_, err := v.Verify(context.Background(), evidence(append(bytes.Clone(p), 0)), opts)
	if attest.Class(err) != attest.ErrMalformed {
		t.Fatalf("trailing byte: err = %v, want ErrMalformed", err)
	}
	_, err = v.Verify(context.Background(), evidence(make([]byte, maxPayloadSize+1)), opts)
	if attest.Class(err) != attest.ErrMalformed || fieldOf(err) != "payload" {
		t.Fatalf("oversized: err = %v, want ErrMalformed on payload", err)
	}
}

func TestVerifyFormat(t *testing.T) {
	_, err := NewVerifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: vector(t)},
		attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")})
	if attest.Class(err) != attest.ErrMalformed {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if got := NewVerifier().Format(); got != attest.FormatNVGPU {
		t.Errorf("Format() = %q", got)
	}
}

// TestVerifyOtherRoot checks that roots passed to NewVerifier replace the
// embedded one.
func TestVerifyOtherRoot(t *testing.T) {
	fake := newFakePKI(t, pinned)
	_, err := NewVerifier(fake.root).Verify(context.Background(), evidence(vector(t)), attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")})
	if attest.Class(err) != attest.ErrCertificate || fieldOf(err) != "cert_chain[4]" {
		t.Fatalf("err = %v, want ErrCertificate on the root", err)
	}
}

func TestEmbeddedRoot(t *testing.T) {
	root := deviceIdentityCA()
	h := sha256.Sum256(root.Raw)
	if got := hex.EncodeToString(h[:]); got != deviceIdentityCAFingerprint {
		t.Errorf("embedded root fingerprint = %s, want %s", got, deviceIdentityCAFingerprint)
	}
	if root.Subject.CommonName != "NVIDIA Device Identity CA" || !root.IsCA {
		t.Errorf("embedded root = %s", root.Subject)
	}
	ders := vectorChain(t)
	if !bytes.Equal(ders[len(ders)-1], root.Raw) {
		t.Error("the vector chain does not end in the embedded root")
	}
	readme, err := os.ReadFile("trust/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte(deviceIdentityCAFingerprint)) {
		t.Error("trust/README.md does not state the embedded root's fingerprint")
	}
}
