package dcap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// verifySignatures checks the quote's three signature links: the PCK key
// signs the QE report; the QE report data is SHA-256(attestation key ‖ QE
// authentication data) followed by 32 zero bytes, which is what certifies
// the attestation key; the attestation key signs the header and body. They
// are independent, so every failure is reported (errors.Join), all of class
// ErrSignature.
func verifySignatures(pckKey *ecdsa.PublicKey, q *Quote) error {
	var errs []error
	if !verifyRaw(pckKey, q.QEReportBytes, q.QEReportSignature) {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "qe report signature", "qe_report_signature", "ECDSA P-256 signature by the PCK key", "invalid"))
	}
	h := sha256.New()
	h.Write(q.AttestationKey[:])
	h.Write(q.QEAuthData)
	want := make([]byte, 64) // SHA-256(key ‖ auth data), then 32 zero bytes
	h.Sum(want[:0])
	if subtle.ConstantTimeCompare(want, q.QEReport.ReportData[:]) != 1 {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "attestation key binding", "qe_report.report_data",
			hex.EncodeToString(want), hex.EncodeToString(q.QEReport.ReportData[:])))
	}
	attKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, q.AttestationKey[:]...))
	if err != nil {
		errs = append(errs, &attest.CheckError{Check: "quote signature", Field: "attestation_key", Expected: "a P-256 point", Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrSignature, err)})
	} else if !verifyRaw(attKey, q.Signed, q.Signature) {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "quote signature", "quote_signature", "ECDSA P-256 signature by the attestation key over header and body", "invalid"))
	}
	return errors.Join(errs...)
}

// verifyRaw verifies a raw ECDSA signature (r ‖ s, 32 bytes each,
// big-endian), the encoding used throughout DCAP quotes and PCS collateral,
// over SHA-256(msg).
func verifyRaw(key *ecdsa.PublicKey, msg []byte, sig [64]byte) bool {
	digest := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, digest[:], r, s)
}

// checkQEIdentity checks that the quoting enclave is the one Intel's QE
// identity describes: same MRSIGNER and ISVPRODID, and MISCSELECT and
// ATTRIBUTES equal to the expected values under their masks. Every mismatch
// is reported (errors.Join), all of class ErrCollateral: the collateral does
// not describe this evidence's QE. The fields are named after the QE
// identity members they are compared with.
func checkQEIdentity(qi *pcs.QEIdentity, r *layout.ReportBody) error {
	const check = "qe identity"
	var errs []error
	if r.MRSigner != qi.MRSigner {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.mrsigner", hex.EncodeToString(qi.MRSigner[:]), hex.EncodeToString(r.MRSigner[:])))
	}
	if r.ISVProdID != qi.ISVProdID {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.isvprodid", strconv.Itoa(int(qi.ISVProdID)), strconv.Itoa(int(r.ISVProdID))))
	}
	if got := r.MiscSelect & qi.MiscSelectMask; got != qi.MiscSelect {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.miscselect",
			fmt.Sprintf("%08x under mask %08x", qi.MiscSelect, qi.MiscSelectMask), fmt.Sprintf("%08x", r.MiscSelect)))
	}
	if got := maskBytes(r.Attributes, qi.AttributesMask); got != qi.Attributes {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.attributes",
			hex.EncodeToString(qi.Attributes[:])+" under mask "+hex.EncodeToString(qi.AttributesMask[:]), hex.EncodeToString(r.Attributes[:])))
	}
	return errors.Join(errs...)
}

// maskBytes returns v & mask, byte by byte.
func maskBytes(v, mask [16]byte) [16]byte {
	var out [16]byte
	for i := range v {
		out[i] = v[i] & mask[i]
	}
	return out
}
