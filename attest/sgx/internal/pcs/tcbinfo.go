package pcs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// TCBInfo is Intel PCS's SGX TCB info for one FMSPC ("Intel SGX and TDX
// PCS API", TCB Info V2 and V3 data models), as signed.
type TCBInfo struct {
	// Signed is the raw "tcbInfo" member, exactly as in the document: the
	// bytes Signature covers.
	Signed []byte
	// Signature is the TCB signing key's ECDSA P-256 signature (r ‖ s)
	// over SHA-256(Signed).
	Signature [64]byte

	// ID is "SGX" in version 3 and empty in version 2, which has no id.
	ID                      string
	Version                 int
	IssueDate               time.Time
	NextUpdate              time.Time
	FMSPC                   [6]byte
	PCEID                   [2]byte
	TCBType                 int
	TCBEvaluationDataNumber int
	// Levels are in document order (Intel sorts them newest first); the
	// first one a platform meets is its level.
	Levels []TCBLevel
}

// TCBLevel is one SGX TCB level.
type TCBLevel struct {
	Components [16]uint8
	PCESVN     uint16
	Date       time.Time
	Status     attest.TCBStatus
	Advisories []string
}

// TCB info versions this parser accepts.
const (
	TCBInfoV2 = 2
	TCBInfoV3 = 3
)

// TCBInfoIDSGX is the id of SGX TCB info in version 3.
const TCBInfoIDSGX = "SGX"

type tcbInfoJSON struct {
	ID                      *string        `json:"id"`
	Version                 int            `json:"version"`
	IssueDate               string         `json:"issueDate"`
	NextUpdate              string         `json:"nextUpdate"`
	FMSPC                   string         `json:"fmspc"`
	PCEID                   string         `json:"pceId"`
	TCBType                 *int           `json:"tcbType"`
	TCBEvaluationDataNumber *int           `json:"tcbEvaluationDataNumber"`
	TCBLevels               []tcbLevelJSON `json:"tcbLevels"`
}

type tcbLevelJSON struct {
	TCB         json.RawMessage `json:"tcb"`
	TCBDate     string          `json:"tcbDate"`
	TCBStatus   string          `json:"tcbStatus"`
	AdvisoryIDs []string        `json:"advisoryIDs"`
}

// tcbV3 is a version 3 level's "tcb": an array of 16 components.
type tcbV3 struct {
	SGXTCBComponents []struct {
		SVN      *int   `json:"svn"`
		Category string `json:"category"`
		Type     string `json:"type"`
	} `json:"sgxtcbcomponents"`
	PCESVN *int `json:"pcesvn"`
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

// ParseTCBInfo parses an SGX TCB info document ({"tcbInfo":{…},
// "signature":"…"}), version 2 or 3. It refuses unknown members, TDX TCB
// info, and any tcbType but 0; it checks no signature and no date.
func ParseTCBInfo(b []byte) (*TCBInfo, error) {
	ti, err := parseTCBInfo(b)
	if err != nil {
		return nil, fmt.Errorf("%w: tcb info: %w", ErrCollateral, err)
	}
	return ti, nil
}

func parseTCBInfo(b []byte) (*TCBInfo, error) {
	if len(b) > MaxCollateralSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), MaxCollateralSize)
	}
	signed, sig, err := signedEnvelope(b, "tcbInfo")
	if err != nil {
		return nil, err
	}
	var j tcbInfoJSON
	if err := strictUnmarshal(signed, &j); err != nil {
		return nil, err
	}
	ti := &TCBInfo{Signed: signed, Signature: sig, Version: j.Version}
	switch j.Version {
	case TCBInfoV2:
		if j.ID != nil {
			return nil, fmt.Errorf("version 2 has an id (%q)", *j.ID)
		}
	case TCBInfoV3:
		if j.ID == nil || *j.ID != TCBInfoIDSGX {
			return nil, fmt.Errorf("id: want %q", TCBInfoIDSGX)
		}
		ti.ID = *j.ID
	default:
		return nil, fmt.Errorf("version %d, want %d or %d", j.Version, TCBInfoV2, TCBInfoV3)
	}
	if ti.IssueDate, err = parseTime("issueDate", j.IssueDate); err != nil {
		return nil, err
	}
	if ti.NextUpdate, err = parseTime("nextUpdate", j.NextUpdate); err != nil {
		return nil, err
	}
	if err := decodeHex(j.FMSPC, ti.FMSPC[:]); err != nil {
		return nil, fmt.Errorf("fmspc: %w", err)
	}
	if err := decodeHex(j.PCEID, ti.PCEID[:]); err != nil {
		return nil, fmt.Errorf("pceId: %w", err)
	}
	if j.TCBType == nil || *j.TCBType != 0 {
		// Type 0 is the only type defined: compare components one by one.
		return nil, fmt.Errorf("tcbType: want 0")
	}
	if j.TCBEvaluationDataNumber == nil || *j.TCBEvaluationDataNumber < 0 {
		return nil, fmt.Errorf("tcbEvaluationDataNumber: missing or negative")
	}
	ti.TCBEvaluationDataNumber = *j.TCBEvaluationDataNumber
	if len(j.TCBLevels) == 0 || len(j.TCBLevels) > maxTCBLevels {
		return nil, fmt.Errorf("%d tcbLevels, want 1..%d", len(j.TCBLevels), maxTCBLevels)
	}
	ti.Levels = make([]TCBLevel, len(j.TCBLevels))
	for i, lj := range j.TCBLevels {
		if err := parseTCBLevel(j.Version, lj, &ti.Levels[i]); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
	}
	return ti, nil
}

func parseTCBLevel(version int, lj tcbLevelJSON, l *TCBLevel) error {
	var comps [16]*int
	var pcesvn *int
	switch version {
	case TCBInfoV2:
		var t tcbV2
		if err := strictUnmarshal(lj.TCB, &t); err != nil {
			return fmt.Errorf("tcb: %w", err)
		}
		comps = [16]*int{t.C01, t.C02, t.C03, t.C04, t.C05, t.C06, t.C07, t.C08, t.C09, t.C10, t.C11, t.C12, t.C13, t.C14, t.C15, t.C16}
		pcesvn = t.PCESVN
	case TCBInfoV3:
		var t tcbV3
		if err := strictUnmarshal(lj.TCB, &t); err != nil {
			return fmt.Errorf("tcb: %w", err)
		}
		if len(t.SGXTCBComponents) != len(comps) {
			return fmt.Errorf("tcb: %d sgxtcbcomponents, want %d", len(t.SGXTCBComponents), len(comps))
		}
		for i, c := range t.SGXTCBComponents {
			comps[i] = c.SVN
		}
		pcesvn = t.PCESVN
	}
	for i, c := range comps {
		if c == nil || *c < 0 || *c > 0xff {
			return fmt.Errorf("tcb: component %d svn missing or out of range 0..255", i+1)
		}
		l.Components[i] = uint8(*c)
	}
	if pcesvn == nil || *pcesvn < 0 || *pcesvn > 0xffff {
		return fmt.Errorf("tcb: pcesvn missing or out of range 0..65535")
	}
	l.PCESVN = uint16(*pcesvn)
	var err error
	if l.Date, err = parseTime("tcbDate", lj.TCBDate); err != nil {
		return err
	}
	if l.Status, err = parseStatus(lj.TCBStatus); err != nil {
		return err
	}
	if err := checkAdvisories(lj.AdvisoryIDs); err != nil {
		return err
	}
	l.Advisories = lj.AdvisoryIDs
	return nil
}
