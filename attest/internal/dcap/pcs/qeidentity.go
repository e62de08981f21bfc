package pcs

import (
	"encoding/binary"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
)

// QEIdentity is Intel PCS's identity of a quoting enclave ("Intel SGX and
// TDX PCS API", Enclave Identity V2 data model), as signed: the SGX QE's
// (id "QE") or the TD QE's (id "TD_QE").
type QEIdentity struct {
	// Signed is the raw "enclaveIdentity" member, exactly as in the
	// document: the bytes Signature covers.
	Signed []byte
	// Signature is the TCB signing key's ECDSA P-256 signature (r ‖ s)
	// over SHA-256(Signed).
	Signature [64]byte

	ID      string
	Version int
	Issue
	// MiscSelect and MiscSelectMask are the document's hex strings read as
	// a report's MISCSELECT is: a little-endian uint32. Intel's QVL reads
	// them the same way, so the hex lists the bytes in report order and a
	// report matches when its MISCSELECT & MiscSelectMask == MiscSelect.
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
	Levels []EnclaveLevel
}

// QEIdentityV2 is the only enclave identity version this parser accepts.
const QEIdentityV2 = 2

// Identity IDs of Intel's quoting enclaves (the QVE's, "QVE", is not
// parsed).
const (
	QEIdentityIDQE   = "QE"
	QEIdentityIDTDQE = "TD_QE"
)

// QEIdentityID returns the id of the identity of tee's quoting enclave.
func QEIdentityID(tee attest.TEE) string {
	checkTEE(tee)
	if tee == attest.TEETDX {
		return QEIdentityIDTDQE
	}
	return QEIdentityIDQE
}

type qeIdentityJSON struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	issueJSON
	MiscSelect     string             `json:"miscselect"`
	MiscSelectMask string             `json:"miscselectMask"`
	Attributes     string             `json:"attributes"`
	AttributesMask string             `json:"attributesMask"`
	MRSigner       string             `json:"mrsigner"`
	ISVProdID      *int               `json:"isvprodid"`
	TCBLevels      []enclaveLevelJSON `json:"tcbLevels"`
}

// ParseQEIdentity parses a QE identity document ({"enclaveIdentity":{…},
// "signature":"…"}), version 2, of tee's quoting enclave: id "QE" for
// attest.TEESGX, "TD_QE" for attest.TEETDX. It refuses unknown members; it
// checks no signature and no date. It panics for any other TEE.
func ParseQEIdentity(b []byte, tee attest.TEE) (*QEIdentity, error) {
	checkTEE(tee)
	qi, err := parseQEIdentity(b, QEIdentityID(tee))
	if err != nil {
		return nil, fmt.Errorf("%w: qe identity: %w", ErrCollateral, err)
	}
	return qi, nil
}

func parseQEIdentity(b []byte, id string) (*QEIdentity, error) {
	var j qeIdentityJSON
	signed, sig, err := decodeSigned(b, "enclaveIdentity", &j)
	if err != nil {
		return nil, err
	}
	if j.ID != id {
		return nil, fieldErr("id", "%q, want %q", j.ID, id)
	}
	if j.Version != QEIdentityV2 {
		return nil, fieldErr("version", "%d, want %d", j.Version, QEIdentityV2)
	}
	qi := &QEIdentity{Signed: signed, Signature: sig, ID: j.ID, Version: j.Version}
	if qi.Issue, err = j.issueJSON.parse(); err != nil {
		return nil, err
	}
	var ms, msMask [4]byte
	if err := hexField("miscselect", j.MiscSelect, ms[:]); err != nil {
		return nil, err
	}
	if err := hexField("miscselectMask", j.MiscSelectMask, msMask[:]); err != nil {
		return nil, err
	}
	qi.MiscSelect = binary.LittleEndian.Uint32(ms[:])
	qi.MiscSelectMask = binary.LittleEndian.Uint32(msMask[:])
	if err := hexField("attributes", j.Attributes, qi.Attributes[:]); err != nil {
		return nil, err
	}
	if err := hexField("attributesMask", j.AttributesMask, qi.AttributesMask[:]); err != nil {
		return nil, err
	}
	if err := hexField("mrsigner", j.MRSigner, qi.MRSigner[:]); err != nil {
		return nil, err
	}
	if j.ISVProdID == nil || *j.ISVProdID < 0 || *j.ISVProdID > 0xffff {
		return nil, fieldErr("isvprodid", "missing or out of range 0..65535")
	}
	qi.ISVProdID = uint16(*j.ISVProdID)
	if qi.Levels, err = parseEnclaveLevels("tcbLevels", j.TCBLevels); err != nil {
		return nil, err
	}
	return qi, nil
}
