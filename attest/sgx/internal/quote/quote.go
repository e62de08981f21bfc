// Package quote parses Intel SGX DCAP quotes, version 3, with an ECDSA P-256
// attestation key and a PCK certificate chain as certification data.
//
// It turns bytes into a typed Quote and checks the layout: sizes, versions,
// key and certification data types, and that reserved fields are zero. It
// does no cryptography and applies no policy; package sgx verifies.
//
// Layout and offsets follow "Intel SGX ECDSA Quote Library API", Appendix A
// (Quote Format, version 3), as published with Intel SGX DCAP.
package quote

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
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
	// CertDataPCKChain is certification data type 5: the PEM-encoded PCK
	// leaf certificate, PCK intermediate CA certificate and root CA
	// certificate, in that order.
	CertDataPCKChain = 5
)

// IntelQEVendorID is the QE vendor ID of Intel's quoting enclave.
var IntelQEVendorID = [16]byte{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07}

// Sizes and offsets of the quote (Quote Format v3, Tables A.4–A.8).
const (
	HeaderSize     = 48
	ReportBodySize = 384
	// SignedSize is the size of the bytes the attestation key signs: the
	// header followed by the ISV enclave report body.
	SignedSize = HeaderSize + ReportBodySize

	sigDataLenSize = 4
	ecdsaSigSize   = 64 // r ‖ s, 32 bytes each, big-endian
	ecdsaKeySize   = 64 // x ‖ y, 32 bytes each, big-endian
	authLenSize    = 2
	certTypeSize   = 2
	certLenSize    = 4

	// minSigDataSize is the signature data with empty QE auth data and
	// empty certification data.
	minSigDataSize = ecdsaSigSize + ecdsaKeySize + ReportBodySize + ecdsaSigSize + authLenSize + certTypeSize + certLenSize
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

// Report body offsets (Table A.5, the SGX REPORTBODY structure).
const (
	rbCPUSVN       = 0   // 16 bytes
	rbMiscSelect   = 16  // uint32
	rbReserved1    = 20  // 12 bytes, zero
	rbISVExtProdID = 32  // 16 bytes
	rbAttributes   = 48  // 16 bytes
	rbMREnclave    = 64  // 32 bytes
	rbReserved2    = 96  // 32 bytes, zero
	rbMRSigner     = 128 // 32 bytes
	rbReserved3    = 160 // 32 bytes, zero
	rbConfigID     = 192 // 64 bytes
	rbISVProdID    = 256 // uint16
	rbISVSVN       = 258 // uint16
	rbConfigSVN    = 260 // uint16
	rbReserved4    = 262 // 42 bytes, zero
	rbISVFamilyID  = 304 // 16 bytes
	rbReportData   = 320 // 64 bytes
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
type ReportBody struct {
	CPUSVN       [16]byte
	MiscSelect   uint32
	ISVExtProdID [16]byte
	Attributes   [16]byte
	MREnclave    [32]byte
	MRSigner     [32]byte
	ConfigID     [64]byte
	ISVProdID    uint16
	ISVSVN       uint16
	ConfigSVN    uint16
	ISVFamilyID  [16]byte
	ReportData   [64]byte
}

// AttributeDebug is bit 1 of ATTRIBUTES.FLAGS: the enclave is debuggable.
const AttributeDebug = 0x02

// Debug reports whether the enclave was launched in debug mode.
func (r *ReportBody) Debug() bool { return r.Attributes[0]&AttributeDebug != 0 }

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
	// CertDataType is CertDataPCKChain.
	CertDataType uint16
	// CertData is the certification data: a PEM PCK certificate chain.
	CertData []byte

	raw []byte
}

// Signed returns the bytes the attestation key signs: header ‖ ISV report
// body, exactly as received.
func (q *Quote) Signed() []byte { return q.raw[:SignedSize] }

// QEReportBytes returns the QE report body exactly as received; the PCK key
// signs these bytes.
func (q *Quote) QEReportBytes() []byte {
	off := SignedSize + sigDataLenSize + ecdsaSigSize + ecdsaKeySize
	return q.raw[off : off+ReportBodySize]
}

// Errors returned by Parse. Each is wrapped with the field it concerns.
var (
	ErrTruncated  = errors.New("truncated")
	ErrTrailing   = errors.New("trailing bytes")
	ErrTooLarge   = errors.New("too large")
	ErrReserved   = errors.New("reserved field not zero")
	ErrValue      = errors.New("unsupported value")
	ErrCertFormat = errors.New("certification data not a PEM certificate chain")
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
	if err := parseReportBody(b[HeaderSize:SignedSize], &q.Body); err != nil {
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
	r := reader{b: sig}
	copy(q.Signature[:], r.next(ecdsaSigSize))
	copy(q.AttestationKey[:], r.next(ecdsaKeySize))
	if err := parseReportBody(r.next(ReportBodySize), &q.QEReport); err != nil {
		return nil, fmt.Errorf("qe report body: %w", err)
	}
	copy(q.QEReportSignature[:], r.next(ecdsaSigSize))

	authLen := int(binary.LittleEndian.Uint16(r.next(authLenSize)))
	if r.left() < authLen+certTypeSize+certLenSize {
		return nil, fmt.Errorf("qe_auth_data: %d bytes declared, %d left: %w", authLen, r.left(), ErrTruncated)
	}
	q.QEAuthData = r.next(authLen)

	q.CertDataType = binary.LittleEndian.Uint16(r.next(certTypeSize))
	if q.CertDataType != CertDataPCKChain {
		return nil, fmt.Errorf("certification_data_type: %d, want %d (PCK certificate chain): %w", q.CertDataType, CertDataPCKChain, ErrValue)
	}
	certLen := binary.LittleEndian.Uint32(r.next(certLenSize))
	if certLen > MaxCertDataSize {
		return nil, fmt.Errorf("certification data: %d bytes, limit %d: %w", certLen, MaxCertDataSize, ErrTooLarge)
	}
	if uint64(certLen) != uint64(r.left()) {
		if uint64(certLen) > uint64(r.left()) {
			return nil, fmt.Errorf("certification_data_size: %d, %d bytes left: %w", certLen, r.left(), ErrTruncated)
		}
		return nil, fmt.Errorf("certification_data_size: %d, %d bytes left: %w", certLen, r.left(), ErrTrailing)
	}
	q.CertData = r.next(int(certLen))
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

func parseReportBody(b []byte, r *ReportBody) error {
	for _, z := range [...]struct {
		name     string
		off, len int
	}{
		{"reserved1", rbReserved1, rbISVExtProdID - rbReserved1},
		{"reserved2", rbReserved2, rbMRSigner - rbReserved2},
		{"reserved3", rbReserved3, rbConfigID - rbReserved3},
		{"reserved4", rbReserved4, rbISVFamilyID - rbReserved4},
	} {
		if !allZero(b[z.off : z.off+z.len]) {
			return fmt.Errorf("%s: %w", z.name, ErrReserved)
		}
	}
	copy(r.CPUSVN[:], b[rbCPUSVN:])
	r.MiscSelect = binary.LittleEndian.Uint32(b[rbMiscSelect:])
	copy(r.ISVExtProdID[:], b[rbISVExtProdID:])
	copy(r.Attributes[:], b[rbAttributes:])
	copy(r.MREnclave[:], b[rbMREnclave:])
	copy(r.MRSigner[:], b[rbMRSigner:])
	copy(r.ConfigID[:], b[rbConfigID:])
	r.ISVProdID = binary.LittleEndian.Uint16(b[rbISVProdID:])
	r.ISVSVN = binary.LittleEndian.Uint16(b[rbISVSVN:])
	r.ConfigSVN = binary.LittleEndian.Uint16(b[rbConfigSVN:])
	copy(r.ISVFamilyID[:], b[rbISVFamilyID:])
	copy(r.ReportData[:], b[rbReportData:ReportBodySize])
	return nil
}

// Marshal returns the quote's wire form. For a parsed quote it equals the
// parsed bytes.
func (q *Quote) Marshal() []byte {
	out := make([]byte, 0, SignedSize+sigDataLenSize+minSigDataSize+len(q.QEAuthData)+len(q.CertData))
	out = binary.LittleEndian.AppendUint16(out, q.Header.Version)
	out = binary.LittleEndian.AppendUint16(out, q.Header.AttestationKeyType)
	out = binary.LittleEndian.AppendUint32(out, q.Header.TEEType)
	out = binary.LittleEndian.AppendUint16(out, q.Header.QESVN)
	out = binary.LittleEndian.AppendUint16(out, q.Header.PCESVN)
	out = append(out, q.Header.QEVendorID[:]...)
	out = append(out, q.Header.UserData[:]...)
	out = q.Body.AppendTo(out)
	sigLen := minSigDataSize + len(q.QEAuthData) + len(q.CertData)
	out = binary.LittleEndian.AppendUint32(out, uint32(sigLen))
	out = append(out, q.Signature[:]...)
	out = append(out, q.AttestationKey[:]...)
	out = q.QEReport.AppendTo(out)
	out = append(out, q.QEReportSignature[:]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(q.QEAuthData)))
	out = append(out, q.QEAuthData...)
	out = binary.LittleEndian.AppendUint16(out, q.CertDataType)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(q.CertData)))
	out = append(out, q.CertData...)
	return out
}

// AppendTo appends the 384-byte wire form of r, reserved fields zero.
func (r *ReportBody) AppendTo(out []byte) []byte {
	var b [ReportBodySize]byte
	copy(b[rbCPUSVN:], r.CPUSVN[:])
	binary.LittleEndian.PutUint32(b[rbMiscSelect:], r.MiscSelect)
	copy(b[rbISVExtProdID:], r.ISVExtProdID[:])
	copy(b[rbAttributes:], r.Attributes[:])
	copy(b[rbMREnclave:], r.MREnclave[:])
	copy(b[rbMRSigner:], r.MRSigner[:])
	copy(b[rbConfigID:], r.ConfigID[:])
	binary.LittleEndian.PutUint16(b[rbISVProdID:], r.ISVProdID)
	binary.LittleEndian.PutUint16(b[rbISVSVN:], r.ISVSVN)
	binary.LittleEndian.PutUint16(b[rbConfigSVN:], r.ConfigSVN)
	copy(b[rbISVFamilyID:], r.ISVFamilyID[:])
	copy(b[rbReportData:], r.ReportData[:])
	return append(out, b[:]...)
}

// PEMCertificates splits PEM certification data into DER certificates, in
// order. Only CERTIFICATE blocks without headers are accepted, nothing but
// whitespace may come between them, and after the last only whitespace and
// NUL bytes (Intel's QE terminates the chain with a NUL).
func PEMCertificates(data []byte) ([][]byte, error) {
	var out [][]byte
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(bytes.TrimRight(rest, "\x00")) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, []byte("-----BEGIN CERTIFICATE-----")) {
			return nil, fmt.Errorf("block %d: not a PEM certificate: %w", len(out), ErrCertFormat)
		}
		if len(out) == MaxChainLength {
			return nil, fmt.Errorf("more than %d certificates: %w", MaxChainLength, ErrCertFormat)
		}
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil || blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 {
			return nil, fmt.Errorf("block %d: malformed PEM: %w", len(out), ErrCertFormat)
		}
		out = append(out, blk.Bytes)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate: %w", ErrCertFormat)
	}
	return out, nil
}

type reader struct {
	b   []byte
	off int
}

// next returns the following n bytes; callers check left() first.
func (r *reader) next(n int) []byte {
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) left() int { return len(r.b) - r.off }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
