package layout

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"fmt"
)

// Field sizes shared by both quote versions.
const (
	// SignatureSize is an ECDSA P-256 signature: r ‖ s, 32 bytes each,
	// big-endian.
	SignatureSize = 64
	// KeySize is an ECDSA P-256 public key: x ‖ y, 32 bytes each,
	// big-endian.
	KeySize = 64
	// CertDataPCKChain is certification data type 5: the PEM-encoded PCK
	// leaf certificate, PCK intermediate CA certificate and root CA
	// certificate, in that order.
	CertDataPCKChain = 5

	authLenSize  = 2
	certTypeSize = 2
	certLenSize  = 4

	// MinQECertDataSize is QE report certification data with empty QE
	// authentication data and an empty PCK chain.
	MinQECertDataSize = ReportBodySize + SignatureSize + authLenSize + certTypeSize + certLenSize
)

// QECertData is the QE report certification data: the QE's report, the PCK
// key's signature over it, the QE authentication data and the nested
// certification data. It ends the signature data of a version 3 quote and
// is the content of certification data type 6 in a version 4 quote.
type QECertData struct {
	Report ReportBody
	// ReportSignature is the PCK key's ECDSA signature (r ‖ s) over the
	// report's bytes.
	ReportSignature [SignatureSize]byte
	// AuthData is hashed with the attestation key into the report data.
	AuthData []byte
	// CertData is the nested certification data, type CertDataPCKChain:
	// a PEM PCK certificate chain.
	CertData []byte
}

// ParseQECertData parses b, which must be exactly the QE report
// certification data. It copies nothing: AuthData and CertData refer to b.
func ParseQECertData(b []byte) (*QECertData, error) {
	if len(b) < MinQECertDataSize {
		return nil, fmt.Errorf("QE report certification data is %d bytes, need at least %d: %w", len(b), MinQECertDataSize, ErrTruncated)
	}
	d := &QECertData{}
	var err error
	if d.Report, err = ParseReportBody(b[:ReportBodySize]); err != nil {
		return nil, fmt.Errorf("QE report: %w", err)
	}
	rest := b[ReportBodySize:]
	copy(d.ReportSignature[:], rest)
	rest = rest[SignatureSize:]

	// Every length is compared with what remains before it is used, in int
	// arithmetic on values of at most 32 bits, so none can make the parser
	// slice out of range.
	authLen := int(binary.LittleEndian.Uint16(rest))
	rest = rest[authLenSize:]
	if authLen > len(rest)-certTypeSize-certLenSize {
		return nil, fmt.Errorf("QE authentication data length is %d, only %d bytes follow: %w", authLen, len(rest)-certTypeSize-certLenSize, ErrTruncated)
	}
	d.AuthData = rest[:authLen]
	rest = rest[authLen:]

	certType := binary.LittleEndian.Uint16(rest)
	if certType != CertDataPCKChain {
		return nil, fmt.Errorf("QE certification data type is %d, want %d (PCK certificate chain): %w", certType, CertDataPCKChain, ErrValue)
	}
	certLen := uint64(binary.LittleEndian.Uint32(rest[certTypeSize:]))
	rest = rest[certTypeSize+certLenSize:]
	if certLen > MaxCertDataSize {
		return nil, fmt.Errorf("PCK certificate chain length is %d, limit %d: %w", certLen, MaxCertDataSize, ErrTooLarge)
	}
	if certLen != uint64(len(rest)) {
		if certLen > uint64(len(rest)) {
			return nil, fmt.Errorf("PCK certificate chain length is %d, %d bytes follow: %w", certLen, len(rest), ErrTruncated)
		}
		return nil, fmt.Errorf("PCK certificate chain length is %d, %d bytes follow: %w", certLen, len(rest), ErrTrailing)
	}
	d.CertData = rest
	return d, nil
}

// Size returns the length of d's wire form.
func (d *QECertData) Size() int { return MinQECertDataSize + len(d.AuthData) + len(d.CertData) }

// AppendTo appends d's wire form, with certification data type
// CertDataPCKChain. For parsed data it reproduces the parsed bytes.
func (d *QECertData) AppendTo(out []byte) []byte {
	out = d.Report.AppendTo(out)
	out = append(out, d.ReportSignature[:]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(d.AuthData)))
	out = append(out, d.AuthData...)
	out = binary.LittleEndian.AppendUint16(out, CertDataPCKChain)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(d.CertData)))
	return append(out, d.CertData...)
}

// PEMCertificates splits PEM certification data into at most MaxChainLength
// DER certificates, in order. Only CERTIFICATE blocks without headers are
// accepted, nothing but whitespace may come before or between them, and after
// the last only whitespace and NUL bytes (Intel's QE terminates the chain
// with a NUL).
//
// pem.Decode alone would skip any text before a block; the explicit prefix
// check keeps unsigned junk from hiding in certification data.
func PEMCertificates(data []byte) ([][]byte, error) {
	var out [][]byte
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(bytes.Trim(rest, " \t\r\n\x00")) == 0 {
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
