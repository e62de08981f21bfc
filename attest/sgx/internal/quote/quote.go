// Package quote parses Intel SGX DCAP quotes, version 3, with an ECDSA P-256
// attestation key and a PCK certificate chain as certification data.
//
// It turns bytes into a typed Quote and checks the layout: sizes, versions,
// key and certification data types, and that reserved fields are zero. It
// does no cryptography and applies no policy; package sgx verifies. The
// report bodies and the QE report certification data, which TDX quotes share,
// are parsed by attest/internal/dcap/layout.
//
// Layout and offsets follow "Intel SGX ECDSA Quote Library API", Appendix A
// (Quote Format, version 3), as published with Intel SGX DCAP.
package quote

import (
	"encoding/binary"
	"fmt"

	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
)

// Header field values this parser accepts.
const (
	// Version3 is the only quote version parsed here (TDX uses version 4).
	Version3 = 3
	// AttestationKeyECDSAP256 is ECDSA-256-with-P-256 curve.
	AttestationKeyECDSAP256 = 2
	// TEETypeSGX is the TEE type of SGX quotes. Version 3 documents these 4
	// bytes as reserved; version 4 names them TEE type, with 0 for SGX.
	TEETypeSGX = 0
)

// Sizes and offsets of the quote (Quote Format v3, Tables A.4–A.8).
const (
	HeaderSize     = 48
	ReportBodySize = layout.ReportBodySize
	// SignedSize is the size of the bytes the attestation key signs: the
	// header followed by the ISV enclave report body.
	SignedSize = HeaderSize + ReportBodySize

	sigDataLenSize = 4

	// minSigDataSize is the signature data with empty QE auth data and
	// empty certification data.
	minSigDataSize = layout.SignatureSize + layout.KeySize + layout.MinQECertDataSize
)

// Header offsets (Table A.4).
const (
	hdrVersion    = 0  // uint16
	hdrAttKeyType = 2  // uint16
	hdrTEEType    = 4  // uint32, reserved in v3
	hdrQESVN      = 8  // uint16
	hdrPCESVN     = 10 // uint16
	hdrQEVendorID = 12 // 16 bytes
	hdrUserData   = 28 // 20 bytes
)

// Header is the quote header.
type Header struct {
	Version            uint16
	AttestationKeyType uint16
	TEEType            uint32
	QESVN              uint16
	PCESVN             uint16
	QEVendorID         [16]byte
	UserData           [20]byte
}

// ReportBody is an SGX enclave report body (REPORTBODY), as found twice in
// a quote: for the attested (ISV) enclave and for the quoting enclave.
type ReportBody = layout.ReportBody

// Quote is a parsed version 3 quote.
type Quote struct {
	Header Header
	Body   ReportBody

	// Signature is the attestation key's ECDSA signature (r ‖ s) over
	// Signed().
	Signature [64]byte
	// AttestationKey is the attestation public key (x ‖ y).
	AttestationKey [64]byte
	// QEReport is the quoting enclave's report, signed by the PCK key.
	QEReport ReportBody
	// QEReportSignature is the PCK key's ECDSA signature (r ‖ s) over
	// QEReportBytes().
	QEReportSignature [64]byte
	// QEAuthData is hashed with AttestationKey into the QE report data.
	QEAuthData []byte
	// CertData is the certification data, type layout.CertDataPCKChain: a
	// PEM PCK certificate chain.
	CertData []byte

	raw []byte
}

// Signed returns the bytes the attestation key signs: header ‖ ISV report
// body, exactly as received.
func (q *Quote) Signed() []byte { return q.raw[:SignedSize] }

// QEReportBytes returns the QE report body exactly as received; the PCK key
// signs these bytes.
func (q *Quote) QEReportBytes() []byte {
	off := SignedSize + sigDataLenSize + layout.SignatureSize + layout.KeySize
	return q.raw[off : off+ReportBodySize]
}

// Errors returned by Parse. Each is wrapped with the field it concerns.
var (
	ErrTruncated = layout.ErrTruncated
	ErrTrailing  = layout.ErrTrailing
	ErrTooLarge  = layout.ErrTooLarge
	ErrReserved  = layout.ErrReserved
	ErrValue     = layout.ErrValue
)

// Parse parses a version 3 quote. It copies nothing: the returned Quote
// refers to b, which the caller must not modify while it is in use.
func Parse(b []byte) (*Quote, error) {
	if len(b) > MaxQuoteSize {
		return nil, fmt.Errorf("quote: %d bytes, limit %d: %w", len(b), MaxQuoteSize, ErrTooLarge)
	}
	if len(b) < SignedSize+sigDataLenSize {
		return nil, fmt.Errorf("quote: %d bytes, need at least %d: %w", len(b), SignedSize+sigDataLenSize, ErrTruncated)
	}
	q := &Quote{raw: b}
	if err := parseHeader(b[:HeaderSize], &q.Header); err != nil {
		return nil, err
	}
	var err error
	if q.Body, err = layout.ParseReportBody(b[HeaderSize:SignedSize]); err != nil {
		return nil, fmt.Errorf("isv report body: %w", err)
	}

	sigLen := binary.LittleEndian.Uint32(b[SignedSize:])
	sig := b[SignedSize+sigDataLenSize:]
	if uint64(sigLen) != uint64(len(sig)) {
		if uint64(sigLen) > uint64(len(sig)) {
			return nil, fmt.Errorf("signature_data_len: %d, %d bytes follow: %w", sigLen, len(sig), ErrTruncated)
		}
		return nil, fmt.Errorf("signature_data_len: %d, %d bytes follow: %w", sigLen, len(sig), ErrTrailing)
	}
	if len(sig) < minSigDataSize {
		return nil, fmt.Errorf("signature data: %d bytes, need at least %d: %w", len(sig), minSigDataSize, ErrTruncated)
	}
	copy(q.Signature[:], sig)
	copy(q.AttestationKey[:], sig[layout.SignatureSize:])
	d, err := layout.ParseQECertData(sig[layout.SignatureSize+layout.KeySize:])
	if err != nil {
		return nil, err
	}
	q.QEReport, q.QEReportSignature, q.QEAuthData, q.CertData = d.Report, d.ReportSignature, d.AuthData, d.CertData
	return q, nil
}

func parseHeader(b []byte, h *Header) error {
	h.Version = binary.LittleEndian.Uint16(b[hdrVersion:])
	h.AttestationKeyType = binary.LittleEndian.Uint16(b[hdrAttKeyType:])
	h.TEEType = binary.LittleEndian.Uint32(b[hdrTEEType:])
	h.QESVN = binary.LittleEndian.Uint16(b[hdrQESVN:])
	h.PCESVN = binary.LittleEndian.Uint16(b[hdrPCESVN:])
	copy(h.QEVendorID[:], b[hdrQEVendorID:])
	copy(h.UserData[:], b[hdrUserData:HeaderSize])
	switch {
	case h.Version != Version3:
		return fmt.Errorf("header version: %d, want %d: %w", h.Version, Version3, ErrValue)
	case h.AttestationKeyType != AttestationKeyECDSAP256:
		return fmt.Errorf("header att_key_type: %d, want %d (ECDSA-256-with-P-256): %w", h.AttestationKeyType, AttestationKeyECDSAP256, ErrValue)
	case h.TEEType != TEETypeSGX:
		return fmt.Errorf("header tee_type: %#x, want 0 (SGX): %w", h.TEEType, ErrReserved)
	}
	// The QE vendor ID is checked by the verifier, which knows whose QE
	// identity it holds; here any value parses.
	return nil
}

// Marshal returns the quote's wire form. For a parsed quote it equals the
// parsed bytes.
func (q *Quote) Marshal() []byte {
	d := &layout.QECertData{Report: q.QEReport, ReportSignature: q.QEReportSignature, AuthData: q.QEAuthData, CertData: q.CertData}
	out := make([]byte, 0, SignedSize+sigDataLenSize+layout.SignatureSize+layout.KeySize+d.Size())
	out = binary.LittleEndian.AppendUint16(out, q.Header.Version)
	out = binary.LittleEndian.AppendUint16(out, q.Header.AttestationKeyType)
	out = binary.LittleEndian.AppendUint32(out, q.Header.TEEType)
	out = binary.LittleEndian.AppendUint16(out, q.Header.QESVN)
	out = binary.LittleEndian.AppendUint16(out, q.Header.PCESVN)
	out = append(out, q.Header.QEVendorID[:]...)
	out = append(out, q.Header.UserData[:]...)
	out = q.Body.AppendTo(out)
	out = binary.LittleEndian.AppendUint32(out, uint32(layout.SignatureSize+layout.KeySize+d.Size()))
	out = append(out, q.Signature[:]...)
	out = append(out, q.AttestationKey[:]...)
	return d.AppendTo(out)
}
