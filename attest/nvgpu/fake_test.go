package nvgpu

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// fakePKI is an NVIDIA-shaped chain (root, provisioner ICA, device,
// attestation key) under a test root, for reports hardware never signs.
type fakePKI struct {
	root, ica, device, leaf *x509.Certificate
	deviceKey, leafKey      *ecdsa.PrivateKey
	now                     time.Time
}

func newKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl, parent *x509.Certificate, pub any, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
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

func caTemplate(serial int64, cn string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"cofre test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

func newFakePKI(t testing.TB, now time.Time) *fakePKI {
	t.Helper()
	rootKey, icaKey := newKey(t, elliptic.P384()), newKey(t, elliptic.P384())
	f := &fakePKI{deviceKey: newKey(t, elliptic.P384()), leafKey: newKey(t, elliptic.P384()), now: now}
	rootT := caTemplate(1, "Test Device Identity CA", now)
	f.root = issue(t, rootT, rootT, &rootKey.PublicKey, rootKey)
	f.ica = issue(t, caTemplate(2, "Test Provisioner ICA", now), f.root, &icaKey.PublicKey, rootKey)
	f.device = issue(t, caTemplate(0x0bad1dea, "Test GPU BROM", now), f.ica, &f.deviceKey.PublicKey, icaKey)
	f.leaf = f.newLeaf(t, &f.leafKey.PublicKey)
	return f
}

func (f *fakePKI) newLeaf(t testing.TB, pub any) *x509.Certificate {
	return issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(4),
		Subject:      pkix.Name{CommonName: "Test GPU FMC LF"},
		NotBefore:    f.now.Add(-time.Hour),
		NotAfter:     f.now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}, f.device, pub, f.deviceKey)
}

func (f *fakePKI) chain() []*x509.Certificate {
	return []*x509.Certificate{f.leaf, f.device, f.ica, f.root}
}

func pemOf(certs []*x509.Certificate) []byte {
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.Raw
	}
	return chainPEM(ders)
}

func opaqueField16(typ uint16, data string) opaqueField {
	return opaqueField{Type: typ, Data: []byte(data)}
}

func fakeOpaque(extra ...opaqueField) []byte {
	o := &opaqueData{Fields: append([]opaqueField{
		opaqueField16(opaqueDriverVersion, "550.54.15\x00"),
		opaqueField16(opaqueVBIOSVersion, "\x00\x65\x00\x96\x02\x00\x00\x00"),
		opaqueField16(opaqueProject, "1010\x00"),
		opaqueField16(opaqueProjectSKU, "0200\x00"),
		opaqueField16(opaqueChipSKU, "882\x00"),
		opaqueField16(opaqueMsrsCnt, "\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00"),
	}, extra...)}
	return o.marshal()
}

// fakeReport is a well-formed report with three SHA-384 blocks and an
// unsigned (zero) signature.
func fakeReport() *report {
	r := &report{
		Request:  request{Version: spdmVersion11, Param1: attrSignatureRequested, Param2: opAllMeasurements},
		Response: response{Version: spdmVersion11, Opaque: fakeOpaque()},
	}
	for i := range r.Request.Nonce {
		r.Request.Nonce[i] = byte(0xa0 + i)
		r.Response.Nonce[i] = byte(0x10 + i)
	}
	for i := byte(1); i <= 3; i++ {
		v := sha512.Sum384([]byte{i})
		r.Response.Blocks = append(r.Response.Blocks, block{Index: i, ValueType: 0x01, Value: v[:]})
	}
	return r
}

// sign encodes r and signs it as the GPU would.
func sign(t testing.TB, r *report, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	b := r.marshal()
	d := sha512.Sum384(b[:len(b)-signatureLen])
	rs, ss, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	rs.FillBytes(b[len(b)-signatureLen : len(b)-signatureLen/2])
	ss.FillBytes(b[len(b)-signatureLen/2:])
	return b
}

func TestVerifySynthetic(t *testing.T) {
	f := newFakePKI(t, pinned)
	p256Leaf := f.newLeaf(t, &newKey(t, elliptic.P256()).PublicKey)
	other := newKey(t, elliptic.P384())
	tests := []struct {
		name   string
		mutate func(r *report)
		key    *ecdsa.PrivateKey         // nil: the attestation key
		chain  []*x509.Certificate       // nil: f.chain()
		now    time.Time                 // zero: pinned
		class  error                     // nil: accepted
		field  string                    // CheckError.Field of the refusal
		check  func(*testing.T, *report) // extra checks when accepted
	}{
		{name: "valid"},
		{name: "raw bitstream block", mutate: func(r *report) { r.Response.Blocks[1].ValueType = valueTypeRawBitstream | 0x03 }},
		{name: "slot 7", mutate: func(r *report) { r.Request.SlotID = 7; r.Response.Param2 = 7 }},
		{name: "unknown opaque field kept", mutate: func(r *report) { r.Response.Opaque = fakeOpaque(opaqueField16(200, "\x01\x02")) }},
		{name: "spdm 1.2", mutate: func(r *report) { r.Request.Version, r.Response.Version = 0x12, 0x12 }, class: attest.ErrMalformed, field: "request.spdm_version"},
		{name: "response version differs", mutate: func(r *report) { r.Response.Version = 0x10 }, class: attest.ErrMalformed, field: "response.spdm_version"},
		{name: "no signature requested", mutate: func(r *report) { r.Request.Param1 = 0 }, class: attest.ErrMalformed, field: "request.param1"},
		{name: "reserved request attribute", mutate: func(r *report) { r.Request.Param1 = 0x03 }, class: attest.ErrMalformed, field: "request.param1"},
		{name: "one block requested", mutate: func(r *report) { r.Request.Param2 = 2 }, class: attest.ErrMalformed, field: "request.param2"},
		{name: "pre-provisioned key slot", mutate: func(r *report) { r.Request.SlotID = 0x0f; r.Response.Param2 = 0x0f }, class: attest.ErrMalformed, field: "request.slot_id"},
		{name: "slot not echoed", mutate: func(r *report) { r.Response.Param2 = 1 }, class: attest.ErrMalformed, field: "response.param2"},
		{name: "reserved response param1", mutate: func(r *report) { r.Response.Param1 = 4 }, class: attest.ErrMalformed, field: "response.param1"},
		{name: "no blocks", mutate: func(r *report) { r.Response.Blocks = nil }, class: attest.ErrMalformed, field: "response.number_of_blocks"},
		{name: "descending indices", mutate: func(r *report) {
			b := r.Response.Blocks
			b[0], b[1] = b[1], b[0]
		}, class: attest.ErrMalformed, field: "response.measurement_record[1].index"},
		{name: "duplicate index", mutate: func(r *report) { r.Response.Blocks[1].Index = 1 }, class: attest.ErrMalformed, field: "response.measurement_record[1].index"},
		{name: "index zero", mutate: func(r *report) { r.Response.Blocks[0].Index = 0 }, class: attest.ErrMalformed, field: "response.measurement_record[0].index"},
		{name: "reserved value type", mutate: func(r *report) { r.Response.Blocks[2].ValueType = 0x05 }, class: attest.ErrMalformed, field: "response.measurement_record[2].value_type"},
		{name: "duplicate opaque field", mutate: func(r *report) {
			r.Response.Opaque = fakeOpaque(opaqueField16(opaqueDriverVersion, "999.99\x00"))
		}, class: attest.ErrMalformed, field: "opaque_data[6].type"},
		{name: "invalid opaque type", mutate: func(r *report) { r.Response.Opaque = fakeOpaque(opaqueField16(opaqueInvalid, "")) }, class: attest.ErrMalformed, field: "opaque_data[6].type"},
		{name: "control character in string", mutate: func(r *report) {
			r.Response.Opaque = fakeOpaque(opaqueField16(opaqueChipSKUMod, "0\n"))
		}, class: attest.ErrMalformed, field: "opaque_data.chip_sku_mod"},
		{name: "vbios reserved bytes", mutate: func(r *report) {
			r.Response.Opaque = (&opaqueData{Fields: []opaqueField{opaqueField16(opaqueVBIOSVersion, "\x00\x65\x00\x96\x02\x00\x00\x01")}}).marshal()
		}, class: attest.ErrMalformed, field: "opaque_data.vbios_version"},
		{name: "measurement counts not uint32s", mutate: func(r *report) {
			r.Response.Opaque = (&opaqueData{Fields: []opaqueField{opaqueField16(opaqueMsrsCnt, "\x01\x00\x00")}}).marshal()
		}, class: attest.ErrMalformed, field: "opaque_data.measurement_counts"},
		{name: "opaque data over SPDM limit", mutate: func(r *report) {
			r.Response.Opaque = (&opaqueData{Fields: []opaqueField{{Type: 300, Data: make([]byte, maxOpaqueSize)}}}).marshal()
		}, class: attest.ErrMalformed, field: "response.opaque_length"},
		{name: "signed by another key", key: other, class: attest.ErrSignature, field: "signature"},
		{name: "P-256 attestation key", chain: []*x509.Certificate{p256Leaf, f.device, f.ica, f.root}, class: attest.ErrCertificate, field: "cert_chain[0].public_key"},
		{name: "leaf issued by the ICA directly", chain: []*x509.Certificate{f.leaf, f.ica, f.root}, class: attest.ErrCertificate, field: "cert_chain"},
		{name: "expired", now: pinned.Add(48 * time.Hour), class: attest.ErrCertificate, field: "cert_chain[0].validity"},
		{name: "not yet valid", now: pinned.Add(-2 * time.Hour), class: attest.ErrCertificate, field: "cert_chain[0].validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeReport()
			if tt.mutate != nil {
				tt.mutate(r)
			}
			key, chain, now := tt.key, tt.chain, tt.now
			if key == nil {
				key = f.leafKey
			}
			if chain == nil {
				chain = f.chain()
			}
			if now.IsZero() {
				now = pinned
			}
			p := sign(t, r, key)
			c, err := NewVerifier(f.root).Verify(context.Background(), evidence(p), attest.Options{Now: now, Collateral: memSource{chain: pemOf(chain)}})
			if tt.class == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				checkSyntheticClaims(t, f, r, c)
				return
			}
			if attest.Class(err) != tt.class || classes(err) != 1 {
				t.Fatalf("err = %v, want class %v", err, tt.class)
			}
			if got := fieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (%v)", got, tt.field, err)
			}
		})
	}
}

func checkSyntheticClaims(t *testing.T, f *fakePKI, r *report, c *attest.Claims) {
	t.Helper()
	parsed, err := parseReport(r.marshal())
	if err != nil {
		t.Fatal(err)
	}
	m := sha512.Sum384(parsed.Response.Record)
	if !bytes.Equal(c.Measurement, m[:]) {
		t.Errorf("measurement = %s, want SHA-384 of the record", c.Measurement)
	}
	if !bytes.Equal(c.ReportData, r.Request.Nonce[:]) {
		t.Errorf("report data = %s, want the request nonce", c.ReportData)
	}
	if !bytes.Equal(c.PlatformID, f.device.SerialNumber.Bytes()) {
		t.Errorf("platform id = %s, want the device certificate serial", c.PlatformID)
	}
	if c.ProductID != "1010_0200_882" {
		t.Errorf("product id = %q", c.ProductID)
	}
	if want := uint64(550)<<32 | 54<<16 | 15; c.TCB["driver"] != want {
		t.Errorf("tcb driver = %#x, want %#x", c.TCB["driver"], want)
	}
	if c.TCB["vbios"] != 0x9600650002 {
		t.Errorf("tcb vbios = %#x", c.TCB["vbios"])
	}
	for _, b := range r.Response.Blocks {
		key := fmt.Sprintf("measurement_%02d", b.Index)
		if got, _ := c.Raw[key].(attest.Hex); !bytes.Equal(got, b.Value) {
			t.Errorf("%s = %s", key, got)
		}
	}
	if slot := c.Raw["slot"]; slot != int(r.Request.SlotID) {
		t.Errorf("slot = %v", slot)
	}
	if _, ok := c.Raw["device_name"]; ok {
		t.Error("device_name set for a certificate without NVIDIA's subjectAltName")
	}
	if o, err := parseOpaque(r.Response.Opaque); err == nil {
		if _, ok := o.field(200); ok && c.Raw["opaque_200"] == nil {
			t.Error("unknown opaque field 200 not in Raw")
		}
	}
}

func TestPackDriverVersion(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"545.00", 545 << 32, true},
		{"535.104.05", 535<<32 | 104<<16 | 5, true},
		{"550", 550 << 32, true},
		{"", 0, false},
		{"1.2.3.4", 0, false},
		{"545.x", 0, false},
		{"545.65536", 0, false},
		{"-1.0", 0, false},
	}
	for _, tt := range tests {
		got, ok := packDriverVersion(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("packDriverVersion(%q) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	// Packed versions order like the versions.
	a, _ := packDriverVersion("535.104.05")
	b, _ := packDriverVersion("545.00")
	if a >= b {
		t.Error("535.104.05 packs above 545.00")
	}
}

func TestProductIDNeedsAllParts(t *testing.T) {
	b := (&opaqueData{Fields: []opaqueField{opaqueField16(opaqueProject, "1010"), opaqueField16(opaqueChipSKU, "882")}}).marshal()
	o, err := parseOpaque(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := productID(o); got != "" {
		t.Errorf("productID = %q, want empty without a project SKU", got)
	}
	if tcb(o) != nil {
		t.Errorf("tcb = %v, want nil without versions", tcb(o))
	}
}
