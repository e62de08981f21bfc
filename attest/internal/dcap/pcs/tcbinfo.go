package pcs

import (
	"encoding/json"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
)

// TCBInfo is Intel PCS's TCB info for one FMSPC ("Intel SGX and TDX PCS
// API", TCB Info V2 and V3 data models), as signed: SGX TCB info in version
// 2 or 3, or TDX TCB info in version 3.
type TCBInfo struct {
	// Signed is the raw "tcbInfo" member, exactly as in the document: the
	// bytes Signature covers.
	Signed []byte
	// Signature is the TCB signing key's ECDSA P-256 signature (r ‖ s)
	// over SHA-256(Signed).
	Signature [64]byte

	// ID is "SGX" or "TDX" in version 3 and empty in version 2 (SGX only),
	// which has no id.
	ID      string
	Version int
	Issue
	FMSPC   [6]byte
	PCEID   [2]byte
	TCBType int
	// Levels are in document order (Intel sorts them newest first); the
	// first one a platform meets is its level.
	Levels []TCBLevel

	// TDXModule is the identity of TDX modules of major version 0; it is
	// present in TDX TCB info and nil in SGX TCB info.
	TDXModule *TDXModule
	// TDXModuleIdentities are the identities of TDX modules of later major
	// versions, each with its own TCB levels (TDX TCB info only; optional).
	TDXModuleIdentities []TDXModuleIdentity
}

// TCBLevel is one platform TCB level.
type TCBLevel struct {
	// SGXComponents are SGX TCB components 1..16 (sgxtcbcomponents, or
	// sgxtcbcompNNsvn in version 2).
	SGXComponents [16]uint8
	PCESVN        uint16
	// TDXComponents are the 16 TDX TCB components (tdxtcbcomponents) of
	// TDX TCB info; zero in SGX TCB info.
	TDXComponents [16]uint8
	Level
}

// TDXModule says which TDX module Intel signed: its MRSIGNER and, under
// AttributesMask, its SEAM attributes.
type TDXModule struct {
	MRSigner       [48]byte
	Attributes     [8]byte
	AttributesMask [8]byte
}

// TDXModuleIdentity is the identity and TCB levels of TDX modules of one
// major version ("TDX_01" for major version 1).
type TDXModuleIdentity struct {
	ID string
	TDXModule
	// Levels are in document order; the first level whose ISVSVN the
	// module's SVN meets is its level.
	Levels []EnclaveLevel
}

// TCB info versions this parser accepts.
const (
	TCBInfoV2 = 2
	TCBInfoV3 = 3
)

// TCB info ids in version 3.
const (
	TCBInfoIDSGX = "SGX"
	TCBInfoIDTDX = "TDX"
)

type tcbInfoJSON struct {
	ID      *string `json:"id"`
	Version int     `json:"version"`
	issueJSON
	FMSPC               string                  `json:"fmspc"`
	PCEID               string                  `json:"pceId"`
	TCBType             *int                    `json:"tcbType"`
	TDXModule           *tdxModuleJSON          `json:"tdxModule"`
	TDXModuleIdentities []tdxModuleIdentityJSON `json:"tdxModuleIdentities"`
	TCBLevels           []tcbLevelJSON          `json:"tcbLevels"`
}

type tdxModuleJSON struct {
	MRSigner       string `json:"mrsigner"`
	Attributes     string `json:"attributes"`
	AttributesMask string `json:"attributesMask"`
}

type tdxModuleIdentityJSON struct {
	ID string `json:"id"`
	tdxModuleJSON
	TCBLevels []enclaveLevelJSON `json:"tcbLevels"`
}

type tcbLevelJSON struct {
	TCB json.RawMessage `json:"tcb"`
	levelJSON
}

// component is one entry of sgxtcbcomponents or tdxtcbcomponents. Category
// and type describe the component and are not used.
type component struct {
	SVN      *int   `json:"svn"`
	Category string `json:"category"`
	Type     string `json:"type"`
}

// tcbV3 is a version 3 level's "tcb": arrays of 16 components, the TDX one
// in TDX TCB info only.
type tcbV3 struct {
	SGXTCBComponents []component `json:"sgxtcbcomponents"`
	PCESVN           *int        `json:"pcesvn"`
	TDXTCBComponents []component `json:"tdxtcbcomponents"`
}

// tcbV2 is a version 2 level's "tcb": 16 named components.
type tcbV2 struct {
	C01    *int `json:"sgxtcbcomp01svn"`
	C02    *int `json:"sgxtcbcomp02svn"`
	C03    *int `json:"sgxtcbcomp03svn"`
	C04    *int `json:"sgxtcbcomp04svn"`
	C05    *int `json:"sgxtcbcomp05svn"`
	C06    *int `json:"sgxtcbcomp06svn"`
	C07    *int `json:"sgxtcbcomp07svn"`
	C08    *int `json:"sgxtcbcomp08svn"`
	C09    *int `json:"sgxtcbcomp09svn"`
	C10    *int `json:"sgxtcbcomp10svn"`
	C11    *int `json:"sgxtcbcomp11svn"`
	C12    *int `json:"sgxtcbcomp12svn"`
	C13    *int `json:"sgxtcbcomp13svn"`
	C14    *int `json:"sgxtcbcomp14svn"`
	C15    *int `json:"sgxtcbcomp15svn"`
	C16    *int `json:"sgxtcbcomp16svn"`
	PCESVN *int `json:"pcesvn"`
}

// ParseTCBInfo parses a TCB info document ({"tcbInfo":{…},
// "signature":"…"}) of tee: for attest.TEESGX, SGX TCB info version 2 (no
// id) or 3 (id "SGX"); for attest.TEETDX, TDX TCB info version 3 (id "TDX",
// with tdxModule and TDX components in every level). It refuses unknown
// members, the other TEE's TCB info, and any tcbType but 0; it checks no
// signature and no date. It panics for any other TEE.
func ParseTCBInfo(b []byte, tee attest.TEE) (*TCBInfo, error) {
	checkTEE(tee)
	ti, err := parseTCBInfo(b, tee == attest.TEETDX)
	if err != nil {
		return nil, fmt.Errorf("%w: tcb info: %w", ErrCollateral, err)
	}
	return ti, nil
}

func parseTCBInfo(b []byte, tdx bool) (*TCBInfo, error) {
	var j tcbInfoJSON
	signed, sig, err := decodeSigned(b, "tcbInfo", &j)
	if err != nil {
		return nil, err
	}
	ti := &TCBInfo{Signed: signed, Signature: sig, Version: j.Version}
	wantID := TCBInfoIDSGX
	if tdx {
		wantID = TCBInfoIDTDX
	}
	switch {
	case j.ID != nil && *j.ID != wantID:
		return nil, fieldErr("id", "%q, want %q", *j.ID, wantID)
	case j.Version == TCBInfoV3 && j.ID == nil:
		return nil, fieldErr("id", "missing, want %q", wantID)
	case j.Version == TCBInfoV2 && !tdx:
		if j.ID != nil {
			return nil, fieldErr("id", "version 2 has no id, got %q", *j.ID)
		}
	case j.Version != TCBInfoV3:
		if tdx {
			return nil, fieldErr("version", "%d, want %d", j.Version, TCBInfoV3)
		}
		return nil, fieldErr("version", "%d, want %d or %d", j.Version, TCBInfoV2, TCBInfoV3)
	}
	if j.ID != nil {
		ti.ID = *j.ID
	}
	if ti.Issue, err = j.issueJSON.parse(); err != nil {
		return nil, err
	}
	if err := hexField("fmspc", j.FMSPC, ti.FMSPC[:]); err != nil {
		return nil, err
	}
	if err := hexField("pceId", j.PCEID, ti.PCEID[:]); err != nil {
		return nil, err
	}
	if j.TCBType == nil || *j.TCBType != 0 {
		// Type 0 is the only type defined: compare components one by one.
		return nil, fieldErr("tcbType", "want 0")
	}
	if err := parseTDXModules(&j, ti, tdx); err != nil {
		return nil, err
	}
	if len(j.TCBLevels) == 0 || len(j.TCBLevels) > maxTCBLevels {
		return nil, fieldErr("tcbLevels", "%d tcbLevels, want 1..%d", len(j.TCBLevels), maxTCBLevels)
	}
	ti.Levels = make([]TCBLevel, len(j.TCBLevels))
	for i, lj := range j.TCBLevels {
		if err := parseTCBLevel(j.Version, tdx, lj, &ti.Levels[i]); err != nil {
			return nil, under(fmt.Sprintf("tcbLevels[%d]", i), err)
		}
	}
	return ti, nil
}

// parseTDXModules parses the TDX module identities, which TDX TCB info must
// have (tdxModule; tdxModuleIdentities are optional) and SGX TCB info must
// not.
func parseTDXModules(j *tcbInfoJSON, ti *TCBInfo, tdx bool) error {
	if !tdx {
		if j.TDXModule != nil {
			return fieldErr("tdxModule", "not allowed in SGX TCB info")
		}
		if j.TDXModuleIdentities != nil {
			return fieldErr("tdxModuleIdentities", "not allowed in SGX TCB info")
		}
		return nil
	}
	if j.TDXModule == nil {
		return fieldErr("tdxModule", "missing")
	}
	ti.TDXModule = new(TDXModule)
	if err := j.TDXModule.parse(ti.TDXModule); err != nil {
		return under("tdxModule", err)
	}
	if len(j.TDXModuleIdentities) > maxTCBLevels {
		return fieldErr("tdxModuleIdentities", "%d identities, limit %d", len(j.TDXModuleIdentities), maxTCBLevels)
	}
	for i, mj := range j.TDXModuleIdentities {
		at := fmt.Sprintf("tdxModuleIdentities[%d]", i)
		m := TDXModuleIdentity{ID: mj.ID}
		if m.ID == "" || len(m.ID) > maxAdvisoryIDLen {
			return fieldErr(at+".id", "of %d bytes", len(m.ID))
		}
		if err := mj.parse(&m.TDXModule); err != nil {
			return under(at, err)
		}
		var err error
		if m.Levels, err = parseEnclaveLevels("tcbLevels", mj.TCBLevels); err != nil {
			return under(at, err)
		}
		ti.TDXModuleIdentities = append(ti.TDXModuleIdentities, m)
	}
	return nil
}

func (j *tdxModuleJSON) parse(m *TDXModule) error {
	if err := hexField("mrsigner", j.MRSigner, m.MRSigner[:]); err != nil {
		return err
	}
	if err := hexField("attributes", j.Attributes, m.Attributes[:]); err != nil {
		return err
	}
	return hexField("attributesMask", j.AttributesMask, m.AttributesMask[:])
}

func parseTCBLevel(version int, tdx bool, lj tcbLevelJSON, l *TCBLevel) error {
	var comps [16]*int
	var pcesvn *int
	switch version {
	case TCBInfoV2:
		var t tcbV2
		if err := strictUnmarshal(lj.TCB, &t); err != nil {
			return fieldErr("tcb", "%w", err)
		}
		comps = [16]*int{t.C01, t.C02, t.C03, t.C04, t.C05, t.C06, t.C07, t.C08, t.C09, t.C10, t.C11, t.C12, t.C13, t.C14, t.C15, t.C16}
		pcesvn = t.PCESVN
	case TCBInfoV3:
		var t tcbV3
		if err := strictUnmarshal(lj.TCB, &t); err != nil {
			return fieldErr("tcb", "%w", err)
		}
		if err := svns("tcb.sgxtcbcomponents", t.SGXTCBComponents, comps[:]); err != nil {
			return err
		}
		pcesvn = t.PCESVN
		switch {
		case tdx:
			var tdxComps [16]*int
			if err := svns("tcb.tdxtcbcomponents", t.TDXTCBComponents, tdxComps[:]); err != nil {
				return err
			}
			if err := uint8s("tcb.tdxtcbcomponents", tdxComps, &l.TDXComponents); err != nil {
				return err
			}
		case t.TDXTCBComponents != nil:
			return fieldErr("tcb.tdxtcbcomponents", "not allowed in SGX TCB info")
		}
	}
	if err := uint8s("tcb.sgxtcbcomponents", comps, &l.SGXComponents); err != nil {
		return err
	}
	if pcesvn == nil || *pcesvn < 0 || *pcesvn > 0xffff {
		return fieldErr("tcb.pcesvn", "missing or out of range 0..65535")
	}
	l.PCESVN = uint16(*pcesvn)
	var err error
	l.Level, err = lj.parse()
	return err
}

// svns copies the SVN pointers of exactly len(dst) components.
func svns(field string, cs []component, dst []*int) error {
	if len(cs) != len(dst) {
		return fieldErr(field, "%d components, want %d", len(cs), len(dst))
	}
	for i, c := range cs {
		dst[i] = c.SVN
	}
	return nil
}

// uint8s checks that every component SVN is present and a byte.
func uint8s(field string, comps [16]*int, dst *[16]uint8) error {
	for i, c := range comps {
		if c == nil || *c < 0 || *c > 0xff {
			return fieldErr(field, "component %d svn missing or out of range 0..255", i+1)
		}
		dst[i] = uint8(*c)
	}
	return nil
}
