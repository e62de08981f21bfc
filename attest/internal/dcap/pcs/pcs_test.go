package pcs

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
)

// The real vectors are the verifiers' (see their testdata/README.md).
const (
	realQuote      = "../../../sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin"
	realTCBInfo    = "../../../sgx/testdata/collateral/tcb_info.json"
	realQEIdentity = "../../../sgx/testdata/collateral/qe_identity.json"

	tdxQuote      = "../../../tdx/testdata/quote_v4_tdx_ecdsa_p256.bin"
	tdxTCBInfo    = "../../../tdx/testdata/collateral/tcb_info.json"
	tdxQEIdentity = "../../../tdx/testdata/collateral/qe_identity.json"
)

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// realExtension returns the SGX extension of the real SGX vector's PCK
// certificate.
func realExtension(t testing.TB) []byte {
	t.Helper()
	// The QE report certification data starts after the header, the
	// report body, the signature data length, the signature and the
	// attestation key.
	return pckExtension(t, read(t, realQuote)[432+4+128:])
}

// pckExtension returns the SGX extension of the PCK certificate in QE
// report certification data.
func pckExtension(t testing.TB, certData []byte) []byte {
	t.Helper()
	d, err := layout.ParseQECertData(certData)
	if err != nil {
		t.Fatal(err)
	}
	ders, err := layout.PEMCertificates(d.CertData)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(ders[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(OIDSGXExtensions) {
			return e.Value
		}
	}
	t.Fatal("no sgx extension")
	return nil
}

func TestParsePCKExtensionsReal(t *testing.T) {
	ext, err := ParsePCKExtensions(realExtension(t))
	if err != nil {
		t.Fatal(err)
	}
	want := [16]uint8{7, 9, 3, 3, 255, 255, 1}
	if ext.TCB.Components != want || ext.TCB.PCESVN != 13 {
		t.Errorf("tcb %+v", ext.TCB)
	}
	if ext.FMSPC != [6]byte{0x00, 0x60, 0x6a} || ext.PCEID != [2]byte{} || ext.SGXType != SGXTypeScalable {
		t.Errorf("fmspc %x pceid %x type %v", ext.FMSPC, ext.PCEID, ext.SGXType)
	}
	if ext.TCB.CPUSVN != [16]byte{7, 9, 3, 3, 0xff, 0xff, 1} {
		t.Errorf("cpusvn %x", ext.TCB.CPUSVN)
	}
	if len(ext.PlatformInstanceID) != 16 || ext.Configuration == nil || ext.Configuration.DynamicPlatform == nil ||
		!*ext.Configuration.DynamicPlatform || *ext.Configuration.CachedKeys || *ext.Configuration.SMTEnabled {
		t.Errorf("platform instance %x configuration %+v", ext.PlatformInstanceID, ext.Configuration)
	}
}

// kv is one SEQUENCE { OID, value } for building extensions in tests.
type kv struct {
	ID  asn1.ObjectIdentifier
	Val asn1.RawValue
}

func oid(arcs ...int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, OIDSGXExtensions...), arcs...)
}

func raw(t *testing.T, v any) asn1.RawValue {
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: b}
}

func buildExt(t *testing.T, mutTCB func([]kv) []kv, mut func([]kv) []kv) []byte {
	var tcb []kv
	for i := 1; i <= 16; i++ {
		tcb = append(tcb, kv{oid(2, i), raw(t, 1)})
	}
	tcb = append(tcb, kv{oid(2, 17), raw(t, 10)}, kv{oid(2, 18), raw(t, make([]byte, 16))})
	if mutTCB != nil {
		tcb = mutTCB(tcb)
	}
	ext := []kv{
		{oid(1), raw(t, make([]byte, 16))},
		{oid(2), raw(t, tcb)},
		{oid(3), raw(t, []byte{0, 0})},
		{oid(4), raw(t, make([]byte, 6))},
		{oid(5), raw(t, asn1.Enumerated(0))},
	}
	if mut != nil {
		ext = mut(ext)
	}
	b, err := asn1.Marshal(ext)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePCKExtensionsErrors(t *testing.T) {
	set := func(i int, v asn1.RawValue) func([]kv) []kv {
		return func(s []kv) []kv { s[i].Val = v; return s }
	}
	drop := func(i int) func([]kv) []kv {
		return func(s []kv) []kv { return append(s[:i:i], s[i+1:]...) }
	}
	dup := func(i int) func([]kv) []kv {
		return func(s []kv) []kv { return append(s, s[i]) }
	}
	tests := []struct {
		name     string
		tcb, ext func([]kv) []kv
		ok       bool
	}{
		{"valid", nil, nil, true},
		{"unknown entry ignored", nil, func(s []kv) []kv { return append(s, kv{oid(99), raw(t, 1)}) }, true},
		{"foreign oid ignored", nil, func(s []kv) []kv { return append(s, kv{asn1.ObjectIdentifier{1, 2, 3}, raw(t, 1)}) }, true},
		{"ppid missing", nil, drop(0), false},
		{"tcb missing", nil, drop(1), false},
		{"pceid missing", nil, drop(2), false},
		{"fmspc missing", nil, drop(3), false},
		{"sgx type missing", nil, drop(4), false},
		{"ppid twice", nil, dup(0), false},
		{"ppid short", nil, set(0, raw(t, make([]byte, 15))), false},
		{"ppid an integer", nil, set(0, raw(t, 5)), false},
		{"fmspc long", nil, set(3, raw(t, make([]byte, 7))), false},
		{"sgx type 3", nil, set(4, raw(t, asn1.Enumerated(3))), false},
		{"sgx type an integer", nil, set(4, raw(t, 1)), false},
		{"tcb not a sequence", nil, set(1, raw(t, 1)), false},
		{"tcb component missing", drop(3), nil, false},
		{"tcb pcesvn missing", drop(16), nil, false},
		{"tcb cpusvn missing", drop(17), nil, false},
		{"tcb component 256", set(0, raw(t, 256)), nil, false},
		{"tcb component negative", set(0, raw(t, -1)), nil, false},
		{"tcb pcesvn 65536", set(16, raw(t, 65536)), nil, false},
		{"tcb component twice", dup(2), nil, false},
		{"configuration not a sequence", nil, func(s []kv) []kv { return append(s, kv{oid(7), raw(t, true)}) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePCKExtensions(buildExt(t, tt.tcb, tt.ext))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrExtension) {
				t.Fatalf("err = %v, want ErrExtension", err)
			}
		})
	}
	// Trailing bytes after the SEQUENCE, and inside an entry.
	good := buildExt(t, nil, nil)
	for name, in := range map[string][]byte{
		"trailing":  append(bytes.Clone(good), 0),
		"truncated": good[:len(good)-1],
		"empty":     nil,
		"too large": make([]byte, MaxPCKExtensionSize+1),
	} {
		if _, err := ParsePCKExtensions(in); !errors.Is(err, ErrExtension) {
			t.Errorf("%s: err = %v, want ErrExtension", name, err)
		}
	}
	threeInEntry, err := asn1.Marshal([]struct {
		ID     asn1.ObjectIdentifier
		V, Ext []byte
	}{{oid(1), make([]byte, 16), []byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePCKExtensions(threeInEntry); !errors.Is(err, ErrExtension) || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("entry with three elements: %v", err)
	}
}

func TestParseTCBInfoReal(t *testing.T) {
	ti, err := ParseTCBInfo(read(t, realTCBInfo), attest.TEESGX)
	if err != nil {
		t.Fatal(err)
	}
	if ti.ID != "SGX" || ti.Version != 3 || ti.FMSPC != [6]byte{0, 0x60, 0x6a} || ti.TCBEvaluationDataNumber != 13 || len(ti.Levels) != 5 {
		t.Errorf("tcb info %+v", ti)
	}
	if !ti.IssueDate.Equal(time.Date(2022, 12, 19, 9, 40, 10, 0, time.UTC)) || !ti.NextUpdate.Equal(time.Date(2023, 1, 18, 9, 40, 10, 0, time.UTC)) {
		t.Errorf("dates %v %v", ti.IssueDate, ti.NextUpdate)
	}
	l := ti.Levels[0]
	if l.SGXComponents != [16]uint8{7, 9, 3, 3, 255, 255, 1} || l.PCESVN != 13 || l.Status != attest.TCBSWHardeningNeeded || len(l.Advisories) != 2 {
		t.Errorf("level 0 %+v", l)
	}
	if !bytes.HasPrefix(ti.Signed, []byte(`{"id":"SGX"`)) || !bytes.HasSuffix(ti.Signed, []byte(`]}`)) {
		t.Errorf("signed bytes %.40s…", ti.Signed)
	}
}

func TestParseTCBInfoErrors(t *testing.T) {
	real := string(read(t, realTCBInfo))
	tests := []struct{ name, old, new string }{
		{"unknown member", `"version":3,`, `"version":3,"extra":1,`},
		{"unknown envelope member", `{"tcbInfo":`, `{"x":1,"tcbInfo":`},
		{"version 1", `"version":3,`, `"version":1,`},
		{"version 3 without id", `"id":"SGX",`, ``},
		{"tdx id", `"id":"SGX"`, `"id":"TDX"`},
		{"tcb type 1", `"tcbType":0`, `"tcbType":1`},
		{"tcb type missing", `"tcbType":0,`, ``},
		{"bad date", `"issueDate":"2022-12-19T09:40:10Z"`, `"issueDate":"2022-12-19"`},
		{"short fmspc", `"fmspc":"00606A000000"`, `"fmspc":"00606A0000"`},
		{"hex fmspc", `"fmspc":"00606A000000"`, `"fmspc":"00606A00000G"`},
		{"unknown status", `"tcbStatus":"OutOfDate"`, `"tcbStatus":"Fine"`},
		{"unevaluated status", `"tcbStatus":"OutOfDate"`, `"tcbStatus":"Unevaluated"`},
		{"component 256", `{"svn":255}`, `{"svn":256}`},
		{"component missing", `{"svn":255},`, ``},
		{"component float", `{"svn":255}`, `{"svn":255.0}`},
		{"pcesvn missing", `,"pcesvn":13}`, `}`},
		{"v2 member in v3", `"pcesvn":13}`, `"pcesvn":13,"sgxtcbcomp01svn":1}`},
		{"short signature", `"signature":"00`, `"signature":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(real, tt.old) {
				t.Fatalf("vector lacks %q", tt.old)
			}
			_, err := ParseTCBInfo([]byte(strings.Replace(real, tt.old, tt.new, 1)), attest.TEESGX)
			if !errors.Is(err, ErrCollateral) {
				t.Fatalf("err = %v, want ErrCollateral", err)
			}
		})
	}
	sig := `"signature":"` + strings.Repeat("00", 64) + `"`
	for name, doc := range map[string]string{
		"oversized":      string(make([]byte, MaxCollateralSize+1)),
		"trailing data":  real + ` {}`,
		"two documents":  real + real,
		"null tcb info":  `{"tcbInfo":null,` + sig + `}`,
		"array tcb info": `{"tcbInfo":[],` + sig + `}`,
		"empty object":   `{"tcbInfo":{},` + sig + `}`,
		"no levels": `{"tcbInfo":{"id":"SGX","version":3,"issueDate":"2022-12-19T09:40:10Z","nextUpdate":"2023-01-18T09:40:10Z",` +
			`"fmspc":"00606A000000","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":13,"tcbLevels":[]},` + sig + `}`,
		"signature a number": `{"tcbInfo":{},"signature":1}`,
		"signature missing":  `{"tcbInfo":{},"sig":""}`,
	} {
		if _, err := ParseTCBInfo([]byte(doc), attest.TEESGX); !errors.Is(err, ErrCollateral) {
			t.Errorf("%s: err = %v, want ErrCollateral", name, err)
		}
	}
}

func TestParseTCBInfoV2(t *testing.T) {
	var comps strings.Builder
	for i := 1; i <= 16; i++ {
		comps.WriteString(`"sgxtcbcomp` + string([]byte{byte('0' + i/10), byte('0' + i%10)}) + `svn":` + string(rune('0'+i%10)) + `,`)
	}
	doc := `{"tcbInfo":{"version":2,"issueDate":"2022-12-19T09:40:10Z","nextUpdate":"2023-01-18T09:40:10Z","fmspc":"00606A000000","pceId":"0000","tcbType":0,"tcbEvaluationDataNumber":13,` +
		`"tcbLevels":[{"tcb":{` + comps.String() + `"pcesvn":11},"tcbDate":"2021-11-10T00:00:00Z","tcbStatus":"UpToDate"}]},"signature":"` + strings.Repeat("00", 64) + `"}`
	ti, err := ParseTCBInfo([]byte(doc), attest.TEESGX)
	if err != nil {
		t.Fatal(err)
	}
	if ti.ID != "" || ti.Version != 2 || ti.Levels[0].SGXComponents[0] != 1 || ti.Levels[0].SGXComponents[15] != 6 || ti.Levels[0].PCESVN != 11 {
		t.Errorf("v2 %+v", ti.Levels[0])
	}
	for _, bad := range []string{
		strings.Replace(doc, `"version":2,`, `"version":2,"id":"SGX",`, 1),
		strings.Replace(doc, `"sgxtcbcomp16svn":6,`, ``, 1),
		strings.Replace(doc, `"sgxtcbcomp16svn":6,`, `"sgxtcbcomp17svn":6,`, 1),
	} {
		if _, err := ParseTCBInfo([]byte(bad), attest.TEESGX); !errors.Is(err, ErrCollateral) {
			t.Errorf("accepted %s: %v", bad, err)
		}
	}
}

func TestParseQEIdentityReal(t *testing.T) {
	qi, err := ParseQEIdentity(read(t, realQEIdentity), attest.TEESGX)
	if err != nil {
		t.Fatal(err)
	}
	if qi.ID != "QE" || qi.Version != 2 || qi.ISVProdID != 1 || qi.MiscSelect != 0 || qi.MiscSelectMask != 0xffffffff ||
		qi.Attributes[0] != 0x11 || qi.AttributesMask[0] != 0xfb || qi.MRSigner[0] != 0x8c || len(qi.Levels) != 5 {
		t.Errorf("qe identity %+v", qi)
	}
	if qi.Levels[0].ISVSVN != 6 || qi.Levels[0].Status != attest.TCBUpToDate || qi.Levels[1].Advisories[0] != "INTEL-SA-00477" {
		t.Errorf("levels %+v", qi.Levels[:2])
	}
}

func TestParseQEIdentityErrors(t *testing.T) {
	real := string(read(t, realQEIdentity))
	tests := []struct{ name, old, new string }{
		{"unknown member", `"version":2,`, `"version":2,"extra":1,`},
		{"td qe", `"id":"QE"`, `"id":"TD_QE"`},
		{"version 3", `"version":2,`, `"version":3,`},
		{"short mrsigner", `"mrsigner":"8C`, `"mrsigner":"`},
		{"short miscselect", `"miscselect":"00000000"`, `"miscselect":"000000"`},
		{"long attributes", `"attributes":"11`, `"attributes":"1111`},
		{"isvprodid missing", `"isvprodid":1,`, ``},
		{"isvprodid negative", `"isvprodid":1,`, `"isvprodid":-1,`},
		{"isvsvn missing", `{"isvsvn":6}`, `{}`},
		{"isvsvn too large", `{"isvsvn":6}`, `{"isvsvn":65536}`},
		{"unknown tcb member", `{"isvsvn":6}`, `{"isvsvn":6,"pcesvn":1}`},
		{"tcb info envelope", `{"enclaveIdentity":`, `{"tcbInfo":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(real, tt.old) {
				t.Fatalf("vector lacks %q", tt.old)
			}
			_, err := ParseQEIdentity([]byte(strings.Replace(real, tt.old, tt.new, 1)), attest.TEESGX)
			if !errors.Is(err, ErrCollateral) {
				t.Fatalf("err = %v, want ErrCollateral", err)
			}
		})
	}
}

func FuzzParsePCKExtensions(f *testing.F) {
	f.Add(realExtension(f))
	f.Add(tdxExtension(f))
	f.Fuzz(func(t *testing.T, in []byte) {
		ext, err := ParsePCKExtensions(in)
		if err != nil {
			if !errors.Is(err, ErrExtension) {
				t.Fatalf("error %v does not wrap ErrExtension", err)
			}
			return
		}
		if ext.SGXType < SGXTypeStandard || ext.SGXType > SGXTypeScalableWithIntegrity {
			t.Fatalf("sgx type %d", ext.SGXType)
		}
		if ext.PlatformInstanceID != nil && len(ext.PlatformInstanceID) != 16 {
			t.Fatalf("platform instance id of %d bytes", len(ext.PlatformInstanceID))
		}
	})
}

// FuzzParseTCBInfo parses every input as SGX and as TDX TCB info. The
// committed corpus holds Intel's SGX TCB info of the SGX vector, and the TDX
// TCB info of the TDX vector and of go-tdx-guest's.
func FuzzParseTCBInfo(f *testing.F) {
	f.Add(read(f, realTCBInfo))
	f.Add(read(f, tdxTCBInfo))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, tee := range []attest.TEE{attest.TEESGX, attest.TEETDX} {
			ti, err := ParseTCBInfo(in, tee)
			if err != nil {
				if !errors.Is(err, ErrCollateral) {
					t.Fatalf("error %v does not wrap ErrCollateral", err)
				}
				continue
			}
			if len(ti.Levels) == 0 || !bytes.Contains(in, ti.Signed) {
				t.Fatal("accepted without levels, or signed bytes not from the input")
			}
			if (tee == attest.TEETDX) != (ti.ID == TCBInfoIDTDX) || (tee == attest.TEETDX) != (ti.TDXModule != nil) {
				t.Fatalf("%v TCB info with id %q, tdxModule %v", tee, ti.ID, ti.TDXModule != nil)
			}
			for _, l := range ti.Levels {
				if l.Status == attest.TCBStatusInvalid || l.Status == attest.TCBUnevaluated {
					t.Fatalf("level status %v", l.Status)
				}
			}
			for _, m := range ti.TDXModuleIdentities {
				if len(m.Levels) == 0 {
					t.Fatalf("module identity %q without levels", m.ID)
				}
			}
		}
	})
}

// FuzzParseQEIdentity parses every input as the SGX QE's and as the TD
// QE's identity.
func FuzzParseQEIdentity(f *testing.F) {
	f.Add(read(f, realQEIdentity))
	f.Add(read(f, tdxQEIdentity))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, tee := range []attest.TEE{attest.TEESGX, attest.TEETDX} {
			qi, err := ParseQEIdentity(in, tee)
			if err != nil {
				if !errors.Is(err, ErrCollateral) {
					t.Fatalf("error %v does not wrap ErrCollateral", err)
				}
				continue
			}
			if len(qi.Levels) == 0 || qi.ID != QEIdentityID(tee) || !bytes.Contains(in, qi.Signed) {
				t.Fatal("accepted without levels, with another id, or signed bytes not from the input")
			}
		}
	})
}
