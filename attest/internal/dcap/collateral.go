package dcap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// fetch returns one required collateral item. Not found, or any other
// failure, is a refusal of class ErrCollateral: without the item the quote
// cannot be evaluated.
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
func verifyTCBSigner(ctx context.Context, opts *Options, now time.Time) (*x509.Certificate, *ecdsa.PublicKey, error) {
	b, err := fetch(ctx, opts.Collateral, collateral.Request{Kind: collateral.KindTCBSigningChain, TEE: opts.TEE.String()})
	if err != nil {
		return nil, nil, err
	}
	return checkTCBSigningChain(b, opts.Root, now)
}

// checkTCBSigningChain parses and checks the TCB signing chain b (see
// verifyTCBSigner).
func checkTCBSigningChain(b []byte, root *x509.Certificate, now time.Time) (*x509.Certificate, *ecdsa.PublicKey, error) {
	const check = "tcb signing chain"
	refuse := func(field, expected, actual string, cause error) error {
		e := &attest.CheckError{Check: check, Field: field, Expected: expected, Actual: actual, Err: attest.ErrCollateral}
		if cause != nil {
			e.Err = fmt.Errorf("%w: %w", attest.ErrCollateral, cause)
		}
		return e
	}
	file := collateral.KindTCBSigningChain.String()
	if len(b) > maxSigningChainSize {
		return nil, nil, refuse(file, fmt.Sprintf("at most %d bytes", maxSigningChainSize), fmt.Sprintf("%d bytes", len(b)), nil)
	}
	ders, err := layout.PEMCertificates(b)
	if err != nil {
		return nil, nil, refuse(file, "PEM certificates", "unparsable", err)
	}
	if len(ders) > 2 {
		return nil, nil, refuse(file, "TCB Signing certificate, then optionally the root", fmt.Sprintf("%d certificates", len(ders)), nil)
	}
	if len(ders) == 2 && !bytes.Equal(ders[1], root.Raw) {
		h := sha256.Sum256(ders[1])
		return nil, nil, refuse("root", fingerprint(root), "sha256:"+hex.EncodeToString(h[:]), nil)
	}
	signer, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, nil, refuse("tcb_signing", "X.509 certificate", "unparsable", err)
	}
	if signer.Subject.CommonName != CNTCBSigning {
		return nil, nil, refuse("tcb_signing.subject.CN", CNTCBSigning, signer.Subject.CommonName, nil)
	}
	if signer.IsCA {
		return nil, nil, refuse("tcb_signing.basicConstraints.cA", "false", "true", nil)
	}
	if len(signer.UnhandledCriticalExtensions) != 0 {
		return nil, nil, refuse("tcb_signing.extensions", "no unknown critical extension", signer.UnhandledCriticalExtensions[0].String(), nil)
	}
	if err := checkValidity(attest.ErrCollateral, check, "tcb_signing", signer, now); err != nil {
		return nil, nil, err
	}
	if err := checkIssued(attest.ErrCollateral, check, "tcb_signing", signer, root); err != nil {
		return nil, nil, err
	}
	key, err := p256Key(signer)
	if err != nil {
		return nil, nil, refuse("tcb_signing.publicKey", "ECDSA P-256", err.Error(), nil)
	}
	return signer, key, nil
}

// verifyCollateral fetches and verifies the TCB info for the PCK
// certificate's FMSPC and the QE identity of opts.TEE: signature by the TCB
// Signing key over the exact signed bytes, issueDate ≤ now ≤ nextUpdate,
// and for TCB info FMSPC and PCE-ID equal to the PCK certificate's. All
// these checks run, and their failures are joined.
//
// Collateral past its nextUpdate may no longer list the advisories and
// levels Intel has since published: it is refused rather than allowed to
// give a stale verdict. Collateral issued after now cannot have been what a
// verifier at now would see, so it is refused too.
func verifyCollateral(ctx context.Context, opts *Options, key *ecdsa.PublicKey, ext *pcs.PCKExtensions, now time.Time) (*pcs.TCBInfo, *pcs.QEIdentity, error) {
	tee := opts.TEE.String()
	fmspc := strings.ToUpper(hex.EncodeToString(ext.FMSPC[:]))
	b, err := fetch(ctx, opts.Collateral, collateral.Request{Kind: collateral.KindTCBInfo, TEE: tee, FMSPC: fmspc})
	if err != nil {
		return nil, nil, err
	}
	ti, err := pcs.ParseTCBInfo(b, opts.TEE)
	if err != nil {
		return nil, nil, parseRefusal("tcb info", "tcb_info", collateral.KindTCBInfo, tcbInfoWanted(opts.TEE), err)
	}
	b, err = fetch(ctx, opts.Collateral, collateral.Request{Kind: collateral.KindQEIdentity, TEE: tee})
	if err != nil {
		return nil, nil, err
	}
	qi, err := pcs.ParseQEIdentity(b, opts.TEE)
	if err != nil {
		want := fmt.Sprintf("QE identity v%d with id %q", pcs.QEIdentityV2, pcs.QEIdentityID(opts.TEE))
		return nil, nil, parseRefusal("qe identity", "qe_identity", collateral.KindQEIdentity, want, err)
	}
	if err := errors.Join(
		checkSigned("tcb info signature", "tcb_info.signature", key, ti.Signed, ti.Signature),
		checkDates("tcb info validity", "tcb_info", ti.IssueDate, ti.NextUpdate, now),
		checkEqual("tcb info platform", "tcb_info.fmspc", ext.FMSPC[:], ti.FMSPC[:]),
		checkEqual("tcb info platform", "tcb_info.pceId", ext.PCEID[:], ti.PCEID[:]),
		checkSigned("qe identity signature", "qe_identity.signature", key, qi.Signed, qi.Signature),
		checkDates("qe identity validity", "qe_identity", qi.IssueDate, qi.NextUpdate, now),
	); err != nil {
		return nil, nil, err
	}
	return ti, qi, nil
}

func tcbInfoWanted(tee attest.TEE) string {
	if tee == attest.TEETDX {
		return "TDX TCB info v3"
	}
	return "SGX TCB info v2 or v3"
}

// parseRefusal is the refusal of a collateral document that does not parse.
// It names the member at fault (prefix.member) when the parser says which,
// and the document (its file name) otherwise.
func parseRefusal(check, prefix string, kind collateral.Kind, expected string, err error) error {
	field := kind.String()
	var fe *pcs.FieldError
	if errors.As(err, &fe) {
		field = prefix + "." + fe.Field
	}
	return &attest.CheckError{Check: check, Field: field, Expected: expected, Actual: "unparsable",
		Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
}

func checkSigned(check, field string, key *ecdsa.PublicKey, signed []byte, sig [64]byte) error {
	if !verifyRaw(key, signed, sig) {
		return attest.Refuse(attest.ErrCollateral, check, field, "ECDSA P-256 signature by "+CNTCBSigning, "invalid")
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
