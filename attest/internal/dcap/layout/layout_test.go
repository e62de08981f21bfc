package layout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// The real quotes are the verifiers' vectors (see their testdata/README.md).
const (
	sgxQuote = "../../../sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin"
	tdxQuote = "../../../tdx/testdata/quote_v4_tdx_ecdsa_p256.bin"
)

// realCertData returns the QE report certification data of the real SGX
// (version 3) and TDX (version 4) quotes.
func realCertData(t testing.TB) map[string][]byte {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Version 3: header and report body (432 bytes), signature data length
	// (4), signature and attestation key (128), then the QE report
	// certification data up to the end.
	sgx := read(sgxQuote)[432+4+128:]
	// Version 4: header and TD quote body (632), signature data length (4),
	// signature and attestation key (128), certification data type 6 (2)
	// and its length (4), then that many bytes.
	tdx := read(tdxQuote)
	n := binary.LittleEndian.Uint32(tdx[632+4+128+2:])
	tdx = tdx[632+4+128+6:][:n]
	return map[string][]byte{"sgx": sgx, "tdx": tdx}
}

func TestParseQECertDataReal(t *testing.T) {
	for name, b := range realCertData(t) {
		t.Run(name, func(t *testing.T) {
			d, err := ParseQECertData(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.AppendTo(nil); !bytes.Equal(got, b) || d.Size() != len(b) {
				t.Fatal("AppendTo(ParseQECertData(b)) != b")
			}
			if d.Report.Debug() || len(d.AuthData) != 32 {
				t.Errorf("debug %v, %d bytes of auth data", d.Report.Debug(), len(d.AuthData))
			}
			ders, err := PEMCertificates(d.CertData)
			if err != nil || len(ders) != MaxChainLength {
				t.Errorf("PEMCertificates: %d certificates, %v", len(ders), err)
			}
		})
	}
}

func TestParseQECertDataErrors(t *testing.T) {
	real := realCertData(t)["sgx"]
	authOff := ReportBodySize + SignatureSize
	typeOff := authOff + authLenSize + 32 // the real auth data is 32 bytes
	mut := func(f func(b []byte) []byte) func() []byte {
		return func() []byte { return f(bytes.Clone(real)) }
	}
	tests := []struct {
		name string
		in   func() []byte
		want error
	}{
		{"empty", mut(func([]byte) []byte { return nil }), ErrTruncated},
		{"short", mut(func(b []byte) []byte { return b[:MinQECertDataSize-1] }), ErrTruncated},
		{"report reserved1", mut(func(b []byte) []byte { b[rbReserved1] = 1; return b }), ErrReserved},
		{"report reserved2", mut(func(b []byte) []byte { b[rbReserved2+31] = 1; return b }), ErrReserved},
		{"report reserved3", mut(func(b []byte) []byte { b[rbReserved3] = 1; return b }), ErrReserved},
		{"report reserved4", mut(func(b []byte) []byte { b[rbReserved4+41] = 1; return b }), ErrReserved},
		{"auth length huge", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[authOff:], 0xffff); return b }), ErrTruncated},
		{"cert type 6", mut(func(b []byte) []byte { b[typeOff] = 6; return b }), ErrValue},
		{"cert length short", mut(func(b []byte) []byte { b[typeOff+2]--; return b }), ErrTrailing},
		{"cert length long", mut(func(b []byte) []byte { b[typeOff+2]++; return b }), ErrTruncated},
		{"cert length over limit", mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[typeOff+2:], MaxCertDataSize+1)
			return b
		}), ErrTooLarge},
		{"trailing byte", mut(func(b []byte) []byte { return append(b, 0) }), ErrTrailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseQECertData(tt.in()); !errors.Is(err, tt.want) {
				t.Fatalf("ParseQECertData: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReportBodyRoundTrip(t *testing.T) {
	r := ReportBody{MiscSelect: 0x01020304, ISVProdID: 0x0506, ISVSVN: 7, ConfigSVN: 8}
	r.Attributes[0] = AttributeDebug
	r.MRSigner[31] = 9
	b := r.AppendTo(nil)
	if len(b) != ReportBodySize || b[rbMiscSelect] != 0x04 {
		t.Fatalf("wire form %x", b)
	}
	back, err := ParseReportBody(b)
	if err != nil || back != r || !back.Debug() {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestPEMCertificates(t *testing.T) {
	d, err := ParseQECertData(realCertData(t)["sgx"])
	if err != nil {
		t.Fatal(err)
	}
	chain := bytes.TrimRight(d.CertData, "\x00")
	first := chain[:bytes.Index(chain, []byte("-----END CERTIFICATE-----"))+len("-----END CERTIFICATE-----\n")]
	tests := []struct {
		name string
		in   []byte
		n    int // 0: refused
	}{
		{"real", d.CertData, 3},
		{"without nul", chain, 3},
		{"one", first, 1},
		{"crlf and nuls", append(bytes.ReplaceAll(first, []byte("\n"), []byte("\r\n")), 0, 0), 1},
		{"two nuls and a newline", append(bytes.Clone(chain), 0, '\n', 0), 3},
		{"empty", nil, 0},
		{"only nul", []byte{0}, 0},
		{"junk before", append([]byte("junk\n"), first...), 0},
		{"junk after", append(bytes.Clone(first), "junk"...), 0},
		{"nul between", append(append(bytes.Clone(first), 0), first...), 0},
		{"four", append(bytes.Clone(chain), first...), 0},
		{"key block", bytes.ReplaceAll(first, []byte("CERTIFICATE"), []byte("PUBLIC KEY")), 0},
		{"headers", bytes.Replace(first, []byte("-----\n"), []byte("-----\nProc-Type: 4,ENCRYPTED\n\n"), 1), 0},
		{"unterminated", first[:len(first)-10], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ders, err := PEMCertificates(tt.in)
			if tt.n == 0 {
				if !errors.Is(err, ErrCertFormat) {
					t.Fatalf("got %d certificates, %v; want ErrCertFormat", len(ders), err)
				}
				return
			}
			if err != nil || len(ders) != tt.n {
				t.Fatalf("got %d certificates, %v; want %d", len(ders), err, tt.n)
			}
		})
	}
}

// FuzzParseQECertData checks that the parser never panics, wraps one of its
// errors, and that what it accepts appends back to the same bytes.
func FuzzParseQECertData(f *testing.F) {
	for _, b := range realCertData(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		d, err := ParseQECertData(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("ParseQECertData modified its input")
		}
		if err != nil {
			for _, e := range []error{ErrTruncated, ErrTrailing, ErrTooLarge, ErrReserved, ErrValue} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error %v wraps none of the parser's errors", err)
		}
		if out := d.AppendTo(nil); !bytes.Equal(out, in) {
			t.Fatalf("round trip: %x != %x", out, in)
		}
	})
}

func FuzzPEMCertificates(f *testing.F) {
	for _, b := range realCertData(f) {
		d, err := ParseQECertData(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d.CertData)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ders, err := PEMCertificates(in)
		if err == nil && (len(ders) == 0 || len(ders) > MaxChainLength) {
			t.Fatalf("%d certificates without error", len(ders))
		}
		if err != nil && !errors.Is(err, ErrCertFormat) {
			t.Fatalf("error %v is not ErrCertFormat", err)
		}
	})
}
