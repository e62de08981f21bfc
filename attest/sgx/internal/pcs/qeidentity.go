package pcs

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// QEIdentity is Intel PCS's identity of the SGX quoting enclave
// ("Intel SGX and TDX PCS API", Enclave Identity V2 data model), as signed.
type QEIdentity struct {
	// Signed is the raw "enclaveIdentity" member, exactly as in the
	// document: the bytes Signature covers.
	Signed []byte
	// Signature is the TCB signing key's ECDSA P-256 signature (r ‖ s)
	// over SHA-256(Signed).
	Signature [64]byte

	ID                      string
	Version                 int
	IssueDate               time.Time
	NextUpdate              time.Time
	TCBEvaluationDataNumber int
	// MiscSelect and MiscSelectMask are the numeric values of the
	// big-endian hex strings in the document; a report's MISCSELECT (a
	// little-endian uint32 on the wire) matches when
	// report & MiscSelectMask == MiscSelect.
	MiscSelect     uint32
	MiscSelectMask uint32
	// Attributes and AttributesMask compare byte by byte with a report's
	// 16 ATTRIBUTES bytes, in wire order.
	Attributes     [16]byte
	AttributesMask [16]byte
	MRSigner       [32]byte
	ISVProdID      uint16
	// Levels are in document order (newest first); the first level whose
	// ISVSVN the QE meets is its level.
	Levels []QELevel
}

// QELevel is one TCB level of the quoting enclave.
type QELevel struct {
	ISVSVN     uint16
	Date       time.Time
	Status     attest.TCBStatus
	Advisories []string
}

// QEIdentityV2 is the only enclave identity version this parser accepts.
const QEIdentityV2 = 2

// QEIdentityIDQE is the id of the SGX quoting enclave's identity (TDX's is
// "TD_QE", and the QVE's "QVE").
const QEIdentityIDQE = "QE"

type qeIdentityJSON struct {
	ID                      string        `json:"id"`
	Version                 int           `json:"version"`
	IssueDate               string        `json:"issueDate"`
	NextUpdate              string        `json:"nextUpdate"`
	TCBEvaluationDataNumber *int          `json:"tcbEvaluationDataNumber"`
	MiscSelect              string        `json:"miscselect"`
	MiscSelectMask          string        `json:"miscselectMask"`
	Attributes              string        `json:"attributes"`
	AttributesMask          string        `json:"attributesMask"`
	MRSigner                string        `json:"mrsigner"`
	ISVProdID               *int          `json:"isvprodid"`
	TCBLevels               []qeLevelJSON `json:"tcbLevels"`
}

type qeLevelJSON struct {
	TCB struct {
		ISVSVN *int `json:"isvsvn"`
	} `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs"`
}

// ParseQEIdentity parses a QE identity document ({"enclaveIdentity":{…},
// "signature":"…"}), version 2 with id "QE". It refuses unknown members; it
// checks no signature and no date.
func ParseQEIdentity(b []byte) (*QEIdentity, error) {
	qi, err := parseQEIdentity(b)
	if err != nil {
		return nil, fmt.Errorf("%w: qe identity: %w", ErrCollateral, err)
	}
	return qi, nil
}

func parseQEIdentity(b []byte) (*QEIdentity, error) {
	if len(b) > MaxCollateralSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), MaxCollateralSize)
	}
	signed, sig, err := signedEnvelope(b, "enclaveIdentity")
	if err != nil {
		return nil, err
	}
	var j qeIdentityJSON
	if err := strictUnmarshal(signed, &j); err != nil {
		return nil, err
	}
	if j.Version != QEIdentityV2 {
		return nil, fmt.Errorf("version %d, want %d", j.Version, QEIdentityV2)
	}
	if j.ID != QEIdentityIDQE {
		return nil, fmt.Errorf("id %q, want %q", j.ID, QEIdentityIDQE)
	}
	qi := &QEIdentity{Signed: signed, Signature: sig, ID: j.ID, Version: j.Version}
	if qi.IssueDate, err = parseTime("issueDate", j.IssueDate); err != nil {
		return nil, err
	}
	if qi.NextUpdate, err = parseTime("nextUpdate", j.NextUpdate); err != nil {
		return nil, err
	}
	if j.TCBEvaluationDataNumber == nil || *j.TCBEvaluationDataNumber < 0 {
		return nil, fmt.Errorf("tcbEvaluationDataNumber: missing or negative")
	}
	qi.TCBEvaluationDataNumber = *j.TCBEvaluationDataNumber
	var ms, msMask [4]byte
	if err := decodeHex(j.MiscSelect, ms[:]); err != nil {
		return nil, fmt.Errorf("miscselect: %w", err)
	}
	if err := decodeHex(j.MiscSelectMask, msMask[:]); err != nil {
		return nil, fmt.Errorf("miscselectMask: %w", err)
	}
	qi.MiscSelect = binary.BigEndian.Uint32(ms[:])
	qi.MiscSelectMask = binary.BigEndian.Uint32(msMask[:])
	if err := decodeHex(j.Attributes, qi.Attributes[:]); err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	if err := decodeHex(j.AttributesMask, qi.AttributesMask[:]); err != nil {
		return nil, fmt.Errorf("attributesMask: %w", err)
	}
	if err := decodeHex(j.MRSigner, qi.MRSigner[:]); err != nil {
		return nil, fmt.Errorf("mrsigner: %w", err)
	}
	if j.ISVProdID == nil || *j.ISVProdID < 0 || *j.ISVProdID > 0xffff {
		return nil, fmt.Errorf("isvprodid: missing or out of range 0..65535")
	}
	qi.ISVProdID = uint16(*j.ISVProdID)
	if len(j.TCBLevels) == 0 || len(j.TCBLevels) > maxTCBLevels {
		return nil, fmt.Errorf("%d tcbLevels, want 1..%d", len(j.TCBLevels), maxTCBLevels)
	}
	qi.Levels = make([]QELevel, len(j.TCBLevels))
	for i, lj := range j.TCBLevels {
		l := &qi.Levels[i]
		if lj.TCB.ISVSVN == nil || *lj.TCB.ISVSVN < 0 || *lj.TCB.ISVSVN > 0xffff {
			return nil, fmt.Errorf("tcbLevels[%d]: isvsvn missing or out of range 0..65535", i)
		}
		l.ISVSVN = uint16(*lj.TCB.ISVSVN)
		if l.Date, err = parseTime("tcbDate", lj.TCBDate); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
		if l.Status, err = parseStatus(lj.TCBStatus); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
		if err := checkAdvisories(lj.AdvisoryIDs); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
		l.Advisories = lj.AdvisoryIDs
	}
	return qi, nil
}
