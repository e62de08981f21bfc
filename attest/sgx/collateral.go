package sgx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/sgx/internal/pcs"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// pcsCollateral is verified Intel PCS collateral for one platform.
type pcsCollateral struct {
	tcbInfo *pcs.TCBInfo
	qeID    *pcs.QEIdentity
}

// fetch returns one required collateral item. Not found, or any other
// failure, is a refusal of class ErrCollateral.
func fetch(ctx context.Context, src collateral.Source, req collateral.Request) ([]byte, error) {
	b, err := src.Fetch(ctx, req)
	if err != nil {
		actual := "fetch failed"
		if errors.Is(err, collateral.ErrNotFound) {
			actual = "not found"
		}
		return nil, &attest.CheckError{Check: "collateral", Field: req.Kind.String(), Expected: "available", Actual: actual,
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	return b, nil
}

// verifyTCBSigner fetches and checks the TCB signing chain: the TCB Signing
// certificate, optionally followed by the root, which must then be the
// trusted root itself. The signer must be issued directly by the root, be
// named "Intel SGX TCB Signing", not be a CA, and be valid at now.
//
// Failures are of class ErrCollateral (the collateral cannot be trusted),
// not ErrCertificate (which is about the evidence's own chain).
func (v *Verifier) verifyTCBSigner(ctx context.Context, src collateral.Source, now time.Time) (*x509.Certificate, *ecdsa.PublicKey, error) {
	const check = "tcb signing chain"
	b, err := fetch(ctx, src, collateral.Request{Kind: collateral.KindTCBSigningChain, TEE: "sgx"})
	if err != nil {
		return nil, nil, err
	}
	refuse := func(field, expected, actual string, cause error) error {
		e := &attest.CheckError{Check: check, Field: field, Expected: expected, Actual: actual, Err: attest.ErrCollateral}
		if cause != nil {
			e.Err = fmt.Errorf("%w: %w", attest.ErrCollateral, cause)
		}
		return e
	}
	if len(b) > maxSigningChainSize {
		return nil, nil, refuse("size", fmt.Sprintf("at most %d bytes", maxSigningChainSize), fmt.Sprintf("%d bytes", len(b)), nil)
	}
	ders, err := quote.PEMCertificates(b)
	if err != nil {
		return nil, nil, refuse(collateral.KindTCBSigningChain.String(), "PEM certificates", "unparsable", err)
	}
	if len(ders) > 2 {
		return nil, nil, refuse(collateral.KindTCBSigningChain.String(), "TCB Signing certificate, then optionally the root", fmt.Sprintf("%d certificates", len(ders)), nil)
	}
	if len(ders) == 2 && !bytes.Equal(ders[1], v.root.Raw) {
		h := sha256.Sum256(ders[1])
		return nil, nil, refuse("root", fingerprint(v.root), "sha256:"+hex.EncodeToString(h[:]), nil)
	}
	signer, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, nil, refuse("tcb_signing", "X.509 certificate", "unparsable", err)
	}
	if signer.Subject.CommonName != cnTCBSigning {
		return nil, nil, refuse("tcb_signing.subject.CN", cnTCBSigning, signer.Subject.CommonName, nil)
	}
	if signer.IsCA {
		return nil, nil, refuse("tcb_signing.basicConstraints.cA", "false", "true", nil)
	}
	if err := checkValidity(attest.ErrCollateral, check, "tcb_signing", signer, now); err != nil {
		return nil, nil, err
	}
	if err := checkIssued(attest.ErrCollateral, check, "tcb_signing", signer, v.root); err != nil {
		return nil, nil, err
	}
	key, err := p256Key(signer)
	if err != nil {
		return nil, nil, refuse("tcb_signing.publicKey", "ECDSA P-256", err.Error(), nil)
	}
	return signer, key, nil
}

// verifyCollateral fetches and verifies the TCB info for the PCK
// certificate's FMSPC and the QE identity: signature by the TCB Signing key
// over the exact signed bytes, issueDate ≤ now ≤ nextUpdate, and for TCB
// info FMSPC and PCE-ID equal to the PCK certificate's.
func verifyCollateral(ctx context.Context, src collateral.Source, key *ecdsa.PublicKey, ext *pcs.PCKExtensions, now time.Time) (*pcsCollateral, error) {
	fmspc := strings.ToUpper(hex.EncodeToString(ext.FMSPC[:]))
	b, err := fetch(ctx, src, collateral.Request{Kind: collateral.KindTCBInfo, TEE: "sgx", FMSPC: fmspc})
	if err != nil {
		return nil, err
	}
	ti, err := pcs.ParseTCBInfo(b)
	if err != nil {
		return nil, &attest.CheckError{Check: "tcb info", Field: collateral.KindTCBInfo.String(), Expected: "SGX TCB info v2 or v3", Actual: "unparsable",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if err := errors.Join(
		checkSigned("tcb info signature", "tcb_info.signature", key, ti.Signed, ti.Signature),
		checkDates("tcb info validity", "tcb_info", ti.IssueDate, ti.NextUpdate, now),
		checkEqual("tcb info platform", "tcb_info.fmspc", ext.FMSPC[:], ti.FMSPC[:]),
		checkEqual("tcb info platform", "tcb_info.pceId", ext.PCEID[:], ti.PCEID[:]),
	); err != nil {
		return nil, err
	}

	b, err = fetch(ctx, src, collateral.Request{Kind: collateral.KindQEIdentity, TEE: "sgx"})
	if err != nil {
		return nil, err
	}
	qi, err := pcs.ParseQEIdentity(b)
	if err != nil {
		return nil, &attest.CheckError{Check: "qe identity", Field: collateral.KindQEIdentity.String(), Expected: "SGX QE identity v2", Actual: "unparsable",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if err := errors.Join(
		checkSigned("qe identity signature", "qe_identity.signature", key, qi.Signed, qi.Signature),
		checkDates("qe identity validity", "qe_identity", qi.IssueDate, qi.NextUpdate, now),
	); err != nil {
		return nil, err
	}
	return &pcsCollateral{tcbInfo: ti, qeID: qi}, nil
}

func checkSigned(check, field string, key *ecdsa.PublicKey, signed []byte, sig [64]byte) error {
	if !verifyRaw(key, signed, sig) {
		return attest.Refuse(attest.ErrCollateral, check, field, "ECDSA P-256 signature by Intel SGX TCB Signing", "invalid")
	}
	return nil
}

func checkDates(check, prefix string, issue, next, now time.Time) error {
	if now.Before(issue) {
		return attest.Refuse(attest.ErrCollateral, check, prefix+".issueDate", "at or before "+rfc3339(now), rfc3339(issue))
	}
	if now.After(next) {
		return attest.Refuse(attest.ErrCollateral, check, prefix+".nextUpdate", "at or after "+rfc3339(now), rfc3339(next))
	}
	return nil
}

func checkEqual(check, field string, want, got []byte) error {
	if !bytes.Equal(want, got) {
		return attest.Refuse(attest.ErrCollateral, check, field, hex.EncodeToString(want), hex.EncodeToString(got))
	}
	return nil
}

// verifyRaw verifies a raw ECDSA signature (r ‖ s, 32 bytes each,
// big-endian), the encoding used throughout SGX quotes and PCS collateral,
// over SHA-256(msg).
func verifyRaw(key *ecdsa.PublicKey, msg []byte, sig [64]byte) bool {
	digest := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, digest[:], r, s)
}
