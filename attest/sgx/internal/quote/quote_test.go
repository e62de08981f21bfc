package quote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
)

const realVector = "../../testdata/quote_v3_ecdsa_p256_pck_chain.bin"

// Offsets of the reserved fields in a report body (Table A.5).
const (
	rbReserved1 = 20
	rbReserved2 = 96
	rbReserved3 = 160
	rbReserved4 = 262
)

func readReal(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(realVector)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReal(t *testing.T) {
	b := readReal(t)
	q, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if q.Header.Version != 3 || q.Header.AttestationKeyType != 2 || q.Header.QESVN != 9 || q.Header.PCESVN != 13 || q.Header.QEVendorID != layout.IntelQEVendorID {
		t.Errorf("header %+v", q.Header)
	}
	if q.Body.MREnclave[0] != 0x68 || q.Body.MRSigner[0] != 0x9a || q.Body.Debug() {
		t.Errorf("body %+v", q.Body)
	}
	if q.QEReport.ISVProdID != 1 || q.QEReport.ISVSVN != 9 || q.QEReport.MRSigner[0] != 0x8c {
		t.Errorf("qe report %+v", q.QEReport)
	}
	if len(q.QEAuthData) != 32 {
		t.Errorf("auth data %d bytes", len(q.QEAuthData))
	}
	if !bytes.Equal(q.Marshal(), b) {
		t.Error("Marshal does not reproduce the input")
	}
	if !bytes.Equal(q.Signed(), b[:SignedSize]) || !bytes.Equal(q.QEReportBytes(), b[SignedSize+4+128:SignedSize+4+128+ReportBodySize]) {
		t.Error("signed byte ranges")
	}
	ders, err := layout.PEMCertificates(q.CertData)
	if err != nil || len(ders) != 3 {
		t.Fatalf("PEMCertificates: %d, %v", len(ders), err)
	}
}

func TestParseErrors(t *testing.T) {
	const sigLenOff = SignedSize
	authLenOff := SignedSize + 4 + minSigDataSize - 8
	tests := []struct {
		name string
		mut  func([]byte) []byte
		want error
	}{
		{"empty", func([]byte) []byte { return nil }, ErrTruncated},
		{"header only", func(b []byte) []byte { return b[:HeaderSize] }, ErrTruncated},
		{"too large", func(b []byte) []byte { return make([]byte, MaxQuoteSize+1) }, ErrTooLarge},
		{"version 4", func(b []byte) []byte { b[0] = 4; return b }, ErrValue},
		{"key type 3", func(b []byte) []byte { b[2] = 3; return b }, ErrValue},
		{"tee type tdx", func(b []byte) []byte { b[4] = 0x81; return b }, ErrReserved},
		{"reserved1", func(b []byte) []byte { b[HeaderSize+rbReserved1] = 1; return b }, ErrReserved},
		{"reserved2", func(b []byte) []byte { b[HeaderSize+rbReserved2+31] = 1; return b }, ErrReserved},
		{"reserved3", func(b []byte) []byte { b[HeaderSize+rbReserved3] = 1; return b }, ErrReserved},
		{"reserved4", func(b []byte) []byte { b[HeaderSize+rbReserved4+41] = 1; return b }, ErrReserved},
		{"qe reserved4", func(b []byte) []byte { b[SignedSize+4+128+rbReserved4] = 1; return b }, ErrReserved},
		{"signature length short", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[sigLenOff:], uint32(len(b)-SignedSize-5))
			return b
		}, ErrTrailing},
		{"signature length long", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[sigLenOff:], uint32(len(b))); return b }, ErrTruncated},
		{"signature length huge", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[sigLenOff:], 0xffffffff); return b }, ErrTruncated},
		{"auth length huge", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[authLenOff:], 0xffff); return b }, ErrTruncated},
		{"cert type 1", func(b []byte) []byte { b[authLenOff+2+32] = 1; return b }, ErrValue},
		{"cert size short", func(b []byte) []byte { b[authLenOff+2+32+2] -= 1; return b }, ErrTrailing},
		{"cert size long", func(b []byte) []byte { b[authLenOff+2+32+2] += 1; return b }, ErrTruncated},
		{"cert size over limit", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[authLenOff+2+32+2:], layout.MaxCertDataSize+1)
			return b
		}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.mut(readReal(t)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseQuote(f *testing.F) {
	b := readReal(f)
	f.Add(b)
	f.Add(b[:SignedSize+4])
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		q, err := Parse(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			return
		}
		if out := q.Marshal(); !bytes.Equal(out, in) {
			t.Fatalf("round trip: %x != %x", out, in)
		}
		if len(q.Signed()) != SignedSize || len(q.QEReportBytes()) != ReportBodySize {
			t.Fatal("signed ranges")
		}
		_, _ = layout.PEMCertificates(q.CertData)
	})
}
