package attest

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
)

// ReportDataSize is the size of the report data every format binds.
const ReportDataSize = 64

// NonceSize is the size of a verifier's challenge nonce.
const NonceSize = 32

// bindingDomain separates cofre's report data from any other use of the same
// TEE report field.
const bindingDomain = "cofre-v1"

// ReportData computes the report data a producer must bind:
//
//	SHA-512("cofre-v1" ‖ nonce ‖ SHA-256(publicKeyDER) ‖ workloadDigest)
//
// The nonce is exactly NonceSize bytes and the digest is empty or exactly
// sha256.Size bytes: with fixed sizes the concatenation is unambiguous, so no
// two distinct inputs share a preimage layout. publicKeyDER is the workload
// key in PKIX DER (or, for the attestation service, its runtime data).
func ReportData(nonce, publicKeyDER, workloadDigest []byte) ([ReportDataSize]byte, error) {
	var out [ReportDataSize]byte
	if len(nonce) != NonceSize {
		return out, fmt.Errorf("attest: nonce is %d bytes, want %d", len(nonce), NonceSize)
	}
	if len(workloadDigest) != 0 && len(workloadDigest) != sha256.Size {
		return out, fmt.Errorf("attest: workload digest is %d bytes, want 0 or %d", len(workloadDigest), sha256.Size)
	}
	keyHash := sha256.Sum256(publicKeyDER)
	h := sha512.New()
	h.Write([]byte(bindingDomain))
	h.Write(nonce)
	h.Write(keyHash[:])
	h.Write(workloadDigest)
	h.Sum(out[:0])
	return out, nil
}

// ShortReportDataSize is the report data size of formats that bind only 32
// bytes (an SPDM requester nonce, NVIDIA GPUs). Their producers bind the
// first 32 bytes of ReportData: a truncated SHA-512 is still a 256-bit
// commitment.
const ShortReportDataSize = 32

// CheckBinding verifies that claims carry the report data for nonce,
// publicKeyDER and workloadDigest (its first ShortReportDataSize bytes for
// nvidia.spdm, the one format that binds only that many; every other format
// must carry all 64). A mismatch is a *CheckError of class
// ErrBinding. The comparison is constant-time, though none of the inputs is
// secret, so that callers need not reason about it.
func CheckBinding(c *Claims, nonce, publicKeyDER, workloadDigest []byte) error {
	want, err := ReportData(nonce, publicKeyDER, workloadDigest)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBinding, err)
	}
	expected := want[:]
	if c.Format == FormatNVGPU {
		expected = want[:ShortReportDataSize]
	}
	if subtle.ConstantTimeCompare(expected, c.ReportData) != 1 {
		return Refuse(ErrBinding, "report data binding", "report_data", Hex(expected).String(), c.ReportData.String())
	}
	return nil
}
