package quote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-tdx-guest/abi"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	gotdx "github.com/google/go-tdx-guest/testing/testdata"
)

func realQuotes(t testing.TB) map[string][]byte {
	t.Helper()
	oasis, err := os.ReadFile("../../testdata/quote_v4_tdx_ecdsa_p256.bin")
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"oasis": oasis, "go-tdx-guest": gotdx.RawQuote}
}

// TestParseRealQuotes parses the real quotes, checks that marshalling gives
// the same bytes back, and compares every field with go-tdx-guest's parser.
func TestParseRealQuotes(t *testing.T) {
	for name, raw := range realQuotes(t) {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Marshal(); !bytes.Equal(got, raw[:len(raw)-q.Trailing]) || !bytes.Equal(got, q.Raw()) {
				t.Fatal("Marshal(Parse(b)) != b")
			}
			parsed, err := abi.QuoteToProto(raw)
			if err != nil {
				t.Fatal(err)
			}
			p := parsed.(*pb.QuoteV4)
			b := p.GetTdQuoteBody()
			qe := p.GetSignedData().GetCertificationData().GetQeReportCertificationData()
			for _, f := range []struct {
				name      string
				ours, lib []byte
			}{
				{"qe_vendor_id", q.Header.QEVendorID[:], p.GetHeader().GetQeVendorId()},
				{"user_data", q.Header.UserData[:], p.GetHeader().GetUserData()},
				{"tee_tcb_svn", q.Body.TEETCBSVN[:], b.GetTeeTcbSvn()},
				{"mr_seam", q.Body.MRSEAM[:], b.GetMrSeam()},
				{"mr_signer_seam", q.Body.MRSignerSEAM[:], b.GetMrSignerSeam()},
				{"seam_attributes", q.Body.SEAMAttributes[:], b.GetSeamAttributes()},
				{"td_attributes", q.Body.TDAttributes[:], b.GetTdAttributes()},
				{"xfam", q.Body.XFAM[:], b.GetXfam()},
				{"mr_td", q.Body.MRTD[:], b.GetMrTd()},
				{"mr_config_id", q.Body.MRConfigID[:], b.GetMrConfigId()},
				{"mr_owner", q.Body.MROwner[:], b.GetMrOwner()},
				{"mr_owner_config", q.Body.MROwnerConfig[:], b.GetMrOwnerConfig()},
				{"rtmr0", q.Body.RTMR[0][:], b.GetRtmrs()[0]},
				{"rtmr3", q.Body.RTMR[3][:], b.GetRtmrs()[3]},
				{"report_data", q.Body.ReportData[:], b.GetReportData()},
				{"signature", q.Signature[:], p.GetSignedData().GetSignature()},
				{"attestation_key", q.AttestationKey[:], p.GetSignedData().GetEcdsaAttestationKey()},
				{"qe_report.cpusvn", q.QEReport.CPUSVN[:], qe.GetQeReport().GetCpuSvn()},
				{"qe_report.attributes", q.QEReport.Attributes[:], qe.GetQeReport().GetAttributes()},
				{"qe_report.mrenclave", q.QEReport.MREnclave[:], qe.GetQeReport().GetMrEnclave()},
				{"qe_report.mrsigner", q.QEReport.MRSigner[:], qe.GetQeReport().GetMrSigner()},
				{"qe_report.report_data", q.QEReport.ReportData[:], qe.GetQeReport().GetReportData()},
				{"qe_report_signature", q.QEReportSignature[:], qe.GetQeReportSignature()},
				{"qe_auth_data", q.QEAuthData, qe.GetQeAuthData().GetData()},
				{"pck_chain", q.PCKChain, qe.GetPckCertificateChainData().GetPckCertChain()},
				{"trailing", raw[len(raw)-q.Trailing:], p.GetExtraBytes()},
			} {
				if !bytes.Equal(f.ours, f.lib) {
					t.Errorf("%s = %x, go-tdx-guest says %x", f.name, f.ours, f.lib)
				}
			}
			if uint32(q.QEReport.ISVSVN) != qe.GetQeReport().GetIsvSvn() || uint32(q.QEReport.ISVProdID) != qe.GetQeReport().GetIsvProdId() {
				t.Errorf("qe isvsvn, isvprodid = %d, %d", q.QEReport.ISVSVN, q.QEReport.ISVProdID)
			}
			wantQE, err := abi.EnclaveReportToAbiBytes(qe.GetQeReport())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(q.QEReportBytes(), wantQE) {
				t.Error("QEReportBytes differ from go-tdx-guest's encoding")
			}
			if _, _, _, err := SplitPCKChain(q.PCKChain); err != nil {
				t.Errorf("SplitPCKChain: %v", err)
			}
		})
	}
}

// TestConstantsMatchGoTDXGuest pins the header values to go-tdx-guest's
// abi package, which this parser used to import them from.
func TestConstantsMatchGoTDXGuest(t *testing.T) {
	if Version4 != abi.QuoteVersion || AttestationKeyECDSAP256 != abi.AttestationKeyType || TEETypeTDX != abi.TeeTDX {
		t.Errorf("version, key type, TEE type = %d, %d, %#x; go-tdx-guest says %d, %d, %#x",
			Version4, AttestationKeyECDSAP256, TEETypeTDX, abi.QuoteVersion, abi.AttestationKeyType, abi.TeeTDX)
	}
}

func TestParseRefuses(t *testing.T) {
	raw := realQuotes(t)["oasis"]
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(raw)) }
	put16 := func(off int, v uint16) []byte {
		return mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b })
	}
	put32 := func(off int, v uint32) []byte {
		return mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b })
	}
	const (
		authLenSize  = 2
		repReserved1 = 20  // in the QE report body
		repReserved4 = 262 // in the QE report body
	)
	cdOff := SignedSize + sigDataLenSize + ecdsaSigSize + ecdsaKeySize
	qeOff := cdOff + certTypeSize + certLenSize
	authOff := qeOff + QEReportSize + ecdsaSigSize
	q, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	chainOff := authOff + authLenSize + len(q.QEAuthData)
	tests := []struct {
		name    string
		b       []byte
		wantMsg string
	}{
		{"empty", nil, "at least"},
		{"short", raw[:MinSize-1], "at least"},
		{"too large", make([]byte, MaxSize+1), "limit"},
		{"version", put16(hdrVersion, 5), "version"},
		{"key type", put16(hdrAttKeyType, 3), "attestation key type"},
		{"tee type", put32(hdrTEEType, 0), "TEE type"},
		{"signature data too long", put32(SignedSize, uint32(len(raw))), "only"},
		{"signature data too short", put32(SignedSize, 10), "at least"},
		{"certification data type", put16(cdOff, 5), "certification data type"},
		{"certification data length", put32(cdOff+certTypeSize, 1), "certification data length"},
		{"qe report reserved1", mut(func(b []byte) []byte { b[qeOff+repReserved1] = 1; return b }), "reserved1"},
		{"qe report reserved4", mut(func(b []byte) []byte { b[qeOff+repReserved4+41] = 1; return b }), "reserved4"},
		{"auth data length", put16(authOff, 0xffff), "authentication data length"},
		{"pck chain type", put16(chainOff, 6), "QE certification data type"},
		{"pck chain length", put32(chainOff+certTypeSize, 1), "PCK certificate chain length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.b)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Parse: %v, want ErrFormat mentioning %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	raw := bytes.Clone(realQuotes(t)["oasis"])
	q, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	clear(raw)
	if q.SignedBytes()[0] != Version4 || q.PCKChain[0] != '-' {
		t.Fatal("the parsed quote aliases its input")
	}
}

func TestSplitPCKChain(t *testing.T) {
	q, err := Parse(realQuotes(t)["oasis"])
	if err != nil {
		t.Fatal(err)
	}
	chain := bytes.TrimRight(q.PCKChain, "\x00")
	first := bytes.Index(chain, []byte("-----END CERTIFICATE-----")) + len("-----END CERTIFICATE-----\n")
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"as carried", q.PCKChain, true},
		{"without NUL", chain, true},
		{"two NULs and a newline", append(bytes.Clone(chain), 0, '\n', 0), true},
		{"empty", nil, false},
		{"two certificates", chain[first:], false},
		{"four certificates", append(bytes.Clone(chain), chain[:first]...), false},
		{"text between certificates", append(append(append([]byte{}, chain[:first]...), "junk\n"...), chain[first:]...), false},
		{"text after", append(bytes.Clone(chain), "junk"...), false},
		{"other block type", bytes.Replace(chain, []byte("BEGIN CERTIFICATE"), []byte("BEGIN PUBLIC KEY"), 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := SplitPCKChain(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("SplitPCKChain: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

// FuzzParseQuote checks that Parse never panics, and that what it accepts
// marshals back to the same bytes and parses to the same quote.
func FuzzParseQuote(f *testing.F) {
	for _, raw := range realQuotes(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		m := q.Marshal()
		if !bytes.Equal(m, b[:len(b)-q.Trailing]) {
			t.Fatal("Marshal(Parse(b)) != b")
		}
		q2, err := Parse(m)
		if err != nil || q2.Trailing != 0 || !bytes.Equal(q2.Marshal(), m) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzSplitPCKChain checks that SplitPCKChain never panics and returns
// three certificates or ErrFormat.
func FuzzSplitPCKChain(f *testing.F) {
	for _, raw := range realQuotes(f) {
		q, err := Parse(raw)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(q.PCKChain)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, i, r, err := SplitPCKChain(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		if l == nil || i == nil || r == nil {
			t.Fatal("nil certificate without error")
		}
	})
}
