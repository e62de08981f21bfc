package layout

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of the parsers. Each is wrapped with the field it concerns.
var (
	ErrTruncated  = errors.New("truncated")
	ErrTrailing   = errors.New("trailing bytes")
	ErrTooLarge   = errors.New("too large")
	ErrReserved   = errors.New("reserved field not zero")
	ErrValue      = errors.New("unsupported value")
	ErrCertFormat = errors.New("certification data not a PEM certificate chain")
)

// IntelQEVendorID is the QE vendor ID of Intel's quoting enclaves, in the
// header of version 3 and version 4 quotes alike.
var IntelQEVendorID = [16]byte{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07}

// ReportBodySize is the size of an SGX report body (Quote Format v3, Table
// A.5).
const ReportBodySize = 384

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

// ReportBody is an SGX enclave report body (REPORTBODY): the quoting
// enclave's report in every DCAP quote, and the attested enclave's in SGX
// quotes.
type ReportBody struct {
	CPUSVN [16]byte
	// MiscSelect is the little-endian uint32 on the wire.
	MiscSelect   uint32
	ISVExtProdID [16]byte
	// Attributes are the 16 ATTRIBUTES bytes in wire order (FLAGS, then
	// XFRM).
	Attributes  [16]byte
	MREnclave   [32]byte
	MRSigner    [32]byte
	ConfigID    [64]byte
	ISVProdID   uint16
	ISVSVN      uint16
	ConfigSVN   uint16
	ISVFamilyID [16]byte
	ReportData  [64]byte
}

// AttributeDebug is bit 1 of ATTRIBUTES.FLAGS: the enclave is debuggable.
const AttributeDebug = 0x02

// Debug reports whether the enclave was launched in debug mode.
func (r *ReportBody) Debug() bool { return r.Attributes[0]&AttributeDebug != 0 }

// ParseReportBody parses the ReportBodySize bytes of b, refusing any
// reserved field that is not zero. It panics if b has another length: the
// callers slice fixed offsets.
func ParseReportBody(b []byte) (ReportBody, error) {
	var r ReportBody
	if len(b) != ReportBodySize {
		panic(fmt.Sprintf("layout: report body of %d bytes", len(b)))
	}
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
			return r, fmt.Errorf("%s: %w", z.name, ErrReserved)
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
	return r, nil
}

// AppendTo appends the ReportBodySize-byte wire form of r, reserved fields
// zero.
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

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
