package nvgpu

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

func TestParseVector(t *testing.T) {
	p := vector(t)
	r, err := parseReport(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Request.Version != 0x11 || r.Request.SlotID != 0 || len(r.Response.Blocks) != 64 || len(r.Response.Record) != 3520 || len(r.Response.Opaque) != 354 {
		t.Errorf("parsed %+v", r.Request)
	}
	for i, b := range r.Response.Blocks {
		if int(b.Index) != i+1 || b.ValueType != 0x01 || len(b.Value) != 48 {
			t.Errorf("block %d: index %d type %#x size %d", i, b.Index, b.ValueType, len(b.Value))
		}
	}
	if !bytes.Equal(r.marshal(), p) {
		t.Error("marshal does not give back the vector")
	}
	if !bytes.Equal(r.Signed, p[:len(p)-signatureLen]) {
		t.Error("signed bytes are not request ‖ response without signature")
	}
	o, err := parseOpaque(r.Response.Opaque)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Fields) != 12 || !bytes.Equal(o.marshal(), r.Response.Opaque) {
		t.Errorf("opaque: %d fields, round trip %v", len(o.Fields), bytes.Equal(o.marshal(), r.Response.Opaque))
	}
}

// TestParseReportMalformed covers the layout checks that signed synthetic
// reports (TestVerifySynthetic) cannot reach, because they concern the
// lengths marshal always gets right.
func TestParseReportMalformed(t *testing.T) {
	good := fakeReport().marshal()
	recordLenOff := requestLen + headerLen + 1
	firstBlock := requestLen + responseFixedLen
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		field  string
	}{
		{"short", func(b []byte) []byte { return b[:requestLen+10] }, "payload"},
		{"request code", func(b []byte) []byte { b[1] = 0x81; return b }, "request.code"},
		{"response code", func(b []byte) []byte { b[requestLen+1] = 0x7f; return b }, "response.code"},
		{"record length beyond payload", func(b []byte) []byte { b[recordLenOff+2] = 0xff; return b }, "response.measurement_record_length"},
		{"record longer than its blocks", func(b []byte) []byte { b[requestLen+headerLen] = 2; return b }, "response.measurement_record_length"},
		{"more blocks than the record holds", func(b []byte) []byte { b[requestLen+headerLen] = 4; return b }, "response.measurement_record[3]"},
		{"measurement specification", func(b []byte) []byte { b[firstBlock+1] = 0x02; return b }, "response.measurement_record[0].measurement_specification"},
		{"measurement size beyond record", func(b []byte) []byte { b[firstBlock+3] = 0x10; return b }, "response.measurement_record[0].measurement_size"},
		{"measurement size below DMTF header", func(b []byte) []byte {
			b[firstBlock+2], b[firstBlock+3] = 2, 0
			return b
		}, "response.measurement_record[0].measurement_size"},
		{"value size", func(b []byte) []byte { b[firstBlock+blockHeaderLen+1]++; return b }, "response.measurement_record[0].value_size"},
		{"opaque length", func(b []byte) []byte { b[len(b)-signatureLen-len(fakeOpaque())-2]++; return b }, "response.opaque_length"},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, "response.opaque_length"},
		{"oversized", func(b []byte) []byte { return make([]byte, maxPayloadSize+1) }, "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseReport(tt.mutate(bytes.Clone(good)))
			if attest.Class(err) != attest.ErrMalformed {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if got := fieldOf(err); got != tt.field {
				t.Errorf("field = %q, want %q (%v)", got, tt.field, err)
			}
		})
	}
}

func TestParseOpaque(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		field string // "" for accepted
		check func(*testing.T, *opaqueData)
	}{
		{name: "empty", in: nil, check: func(t *testing.T, o *opaqueData) {
			if len(o.Fields) != 0 {
				t.Errorf("fields = %v", o.Fields)
			}
		}},
		{name: "typed values", in: fakeOpaque(), check: func(t *testing.T, o *opaqueData) {
			if o.Values["driver_version"] != "550.54.15" || o.Values["vbios_version"] != "96.00.65.00.02" || o.Values["chip_sku"] != "882" {
				t.Errorf("values = %v", o.Values)
			}
			if c, _ := o.Values["measurement_counts"].([]uint32); len(c) != 3 || c[1] != 2 {
				t.Errorf("counts = %v", o.Values["measurement_counts"])
			}
		}},
		{name: "unknown type as hex", in: []byte{0x90, 0x01, 0x02, 0x00, 0xab, 0xcd}, check: func(t *testing.T, o *opaqueData) {
			if h, _ := o.Values["opaque_400"].(attest.Hex); h.String() != "abcd" {
				t.Errorf("opaque_400 = %v", o.Values["opaque_400"])
			}
		}},
		{name: "zero-length field", in: []byte{0x0b, 0x00, 0x00, 0x00}, check: func(t *testing.T, o *opaqueData) {
			if h, ok := o.Values["nvdec0_status"].(attest.Hex); !ok || len(h) != 0 {
				t.Errorf("nvdec0_status = %v", o.Values["nvdec0_status"])
			}
		}},
		{name: "short header", in: []byte{0x03, 0x00, 0x01}, field: "opaque_data[0]"},
		{name: "size beyond data", in: []byte{0x03, 0x00, 0x05, 0x00, '5', '4'}, field: "opaque_data[0].size"},
		{name: "second field short", in: append(fakeOpaque(), 0x01), field: "opaque_data[6]"},
		{name: "duplicate", in: append(fakeOpaque(), fakeOpaque()...), field: "opaque_data[6].type"},
		{name: "invalid type", in: []byte{0xff, 0x00, 0x00, 0x00}, field: "opaque_data[0].type"},
		{name: "NUL inside string", in: []byte{0x11, 0x00, 0x03, 0x00, '1', 0, '1'}, field: "opaque_data.project"},
		{name: "high byte in string", in: []byte{0x03, 0x00, 0x01, 0x00, 0xc3}, field: "opaque_data.driver_version"},
		{name: "vbios short", in: []byte{0x06, 0x00, 0x01, 0x00, 0x96}, field: "opaque_data.vbios_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOpaque(tt.in)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(o.marshal(), tt.in) {
					t.Error("round trip differs")
				}
				tt.check(t, o)
				return
			}
			if attest.Class(err) != attest.ErrMalformed || fieldOf(err) != tt.field {
				t.Fatalf("err = %v (field %q), want ErrMalformed on %q", err, fieldOf(err), tt.field)
			}
		})
	}
}

// classes counts the refusal classes err wraps: exactly one is allowed.
func classes(err error) int {
	n := 0
	for _, c := range []error{attest.ErrMalformed, attest.ErrSignature, attest.ErrCertificate, attest.ErrCollateral, attest.ErrTCB, attest.ErrBinding, attest.ErrUnsupportedFormat} {
		if errors.Is(err, c) {
			n++
		}
	}
	return n
}

// FuzzParseReport checks that the SPDM parser never panics, refuses only
// with ErrMalformed, and that what it accepts marshals back to the input.
func FuzzParseReport(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReport(b)
		if err != nil {
			if attest.Class(err) != attest.ErrMalformed || classes(err) != 1 {
				t.Fatalf("refusal %v is not exactly ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(r.marshal(), b) {
			t.Fatal("accepted report does not marshal back to its bytes")
		}
		if !bytes.Equal(r.Signed, b[:len(b)-signatureLen]) {
			t.Fatal("signed bytes are not the payload without its signature")
		}
	})
}

// FuzzParseOpaque checks the opaque-data parser the same way.
func FuzzParseOpaque(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOpaque(b)
		if err != nil {
			if attest.Class(err) != attest.ErrMalformed || classes(err) != 1 {
				t.Fatalf("refusal %v is not exactly ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(o.marshal(), b) {
			t.Fatal("accepted opaque data does not marshal back to its bytes")
		}
		tcb(o)
		productID(o)
	})
}

// FuzzVerify runs the whole verifier against the real chain: it must never
// panic and every refusal wraps exactly one class.
func FuzzVerify(f *testing.F) {
	v := NewVerifier()
	opts := attest.Options{Now: pinned, Collateral: collateral.Dir("testdata/collateral")}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), evidence(b), opts)
		if err != nil {
			if classes(err) != 1 {
				t.Fatalf("refusal %v wraps %d classes", err, classes(err))
			}
			return
		}
		if c.Format != attest.FormatNVGPU || c.TEE != attest.TEENVGPU {
			t.Fatalf("claims labelled %s/%v", c.Format, c.TEE)
		}
	})
}

// TestFuzzCorpora keeps the committed seed corpora from silently going
// empty, and checks each holds the real report (or its opaque data).
func TestFuzzCorpora(t *testing.T) {
	for _, name := range []string{"FuzzParseReport", "FuzzParseOpaque", "FuzzVerify"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
		if err != nil || len(files) == 0 {
			t.Errorf("%s: no seed corpus (%v)", name, err)
			continue
		}
		if _, err := os.Stat(filepath.Join("testdata", "fuzz", name, "real-h100")); err != nil {
			t.Errorf("%s: the real H100 seed is missing: %v", name, err)
		}
	}
}
