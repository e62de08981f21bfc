package pcs

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/attest"
)

// tdxExtension returns the SGX extension of the real TDX vector's PCK
// certificate.
func tdxExtension(t testing.TB) []byte {
	t.Helper()
	// The QE report certification data is certification data type 6,
	// after the header and TD quote body, the signature data length, the
	// signature, the attestation key, and the type and length.
	q := read(t, tdxQuote)
	n := binary.LittleEndian.Uint32(q[632+4+128+2:])
	return pckExtension(t, q[632+4+128+6:][:n])
}

func TestParsePCKExtensionsTDX(t *testing.T) {
	ext, err := ParsePCKExtensions(tdxExtension(t))
	if err != nil {
		t.Fatal(err)
	}
	if ext.FMSPC != [6]byte{0xc0, 0x80, 0x6f} || ext.PCEID != [2]byte{} || ext.TCB.PCESVN != 11 {
		t.Errorf("fmspc %x pceid %x pcesvn %d", ext.FMSPC, ext.PCEID, ext.TCB.PCESVN)
	}
	if want := [16]uint8{7, 7, 2, 2, 3, 1, 0, 3}; ext.TCB.Components != want {
		t.Errorf("tcb components %v, want %v", ext.TCB.Components, want)
	}
}

func TestParseTCBInfoTDX(t *testing.T) {
	ti, err := ParseTCBInfo(read(t, tdxTCBInfo), attest.TEETDX)
	if err != nil {
		t.Fatal(err)
	}
	if ti.ID != TCBInfoIDTDX || ti.Version != 3 || ti.FMSPC != [6]byte{0xc0, 0x80, 0x6f} || ti.TCBEvaluationDataNumber != 17 {
		t.Errorf("tcb info %+v", ti)
	}
	if ti.TDXModule == nil || ti.TDXModule.MRSigner != [48]byte{} || ti.TDXModule.AttributesMask != [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		t.Errorf("tdxModule %+v", ti.TDXModule)
	}
	if len(ti.TDXModuleIdentities) != 2 {
		t.Fatalf("%d module identities", len(ti.TDXModuleIdentities))
	}
	m := ti.TDXModuleIdentities[1]
	if m.ID != "TDX_01" || len(m.Levels) != 2 || m.Levels[0].ISVSVN != 4 || m.Levels[1].ISVSVN != 2 || m.Levels[1].Status != attest.TCBOutOfDate {
		t.Errorf("module identity %+v", m)
	}
	l := ti.Levels[0]
	if l.SGXComponents != [16]uint8{7, 7, 2, 2, 3, 1, 0, 3} || l.PCESVN != 11 || l.TDXComponents != [16]uint8{5, 0, 7} || l.Status != attest.TCBUpToDate {
		t.Errorf("level 0 %+v", l)
	}
	// The same document is not SGX TCB info.
	if _, err := ParseTCBInfo(read(t, tdxTCBInfo), attest.TEESGX); fieldOf(err) != "id" {
		t.Errorf("TDX TCB info parsed as SGX: %v", err)
	}
}

// fieldOf returns the Field of err's *FieldError, or "" if it has none.
func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestParseTCBInfoTDXErrors(t *testing.T) {
	real := string(read(t, tdxTCBInfo))
	const module = `"tdxModule":{"mrsigner":"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000","attributes":"0000000000000000","attributesMask":"FFFFFFFFFFFFFFFF"},`
	const tdxComps = `{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0},{"svn":0}]}`
	tests := []struct{ name, old, new, field string }{
		{"sgx id", `"id":"TDX"`, `"id":"SGX"`, "id"},
		{"no id", `"id":"TDX",`, ``, "id"},
		{"version 2", `"version":3,`, `"version":2,`, "version"},
		{"tcb type 1", `"tcbType":0`, `"tcbType":1`, "tcbType"},
		{"no tdxModule", module, ``, "tdxModule"},
		{"short tdxModule mrsigner", `"tdxModule":{"mrsigner":"00`, `"tdxModule":{"mrsigner":"`, "tdxModule.mrsigner"},
		{"module identity without id", `"id":"TDX_03",`, `"id":"",`, "tdxModuleIdentities[0].id"},
		{"module identity without levels", `"tcbLevels":[{"tcb":{"isvsvn":2},"tcbDate":"2024-03-13T00:00:00Z","tcbStatus":"UpToDate"}]}`, `"tcbLevels":[]}`, "tdxModuleIdentities[0].tcbLevels"},
		{"module level status", `{"tcb":{"isvsvn":2},"tcbDate":"2024-03-13T00:00:00Z","tcbStatus":"UpToDate"}`, `{"tcb":{"isvsvn":2},"tcbDate":"2024-03-13T00:00:00Z","tcbStatus":"Fine"}`, "tdxModuleIdentities[0].tcbLevels[0].tcbStatus"},
		{"module level isvsvn", `{"tcb":{"isvsvn":2}`, `{"tcb":{"isvsvn":-2}`, "tdxModuleIdentities[0].tcbLevels[0].tcb.isvsvn"},
		{"15 tdx components", tdxComps, tdxComps[len(`{"svn":0},`):], "tcbLevels[0].tcb.tdxtcbcomponents"},
		{"tdx component 256", `"tdxtcbcomponents":[{"svn":5`, `"tdxtcbcomponents":[{"svn":256`, "tcbLevels[0].tcb.tdxtcbcomponents"},
		{"no tdx components", `,"tdxtcbcomponents":[{"svn":5`, `,"x":[{"svn":5`, "tcbLevels[0].tcb"},
		{"sgx component missing", `"sgxtcbcomponents":[{"svn":7,"category":"BIOS","type":"Early Microcode Update"},`, `"sgxtcbcomponents":[`, "tcbLevels[0].tcb.sgxtcbcomponents"},
		{"unknown component member", `{"svn":5,"category":"OS/VMM","type":"TDX Module"}`, `{"svn":5,"kind":"TDX Module"}`, "tcbLevels[0].tcb"},
		{"level date", `"tcbDate":"2024-03-13T00:00:00Z","tcbStatus":"UpToDate"},{"tcb":{"sgxtcbcomponents"`, `"tcbDate":"yesterday","tcbStatus":"UpToDate"},{"tcb":{"sgxtcbcomponents"`, "tcbLevels[0].tcbDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(real, tt.old) {
				t.Fatalf("vector lacks %q", tt.old)
			}
			_, err := ParseTCBInfo([]byte(strings.Replace(real, tt.old, tt.new, 1)), attest.TEETDX)
			if !errors.Is(err, ErrCollateral) || fieldOf(err) != tt.field {
				t.Fatalf("err = %v (field %q), want ErrCollateral on %q", err, fieldOf(err), tt.field)
			}
		})
	}
}

func TestParseTCBInfoSGXRefusesTDXMembers(t *testing.T) {
	real := string(read(t, realTCBInfo))
	tests := []struct{ name, old, new, field string }{
		{"tdxModule", `"tcbType":0,`, `"tcbType":0,"tdxModule":{"mrsigner":"","attributes":"","attributesMask":""},`, "tdxModule"},
		{"tdxModuleIdentities", `"tcbType":0,`, `"tcbType":0,"tdxModuleIdentities":[],`, "tdxModuleIdentities"},
		{"tdxtcbcomponents", `"pcesvn":13}`, `"pcesvn":13,"tdxtcbcomponents":[]}`, "tcbLevels[0].tcb.tdxtcbcomponents"},
		{"unknown status", `"tcbStatus":"OutOfDate"`, `"tcbStatus":"Fine"`, "tcbLevels[2].tcbStatus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(real, tt.old) {
				t.Fatalf("vector lacks %q", tt.old)
			}
			_, err := ParseTCBInfo([]byte(strings.Replace(real, tt.old, tt.new, 1)), attest.TEESGX)
			if !errors.Is(err, ErrCollateral) || fieldOf(err) != tt.field {
				t.Fatalf("err = %v (field %q), want ErrCollateral on %q", err, fieldOf(err), tt.field)
			}
		})
	}
}

func TestParseQEIdentityTDX(t *testing.T) {
	b := read(t, tdxQEIdentity)
	qi, err := ParseQEIdentity(b, attest.TEETDX)
	if err != nil {
		t.Fatal(err)
	}
	if qi.ID != QEIdentityIDTDQE || qi.ISVProdID != 2 || qi.MRSigner[0] != 0xdc || qi.MiscSelectMask != 0xffffffff || len(qi.Levels) != 1 || qi.Levels[0].ISVSVN != 4 {
		t.Errorf("td qe identity %+v", qi)
	}
	if _, err := ParseQEIdentity(b, attest.TEESGX); !errors.Is(err, ErrCollateral) || fieldOf(err) != "id" {
		t.Errorf("TD QE identity parsed as the SGX QE's: %v", err)
	}
	if _, err := ParseQEIdentity(read(t, realQEIdentity), attest.TEETDX); !errors.Is(err, ErrCollateral) || fieldOf(err) != "id" {
		t.Errorf("SGX QE identity parsed as the TD QE's: %v", err)
	}
}

// TestMiscSelectByteOrder pins how the hex strings are read: in report
// (little-endian) order, as Intel's QVL reads them.
func TestMiscSelectByteOrder(t *testing.T) {
	doc := strings.Replace(string(read(t, tdxQEIdentity)), `"miscselectMask":"FFFFFFFF"`, `"miscselectMask":"01020304"`, 1)
	qi, err := ParseQEIdentity([]byte(doc), attest.TEETDX)
	if err != nil {
		t.Fatal(err)
	}
	if qi.MiscSelectMask != 0x04030201 {
		t.Errorf("miscselectMask 01020304 = %#08x, want 0x04030201", qi.MiscSelectMask)
	}
}

func TestUnknownTEEPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("ParseTCBInfo accepted a TEE without Intel collateral")
		}
	}()
	_, _ = ParseTCBInfo(read(t, tdxTCBInfo), attest.TEESEVSNP)
}
