package dcap

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// Options configure one verification. Every field is required.
type Options struct {
	// TEE is attest.TEESGX or attest.TEETDX. It selects the collateral
	// (SGX or TDX TCB info, the SGX QE's or the TD QE's identity) and is
	// the TEE of every collateral.Request.
	TEE attest.TEE
	// Root is the Intel SGX Root CA, or a test root: the anchor of the PCK
	// chain and the TCB signing chain, and the signer of the root CA CRL.
	Root *x509.Certificate
	// Now is the time at which certificates, collateral and CRLs must be
	// valid.
	Now time.Time
	// Collateral is where collateral comes from. Nil is refused with
	// attest.ErrCollateral; nothing here reaches the network on its own.
	Collateral collateral.Source
	// CRLDates says what to do with a CRL outside its validity period.
	CRLDates CRLDates
}

// Quote is what Verify needs from a parsed quote of either version. Verify
// does not modify it.
type Quote struct {
	// PCKChain holds the DER certificates of the certification data, in
	// order: PCK leaf, PCK CA, root.
	PCKChain [][]byte
	// QEReport is the QE's report, and QEReportBytes the same report
	// exactly as received, which QEReportSignature (by the PCK key) covers.
	QEReport          *layout.ReportBody
	QEReportBytes     []byte
	QEReportSignature [64]byte
	// AttestationKey (x ‖ y) and QEAuthData are what the QE report data
	// binds.
	AttestationKey [64]byte
	QEAuthData     []byte
	// Signed is what the attestation key signs (header ‖ body), and
	// Signature its signature (r ‖ s).
	Signed    []byte
	Signature [64]byte
}

// Result is what Verify vouches for.
type Result struct {
	// PCK is the verified PCK chain and what it certifies.
	PCK *PCK
	// TCBInfo is Intel's TCB info for the PCK certificate's FMSPC and
	// PCE-ID, signed and current.
	TCBInfo *pcs.TCBInfo
	// QEIdentity is Intel's identity of the quote's QE, signed and current;
	// the QE report matches it.
	QEIdentity *pcs.QEIdentity
	// QELevel is the QE identity's first TCB level that the QE's ISVSVN
	// meets (possibly Revoked: Combine refuses it).
	QELevel *pcs.EnclaveLevel
	// Warnings are facts a relying party should know that did not refuse
	// the quote: CRLs not available or stale.
	Warnings []string
}

// Verify checks what every Intel DCAP quote must satisfy, SGX or TDX, in
// this order, and returns the first stage's refusal:
//
//  1. opts.Collateral is not nil (attest.ErrCollateral).
//  2. The PCK chain is exactly PCK leaf, PCK Platform or Processor CA and
//     the root, which is byte for byte opts.Root; each certificate is valid
//     at opts.Now and issued by the next; subject names match their roles;
//     no certificate has an unknown critical extension; the leaf is not a
//     CA, has a P-256 key and a well-formed SGX extension
//     (attest.ErrCertificate; attest.ErrMalformed if a certificate does
//     not parse).
//  3. The PCK key signs the QE report; the QE report data is
//     SHA-256(attestation key ‖ QE authentication data) followed by 32 zero
//     bytes; the attestation key signs header ‖ body (attest.ErrSignature,
//     all failures joined).
//  4. The TCB signing chain is a certificate named "Intel SGX TCB Signing",
//     not a CA, issued directly by opts.Root and valid at opts.Now,
//     optionally followed by opts.Root itself (attest.ErrCollateral).
//  5. Revocation, for each CRL the source has: the PCK CA's CRL does not
//     list the PCK certificate and the root CA's CRL does not list the PCK
//     CA (attest.ErrCertificate) or the TCB Signing certificate
//     (attest.ErrCollateral). A CRL must be issued and signed by its CA,
//     and its dates are checked as opts.CRLDates says (attest.ErrCollateral).
//     A missing CRL is a warning.
//  6. TCB info for the PCK certificate's FMSPC and the QE identity, both of
//     opts.TEE, parse strictly and are signed by the TCB Signing key over
//     their exact bytes; issueDate ≤ opts.Now ≤ nextUpdate; TCB info's
//     FMSPC and PCE-ID equal the PCK certificate's (attest.ErrCollateral,
//     joined).
//  7. The QE report matches the QE identity: MRSIGNER, ISVPRODID, and
//     MISCSELECT and ATTRIBUTES under their masks (attest.ErrCollateral,
//     joined).
//  8. The QE's ISVSVN meets some level of the QE identity (attest.ErrTCB).
//
// The platform's TCB level (MatchPlatform), any TEE-specific part (the TDX
// module), and the combined status (Combine) are the caller's to evaluate.
// Verify panics if opts.TEE, opts.Root or opts.CRLDates is invalid: the
// callers set them from constants.
func Verify(ctx context.Context, q *Quote, opts Options) (*Result, error) {
	if opts.TEE != attest.TEESGX && opts.TEE != attest.TEETDX {
		panic("dcap: no Intel DCAP for TEE " + opts.TEE.String())
	}
	if opts.Root == nil || (opts.CRLDates != CRLDatesEnforced && opts.CRLDates != CRLDatesStaleWarns) {
		panic("dcap: Options without Root or CRLDates")
	}
	if opts.Collateral == nil {
		return nil, attest.Refuse(attest.ErrCollateral, "collateral", "opts.Collateral",
			"a collateral source (TCB info, QE identity, TCB signing chain)", "nil")
	}
	now := opts.Now

	pck, err := verifyPCKChain(q.PCKChain, opts.Root, now)
	if err != nil {
		return nil, err
	}
	if err := verifySignatures(pck.Key, q); err != nil {
		return nil, err
	}
	signer, signerKey, err := verifyTCBSigner(ctx, &opts, now)
	if err != nil {
		return nil, err
	}
	warnings, err := checkRevocation(ctx, &opts, pck, signer, now)
	if err != nil {
		return nil, err
	}
	ti, qi, err := verifyCollateral(ctx, &opts, signerKey, pck.Ext, now)
	if err != nil {
		return nil, err
	}
	if err := checkQEIdentity(qi, q.QEReport); err != nil {
		return nil, err
	}
	qel, err := MatchISVSVN("qe_identity.tcbLevels", qi.Levels, q.QEReport.ISVSVN)
	if err != nil {
		return nil, err
	}
	return &Result{PCK: pck, TCBInfo: ti, QEIdentity: qi, QELevel: qel, Warnings: warnings}, nil
}
