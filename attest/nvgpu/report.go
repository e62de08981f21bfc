package nvgpu

import (
	"encoding/binary"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
)

// Layout of the SPDM 1.1 messages this package accepts. References are to
// DMTF DSP0274 version 1.1 (SPDM), section 10.11 "GET_MEASUREMENTS request
// and MEASUREMENTS response messages".
const (
	// spdmVersion11 is SPDMVersion 1.1 (major in the high nibble). NVIDIA
	// Hopper GPUs answer GET_MEASUREMENTS in SPDM 1.1. SPDM 1.2 changed
	// what the signature covers (a prefixed hash of the whole transcript
	// from GET_VERSION on), so a 1.2 payload cannot be verified as 1.1.
	spdmVersion11 = 0x11

	// codeGetMeasurements and codeMeasurements are the request and
	// response codes (DSP0274 table 4 and table 5).
	codeGetMeasurements = 0xE0
	codeMeasurements    = 0x60

	// headerLen is SPDMVersion, RequestResponseCode, Param1, Param2.
	headerLen = 4
	// nonceLen is the size of the requester's and responder's nonces.
	nonceLen = 32
	// requestLen is a GET_MEASUREMENTS request with a signature requested:
	// header, Nonce, SlotIDParam (table 39).
	requestLen = headerLen + nonceLen + 1

	// attrSignatureRequested is bit 0 of the request's Param1; the other
	// bits are reserved in 1.1.
	attrSignatureRequested = 0x01
	// opAllMeasurements is the request's Param2 asking for every
	// measurement block.
	opAllMeasurements = 0xFF
	// maxSlotID is the highest certificate slot (SlotIDParam bits 3:0);
	// 0xF (a pre-provisioned key without a chain) is not accepted here.
	maxSlotID = 7

	// responseFixedLen is the response header, NumberOfBlocks and the
	// 3-byte MeasurementRecordLength (table 41, offsets 0..7).
	responseFixedLen = headerLen + 1 + 3
	// opaqueLengthLen is the size of OpaqueLength.
	opaqueLengthLen = 2
	// signatureLen is an ECDSA P-384 signature as SPDM encodes it: r ‖ s,
	// each 48 bytes big-endian (DSP0274 "Signature" for
	// TPM_ALG_ECDSA_ECC_NIST_P384).
	signatureLen = 96

	// blockHeaderLen is a measurement block's Index, MeasurementSpecification
	// and 2-byte MeasurementSize (table 42).
	blockHeaderLen = 4
	// dmtfHeaderLen is DMTFSpecMeasurementValueType and the 2-byte
	// DMTFSpecMeasurementValueSize (table 43).
	dmtfHeaderLen = 3
	// specDMTF is MeasurementSpecification bit 0, the DMTF format: the only
	// one SPDM 1.1 defines.
	specDMTF = 0x01
	// valueTypeRawBitstream is bit 7 of DMTFSpecMeasurementValueType: the
	// value is the raw bit stream rather than a digest.
	valueTypeRawBitstream = 0x80
	// maxValueType is the highest DMTFSpecMeasurementValueType (bits 6:0)
	// SPDM 1.1 defines: 0 immutable ROM, 1 mutable firmware, 2 hardware
	// configuration, 3 firmware configuration, 4 measurement manifest.
	maxValueType = 4
)

// request is a GET_MEASUREMENTS request asking for signed measurements.
type request struct {
	Version byte
	Param1  byte // request attributes
	Param2  byte // measurement operation
	Nonce   [nonceLen]byte
	SlotID  byte
}

// block is one measurement block in DMTF format.
type block struct {
	Index     byte
	ValueType byte // DMTFSpecMeasurementValueType
	Value     []byte
}

// response is a MEASUREMENTS response.
type response struct {
	Version byte
	Param1  byte
	Param2  byte
	Blocks  []block
	// Record is the MeasurementRecord as sent: the blocks' encodings,
	// concatenated in ascending index order.
	Record    []byte
	Nonce     [nonceLen]byte
	Opaque    []byte
	Signature [signatureLen]byte
}

// report is an NVIDIA attestation report: a GET_MEASUREMENTS request and the
// MEASUREMENTS response it got.
type report struct {
	Request  request
	Response response
	// Signed is the bytes the responder signed in SPDM 1.1: the request and
	// the response up to, not including, the signature.
	Signed []byte
}

func malformed(field, expected, actual string) error {
	return attest.Refuse(attest.ErrMalformed, "spdm report", field, expected, actual)
}

func hexByte(b byte) string { return fmt.Sprintf("0x%02x", b) }

// parseReport parses request ‖ response. It checks every length, the
// message codes and the fields SPDM 1.1 reserves, and accepts nothing
// after the signature. It verifies nothing cryptographic.
func parseReport(b []byte) (*report, error) {
	if len(b) > maxPayloadSize {
		return nil, malformed("payload", fmt.Sprintf("at most %d bytes", maxPayloadSize), fmt.Sprintf("%d bytes", len(b)))
	}
	if len(b) < requestLen+responseFixedLen+nonceLen+opaqueLengthLen+signatureLen {
		return nil, malformed("payload", fmt.Sprintf("at least %d bytes", requestLen+responseFixedLen+nonceLen+opaqueLengthLen+signatureLen), fmt.Sprintf("%d bytes", len(b)))
	}
	req, err := parseRequest(b[:requestLen])
	if err != nil {
		return nil, err
	}
	resp, err := parseResponse(b[requestLen:], req)
	if err != nil {
		return nil, err
	}
	return &report{Request: *req, Response: *resp, Signed: b[:len(b)-signatureLen]}, nil
}

func parseRequest(b []byte) (*request, error) {
	r := &request{Version: b[0], Param1: b[2], Param2: b[3], SlotID: b[headerLen+nonceLen]}
	copy(r.Nonce[:], b[headerLen:headerLen+nonceLen])
	switch {
	case r.Version != spdmVersion11:
		return nil, malformed("request.spdm_version", hexByte(spdmVersion11), hexByte(r.Version))
	case b[1] != codeGetMeasurements:
		return nil, malformed("request.code", hexByte(codeGetMeasurements)+" (GET_MEASUREMENTS)", hexByte(b[1]))
	case r.Param1 != attrSignatureRequested:
		// Without bit 0 the response carries no signature; the other
		// bits are reserved in 1.1.
		return nil, malformed("request.param1", hexByte(attrSignatureRequested)+" (signature requested)", hexByte(r.Param1))
	case r.Param2 != opAllMeasurements:
		// Claims.Measurement summarizes every block; a report of one
		// block would summarize something else.
		return nil, malformed("request.param2", hexByte(opAllMeasurements)+" (all measurements)", hexByte(r.Param2))
	case r.SlotID > maxSlotID:
		return nil, malformed("request.slot_id", fmt.Sprintf("0..%d", maxSlotID), hexByte(r.SlotID))
	}
	return r, nil
}

func parseResponse(b []byte, req *request) (*response, error) {
	r := &response{Version: b[0], Param1: b[2], Param2: b[3]}
	switch {
	case r.Version != req.Version:
		return nil, malformed("response.spdm_version", hexByte(req.Version)+" (the request's)", hexByte(r.Version))
	case b[1] != codeMeasurements:
		return nil, malformed("response.code", hexByte(codeMeasurements)+" (MEASUREMENTS)", hexByte(b[1]))
	case r.Param1 != 0:
		// Reserved unless the request asked for the number of indices.
		return nil, malformed("response.param1", "0x00 (reserved)", hexByte(r.Param1))
	case r.Param2 != req.SlotID:
		// Bits 3:0 echo the request's slot, bits 7:4 are reserved.
		return nil, malformed("response.param2", hexByte(req.SlotID)+" (the request's slot)", hexByte(r.Param2))
	}
	numBlocks := int(b[headerLen])
	recordLen := int(b[headerLen+1]) | int(b[headerLen+2])<<8 | int(b[headerLen+3])<<16
	rest := b[responseFixedLen:]
	// What must follow the record: the nonce, OpaqueLength and the
	// signature, with at least zero bytes of opaque data.
	tail := nonceLen + opaqueLengthLen + signatureLen
	if recordLen > len(rest)-tail {
		return nil, malformed("response.measurement_record_length", fmt.Sprintf("at most %d", len(rest)-tail), fmt.Sprint(recordLen))
	}
	r.Record = rest[:recordLen]
	blocks, err := parseRecord(r.Record, numBlocks)
	if err != nil {
		return nil, err
	}
	r.Blocks = blocks
	rest = rest[recordLen:]
	copy(r.Nonce[:], rest[:nonceLen])
	rest = rest[nonceLen:]
	opaqueLen := int(binary.LittleEndian.Uint16(rest))
	rest = rest[opaqueLengthLen:]
	if opaqueLen > maxOpaqueSize {
		return nil, malformed("response.opaque_length", fmt.Sprintf("at most %d", maxOpaqueSize), fmt.Sprint(opaqueLen))
	}
	if len(rest) != opaqueLen+signatureLen {
		// Exactly the opaque data and the signature: trailing bytes
		// would be unsigned data a consumer might still read.
		return nil, malformed("response.opaque_length", fmt.Sprintf("%d (the bytes before the signature)", len(rest)-signatureLen), fmt.Sprint(opaqueLen))
	}
	r.Opaque = rest[:opaqueLen]
	copy(r.Signature[:], rest[opaqueLen:])
	return r, nil
}

// parseRecord parses a MeasurementRecord of numBlocks blocks. Indices must
// be strictly ascending, which also makes them unique: Claims.Measurement
// hashes the record as sent, so one set of blocks has one encoding.
func parseRecord(rec []byte, numBlocks int) ([]block, error) {
	if numBlocks == 0 {
		return nil, malformed("response.number_of_blocks", "at least 1", "0")
	}
	blocks := make([]block, 0, numBlocks)
	prev := -1
	for i := range numBlocks {
		field := fmt.Sprintf("response.measurement_record[%d]", i)
		if len(rec) < blockHeaderLen+dmtfHeaderLen {
			return nil, malformed(field, fmt.Sprintf("at least %d bytes", blockHeaderLen+dmtfHeaderLen), fmt.Sprintf("%d bytes", len(rec)))
		}
		idx, spec := rec[0], rec[1]
		size := int(binary.LittleEndian.Uint16(rec[2:4]))
		if idx == 0 || idx == 0xFF {
			// 0 and 0xFF are measurement operations, not indices.
			return nil, malformed(field+".index", "1..254", hexByte(idx))
		}
		if int(idx) <= prev {
			return nil, malformed(field+".index", fmt.Sprintf("above %d (ascending)", prev), fmt.Sprint(idx))
		}
		prev = int(idx)
		if spec != specDMTF {
			return nil, malformed(field+".measurement_specification", hexByte(specDMTF)+" (DMTF)", hexByte(spec))
		}
		if size > len(rec)-blockHeaderLen {
			return nil, malformed(field+".measurement_size", fmt.Sprintf("at most %d", len(rec)-blockHeaderLen), fmt.Sprint(size))
		}
		m := rec[blockHeaderLen : blockHeaderLen+size]
		if len(m) < dmtfHeaderLen {
			return nil, malformed(field+".measurement_size", fmt.Sprintf("at least %d", dmtfHeaderLen), fmt.Sprint(size))
		}
		vtype := m[0]
		vsize := int(binary.LittleEndian.Uint16(m[1:3]))
		if vsize != len(m)-dmtfHeaderLen {
			return nil, malformed(field+".value_size", fmt.Sprint(len(m)-dmtfHeaderLen)+" (measurement_size - 3)", fmt.Sprint(vsize))
		}
		if vtype&^valueTypeRawBitstream > maxValueType {
			return nil, malformed(field+".value_type", fmt.Sprintf("0..%d, optionally | 0x80", maxValueType), hexByte(vtype))
		}
		blocks = append(blocks, block{Index: idx, ValueType: vtype, Value: m[dmtfHeaderLen:]})
		rec = rec[blockHeaderLen+size:]
	}
	if len(rec) != 0 {
		return nil, malformed("response.measurement_record_length", fmt.Sprintf("the %d blocks' size", numBlocks), fmt.Sprintf("%d bytes more", len(rec)))
	}
	return blocks, nil
}

// marshal encodes r as request ‖ response. For any report parseReport
// returns, marshal gives back the parsed bytes.
func (r *report) marshal() []byte {
	q := &r.Request
	out := make([]byte, 0, requestLen+responseFixedLen+len(r.Response.Record)+nonceLen+opaqueLengthLen+len(r.Response.Opaque)+signatureLen)
	out = append(out, q.Version, codeGetMeasurements, q.Param1, q.Param2)
	out = append(out, q.Nonce[:]...)
	out = append(out, q.SlotID)
	p := &r.Response
	var rec []byte
	for _, b := range p.Blocks {
		rec = append(rec, b.Index, specDMTF)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(dmtfHeaderLen+len(b.Value)))
		rec = append(rec, b.ValueType)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(len(b.Value)))
		rec = append(rec, b.Value...)
	}
	out = append(out, p.Version, codeMeasurements, p.Param1, p.Param2, byte(len(p.Blocks)))
	out = append(out, byte(len(rec)), byte(len(rec)>>8), byte(len(rec)>>16))
	out = append(out, rec...)
	out = append(out, p.Nonce[:]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(p.Opaque)))
	out = append(out, p.Opaque...)
	out = append(out, p.Signature[:]...)
	return out
}
