// Package quote parses Intel TDX quotes, version 4, signed with an ECDSA
// P-256 attestation key and certified by a QE report whose certification
// data is a PCK certificate chain.
//
// It turns bytes into a typed Quote and checks the layout: sizes, header
// values, certification data types, size fields that must agree with each
// other, and the must-be-zero fields of the QE report. It does no
// cryptography and applies no policy; package tdx verifies.
//
// The layout follows "Intel TDX DCAP Quote Generation Library and Quote
// Verification Library API", appendix "Quote Format" (version 4): a 48-byte
// header, a 584-byte TD quote body (TDX 1.0), then the quote signature data.
// Numbers are little-endian; signatures and keys are big-endian r‖s and x‖y.
//
// The QE report certification data inside certification data type 6, which
// SGX quotes share, is parsed by attest/internal/dcap/layout. go-tdx-guest's
// abi.QuoteToProto parses the same format, but it slices without bounds
// checks on the signature data and panics on truncated input, so it is not
// given untrusted bytes; its parser serves as a differential oracle in the
// tests.
package quote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
)

// Header field values this parser accepts.
const (
	// Version4 is the quote version of TDX 1.0 quotes.
	Version4 = 4
	// AttestationKeyECDSAP256 is ECDSA-256-with-P-256 curve.
	AttestationKeyECDSAP256 = 2
	// TEETypeTDX is the header's TEE type for TDX (SGX is 0).
	TEETypeTDX = 0x81
	// CertDataQEReport is certification data type 6: a QE report, its
	// signature by the PCK key, QE authentication data, and nested
	// certification data (layout.QECertData).
	CertDataQEReport = 6
)

// Sizes of the quote's parts.
const (
	HeaderSize = 48
	BodySize   = 584
	// SignedSize is the size of the bytes the attestation key signs: the
	// header followed by the TD quote body.
	SignedSize = HeaderSize + BodySize
	// QEReportSize is the size of the QE's SGX report body.
	QEReportSize = layout.ReportBodySize

	sigDataLenSize = 4
	ecdsaSigSize   = layout.SignatureSize
	ecdsaKeySize   = layout.KeySize
	certTypeSize   = 2
	certLenSize    = 4

	// minSigData is the quote signature data around the smallest QE report
	// certification data.
	minSigData = ecdsaSigSize + ecdsaKeySize + certTypeSize + certLenSize + layout.MinQECertDataSize

	// MinSize is the smallest well-formed quote: an empty auth data and an
	// empty PCK chain (which the verifier then refuses).
	MinSize = SignedSize + sigDataLenSize + minSigData
)

// Header offsets ("Quote Header", version 4).
const (
	hdrVersion    = 0  // uint16
	hdrAttKeyType = 2  // uint16
	hdrTEEType    = 4  // uint32
	hdrReserved   = 8  // [4]byte; QE SVN and PCE SVN in version 3
	hdrQEVendorID = 12 // [16]byte
	hdrUserData   = 28 // [20]byte
)

// TD quote body offsets, relative to the body ("TD Quote Body", TDX 1.0).
const (
	bodyTEETCBSVN      = 0   // [16]byte
	bodyMRSEAM         = 16  // [48]byte
	bodyMRSignerSEAM   = 64  // [48]byte
	bodySEAMAttributes = 112 // [8]byte
	bodyTDAttributes   = 120 // [8]byte
	bodyXFAM           = 128 // [8]byte
	bodyMRTD           = 136 // [48]byte
	bodyMRConfigID     = 184 // [48]byte
	bodyMROwner        = 232 // [48]byte
	bodyMROwnerConfig  = 280 // [48]byte
	bodyRTMR           = 328 // [4][48]byte
	bodyReportData     = 520 // [64]byte
)

// Header is the quote header.
type Header struct {
	Version            uint16
	AttestationKeyType uint16
	TEEType            uint32
	// Reserved is zero in TDX quotes; version 3 put the QE and PCE SVNs
	// here. It is kept, not checked: it is signed, and the QE's and PCE's
	// SVNs are taken from the QE report and the PCK certificate instead.
	Reserved   [4]byte
	QEVendorID [16]byte
	UserData   [20]byte
}

// Body is the TD quote body: the TDREPORT fields the TDX module reports.
type Body struct {
	TEETCBSVN      [16]byte
	MRSEAM         [48]byte
	MRSignerSEAM   [48]byte
	SEAMAttributes [8]byte
	TDAttributes   [8]byte
	XFAM           [8]byte
	MRTD           [48]byte
	MRConfigID     [48]byte
	MROwner        [48]byte
	MROwnerConfig  [48]byte
	RTMR           [4][48]byte
	ReportData     [64]byte
}

// Quote is a parsed TDX quote. Nothing in it is verified.
type Quote struct {
	Header Header
	Body   Body
	// Signature is the attestation key's ECDSA signature over
	// SignedBytes(), r ‖ s.
	Signature [64]byte
	// AttestationKey is the QE's P-256 attestation public key, x ‖ y.
	AttestationKey [64]byte
	// QEReport is the quoting enclave's report, signed by the PCK key. Its
	// report data binds AttestationKey and QEAuthData.
	QEReport          layout.ReportBody
	QEReportSignature [64]byte
	QEAuthData        []byte
	// PCKChain is the PEM PCK certificate chain exactly as carried,
	// including any trailing NUL.
	PCKChain []byte
	// Trailing counts bytes after the quote's signature data. They are
	// outside every signature and are ignored.
	Trailing int

	raw []byte // the quote without trailing bytes
}

// SignedBytes returns the header and TD quote body as signed by the
// attestation key. The caller must not modify them.
func (q *Quote) SignedBytes() []byte { return q.raw[:SignedSize] }

// QEReportBytes returns the QE report as signed by the PCK key. The caller
// must not modify them.
func (q *Quote) QEReportBytes() []byte {
	off := SignedSize + sigDataLenSize + ecdsaSigSize + ecdsaKeySize + certTypeSize + certLenSize
	return q.raw[off : off+QEReportSize]
}

// Raw returns the quote's bytes without trailing bytes. The caller must not
// modify them.
func (q *Quote) Raw() []byte { return q.raw }

// ErrFormat is the cause of every parse failure.
var ErrFormat = errors.New("malformed TDX quote")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// Parse parses a TDX quote version 4. b is not retained: the quote holds a
// copy. Bytes after the signature data are allowed, counted in Trailing and
// ignored.
func Parse(b []byte) (*Quote, error) {
	if len(b) > MaxSize {
		return nil, formatErr("quote is %d bytes, limit %d", len(b), MaxSize)
	}
	if len(b) < MinSize {
		return nil, formatErr("quote is %d bytes, at least %d needed", len(b), MinSize)
	}
	q := &Quote{}
	if err := q.parseHeader(b[:HeaderSize]); err != nil {
		return nil, err
	}
	q.parseBody(b[HeaderSize:SignedSize])

	// Every size field is checked against what remains before it is used,
	// in 64-bit arithmetic, so no field can make the parser slice out of
	// range or wrap.
	sigLen := uint64(binary.LittleEndian.Uint32(b[SignedSize:]))
	rest := b[SignedSize+sigDataLenSize:]
	if sigLen < minSigData {
		return nil, formatErr("signature data length is %d, at least %d needed", sigLen, minSigData)
	}
	if sigLen > uint64(len(rest)) {
		return nil, formatErr("signature data length is %d, only %d bytes follow", sigLen, len(rest))
	}
	sig := rest[:sigLen]
	q.Trailing = len(rest) - int(sigLen)
	q.raw = bytes.Clone(b[:len(b)-q.Trailing])

	copy(q.Signature[:], sig[0:])
	copy(q.AttestationKey[:], sig[ecdsaSigSize:])
	cd := sig[ecdsaSigSize+ecdsaKeySize:]
	cdType := binary.LittleEndian.Uint16(cd)
	cdLen := uint64(binary.LittleEndian.Uint32(cd[certTypeSize:]))
	cd = cd[certTypeSize+certLenSize:]
	if cdType != CertDataQEReport {
		return nil, formatErr("certification data type is %d, want %d (QE report certification data)", cdType, CertDataQEReport)
	}
	if cdLen != uint64(len(cd)) {
		return nil, formatErr("certification data length is %d, the signature data leaves %d", cdLen, len(cd))
	}
	d, err := layout.ParseQECertData(cd)
	if err != nil {
		return nil, formatErr("%w", err)
	}
	q.QEReport, q.QEReportSignature = d.Report, d.ReportSignature
	q.QEAuthData = bytes.Clone(d.AuthData)
	q.PCKChain = bytes.Clone(d.CertData)
	return q, nil
}

func (q *Quote) parseHeader(h []byte) error {
	q.Header.Version = binary.LittleEndian.Uint16(h[hdrVersion:])
	q.Header.AttestationKeyType = binary.LittleEndian.Uint16(h[hdrAttKeyType:])
	q.Header.TEEType = binary.LittleEndian.Uint32(h[hdrTEEType:])
	copy(q.Header.Reserved[:], h[hdrReserved:])
	copy(q.Header.QEVendorID[:], h[hdrQEVendorID:])
	copy(q.Header.UserData[:], h[hdrUserData:])
	if q.Header.Version != Version4 {
		return formatErr("header version is %d, want %d", q.Header.Version, Version4)
	}
	if q.Header.AttestationKeyType != AttestationKeyECDSAP256 {
		return formatErr("header attestation key type is %d, want %d (ECDSA P-256)", q.Header.AttestationKeyType, AttestationKeyECDSAP256)
	}
	if q.Header.TEEType != TEETypeTDX {
		return formatErr("header TEE type is %#x, want %#x (TDX)", q.Header.TEEType, TEETypeTDX)
	}
	return nil
}

func (q *Quote) parseBody(b []byte) {
	d := &q.Body
	copy(d.TEETCBSVN[:], b[bodyTEETCBSVN:])
	copy(d.MRSEAM[:], b[bodyMRSEAM:])
	copy(d.MRSignerSEAM[:], b[bodyMRSignerSEAM:])
	copy(d.SEAMAttributes[:], b[bodySEAMAttributes:])
	copy(d.TDAttributes[:], b[bodyTDAttributes:])
	copy(d.XFAM[:], b[bodyXFAM:])
	copy(d.MRTD[:], b[bodyMRTD:])
	copy(d.MRConfigID[:], b[bodyMRConfigID:])
	copy(d.MROwner[:], b[bodyMROwner:])
	copy(d.MROwnerConfig[:], b[bodyMROwnerConfig:])
	for i := range d.RTMR {
		copy(d.RTMR[i][:], b[bodyRTMR+48*i:])
	}
	copy(d.ReportData[:], b[bodyReportData:])
}

// Marshal encodes q in the quote format, recomputing every size field. For
// a parsed quote it returns Raw(); tests use it to build variants.
func (q *Quote) Marshal() []byte {
	out := make([]byte, 0, MinSize+len(q.QEAuthData)+len(q.PCKChain))
	h := &q.Header
	out = binary.LittleEndian.AppendUint16(out, h.Version)
	out = binary.LittleEndian.AppendUint16(out, h.AttestationKeyType)
	out = binary.LittleEndian.AppendUint32(out, h.TEEType)
	out = append(out, h.Reserved[:]...)
	out = append(out, h.QEVendorID[:]...)
	out = append(out, h.UserData[:]...)

	d := &q.Body
	out = append(out, d.TEETCBSVN[:]...)
	out = append(out, d.MRSEAM[:]...)
	out = append(out, d.MRSignerSEAM[:]...)
	out = append(out, d.SEAMAttributes[:]...)
	out = append(out, d.TDAttributes[:]...)
	out = append(out, d.XFAM[:]...)
	out = append(out, d.MRTD[:]...)
	out = append(out, d.MRConfigID[:]...)
	out = append(out, d.MROwner[:]...)
	out = append(out, d.MROwnerConfig[:]...)
	for i := range d.RTMR {
		out = append(out, d.RTMR[i][:]...)
	}
	out = append(out, d.ReportData[:]...)

	cd := &layout.QECertData{Report: q.QEReport, ReportSignature: q.QEReportSignature, AuthData: q.QEAuthData, CertData: q.PCKChain}
	sigData := ecdsaSigSize + ecdsaKeySize + certTypeSize + certLenSize + cd.Size()
	out = binary.LittleEndian.AppendUint32(out, uint32(sigData))
	out = append(out, q.Signature[:]...)
	out = append(out, q.AttestationKey[:]...)
	out = binary.LittleEndian.AppendUint16(out, CertDataQEReport)
	out = binary.LittleEndian.AppendUint32(out, uint32(cd.Size()))
	return cd.AppendTo(out)
}

// SplitPCKChain splits the PEM PCK certificate chain of a quote into its
// three DER certificates: PCK leaf, PCK intermediate CA, root CA (see
// layout.PEMCertificates for what may surround them). Any other number of
// certificates is refused: certification data type 5 is defined as exactly
// these three.
func SplitPCKChain(chain []byte) (leaf, intermediate, root []byte, err error) {
	ders, err := layout.PEMCertificates(chain)
	if err != nil {
		return nil, nil, nil, formatErr("PCK certificate chain: %w", err)
	}
	if len(ders) != 3 {
		return nil, nil, nil, formatErr("PCK certificate chain holds %d PEM certificates, want 3", len(ders))
	}
	return ders[0], ders[1], ders[2], nil
}
