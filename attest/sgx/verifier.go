package sgx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/sgx/internal/pcs"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// Verifier verifies Intel SGX DCAP quotes (format attest.FormatSGX). It
// holds only its trust anchor and is safe for concurrent use.
type Verifier struct {
	root *x509.Certificate
}

var _ attest.Verifier = (*Verifier)(nil)

// Option configures a Verifier.
type Option func(*Verifier)

// WithRoot replaces the embedded Intel SGX Root CA as the trust anchor of
// both the PCK chain and the TCB signing chain. It exists for tests with a
// fake Intel PKI; production code uses the default. root must be non-nil.
func WithRoot(root *x509.Certificate) Option {
	return func(v *Verifier) { v.root = root }
}

// NewVerifier returns a verifier that trusts the embedded Intel SGX Root CA
// (see IntelRootFingerprint), unless an option says otherwise.
func NewVerifier(opts ...Option) *Verifier {
	v := &Verifier{root: intelRoot()}
	for _, o := range opts {
		o(v)
	}
	if v.root == nil {
		panic("sgx: nil root")
	}
	return v
}

// Format returns attest.FormatSGX.
func (v *Verifier) Format() string { return attest.FormatSGX }

// Verify checks that ev is a genuine SGX quote, version 3, from an Intel
// quoting enclave on a platform whose TCB Intel recognizes, at opts.Time(),
// with collateral from opts.Collateral (required). See the package
// documentation for the steps, and for what it does not check.
func (v *Verifier) Verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatSGX {
		return nil, attest.Malformed("sgx: format %q, want %q", ev.Format, attest.FormatSGX)
	}
	// 1. Parse. The parser keeps references into the payload, which
	// Verify never modifies.
	q, err := quote.Parse(ev.Payload)
	if err != nil {
		return nil, attest.Malformed("sgx: parse quote: %w", err)
	}
	ders, err := quote.PEMCertificates(q.CertData)
	if err != nil {
		return nil, attest.Malformed("sgx: certification data: %w", err)
	}
	if opts.Collateral == nil {
		return nil, attest.Refuse(attest.ErrCollateral, "collateral", "opts.Collateral", "a collateral source (TCB info, QE identity, TCB signing chain)", "nil")
	}
	src := opts.Collateral
	now := opts.Time()
	c := &attest.Claims{Format: attest.FormatSGX, TEE: attest.TEESGX}

	// 2. PCK chain to the trusted root, and its SGX extension. Revocation
	// of the PCK CA (and of the TCB Signing certificate) by the root CA's
	// CRL is checked below, with one fetch.
	pck, err := v.verifyPCKChain(ctx, ders, now, src, c)
	if err != nil {
		return nil, err
	}

	// 3. The PCK key signs the QE report, whose report data binds the
	// attestation key and the QE authentication data.
	if !verifyRaw(pck.key, q.QEReportBytes(), q.QEReportSignature) {
		return nil, attest.Refuse(attest.ErrSignature, "qe report signature", "qe_report_signature", "ECDSA P-256 signature by the PCK key", "invalid")
	}
	h := sha256.New()
	h.Write(q.AttestationKey[:])
	h.Write(q.QEAuthData)
	want := make([]byte, 64) // SHA-256(key ‖ auth data), then 32 zero bytes
	h.Sum(want[:0])
	if subtle.ConstantTimeCompare(want, q.QEReport.ReportData[:]) != 1 {
		return nil, attest.Refuse(attest.ErrSignature, "attestation key binding", "qe_report.report_data",
			hex.EncodeToString(want), hex.EncodeToString(q.QEReport.ReportData[:]))
	}

	// 4. The attestation key signs header ‖ ISV report body.
	attKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, q.AttestationKey[:]...))
	if err != nil {
		return nil, &attest.CheckError{Check: "quote signature", Field: "attestation_key", Expected: "a P-256 point", Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrSignature, err)}
	}
	if !verifyRaw(attKey, q.Signed(), q.Signature) {
		return nil, attest.Refuse(attest.ErrSignature, "quote signature", "quote_signature", "ECDSA P-256 signature by the attestation key", "invalid")
	}
	// Only Intel's QE identity is known: a quote from another vendor's QE
	// cannot be appraised. (The header is covered by the quote signature,
	// so this is the genuine vendor ID the QE wrote.)
	if q.Header.QEVendorID != quote.IntelQEVendorID {
		return nil, attest.Refuse(attest.ErrCollateral, "qe vendor", "header.qe_vendor_id",
			hex.EncodeToString(quote.IntelQEVendorID[:]), hex.EncodeToString(q.Header.QEVendorID[:]))
	}

	// 5. Collateral: the TCB signing chain, the root CA's CRL, TCB info for
	// the PCK certificate's FMSPC, and the QE identity.
	signer, signerKey, err := v.verifyTCBSigner(ctx, src, now)
	if err != nil {
		return nil, err
	}
	rootCRL, err := fetchCRL(ctx, src, collateral.Request{Kind: collateral.KindRootCRL, TEE: "sgx"}, v.root, now)
	if err != nil {
		return nil, err
	}
	if rootCRL == nil {
		c.Warn("Intel SGX Root CA CRL not available: revocation of the PCK CA and TCB Signing certificates was not checked")
	} else {
		if err := checkNotRevoked(attest.ErrCertificate, rootCRL, "pck_ca", pck.ca); err != nil {
			return nil, err
		}
		if err := checkNotRevoked(attest.ErrCollateral, rootCRL, "tcb_signing", signer); err != nil {
			return nil, err
		}
	}
	col, err := verifyCollateral(ctx, src, signerKey, pck.ext, now)
	if err != nil {
		return nil, err
	}

	// 6. The QE is Intel's, and its TCB level.
	if err := checkQEIdentity(col.qeID, &q.QEReport); err != nil {
		return nil, err
	}
	qel, err := qeLevel(col.qeID, q.QEReport.ISVSVN)
	if err != nil {
		return nil, err
	}

	// 7. The platform's TCB level, combined with the QE's.
	pl, err := platformLevel(col.tcbInfo, &pck.ext.TCB)
	if err != nil {
		return nil, err
	}
	fillClaims(c, q, pck.ext, col, pl, qel)
	return c, nil
}

// fillClaims sets the claims of a verified quote.
func fillClaims(c *attest.Claims, q *quote.Quote, ext *pcs.PCKExtensions, col *pcsCollateral, pl *pcs.TCBLevel, qel *pcs.QELevel) {
	b := &q.Body
	c.Measurement = attest.Hex(bytes.Clone(b.MREnclave[:]))
	c.Signer = attest.Hex(bytes.Clone(b.MRSigner[:]))
	c.ProductID = strconv.Itoa(int(b.ISVProdID))
	c.SVN = uint64(b.ISVSVN)
	c.ReportData = attest.Hex(bytes.Clone(b.ReportData[:]))
	c.PlatformID = attest.Hex(bytes.Clone(ext.FMSPC[:]))
	c.Debug = b.Debug()

	c.TCB = make(map[string]uint64, 18)
	c.TCB["pcesvn"] = uint64(ext.TCB.PCESVN)
	for i, v := range ext.TCB.Components {
		c.TCB[fmt.Sprintf("comp%02d", i+1)] = uint64(v)
	}
	c.TCB["qe_isvsvn"] = uint64(q.QEReport.ISVSVN)

	c.TCBStatus = convergeStatus(pl.Status, qel.Status)
	// The combined level is as old as its older part.
	c.TCBDate = pl.Date
	if qel.Date.Before(c.TCBDate) {
		c.TCBDate = qel.Date
	}
	c.Advisories = mergeAdvisories(pl.Advisories, qel.Advisories)

	c.Raw = map[string]any{
		"cpusvn":                     attest.Hex(bytes.Clone(b.CPUSVN[:])),
		"miscselect":                 b.MiscSelect,
		"attributes":                 attest.Hex(bytes.Clone(b.Attributes[:])),
		"config_id":                  attest.Hex(bytes.Clone(b.ConfigID[:])),
		"config_svn":                 b.ConfigSVN,
		"isv_ext_prod_id":            attest.Hex(bytes.Clone(b.ISVExtProdID[:])),
		"isv_family_id":              attest.Hex(bytes.Clone(b.ISVFamilyID[:])),
		"pce_id":                     attest.Hex(bytes.Clone(ext.PCEID[:])),
		"pck_cpusvn":                 attest.Hex(bytes.Clone(ext.TCB.CPUSVN[:])),
		"sgx_type":                   ext.SGXType.String(),
		"platform_tcb_status":        pl.Status.String(),
		"qe_tcb_status":              qel.Status.String(),
		"tcb_evaluation_data_number": col.tcbInfo.TCBEvaluationDataNumber,
	}

	if c.Debug {
		c.Warn("debug enclave: ATTRIBUTES.DEBUG is set, so the host can read and modify the enclave's memory")
	}
	if c.TCBStatus != attest.TCBUpToDate {
		msg := fmt.Sprintf("TCB status %s (platform %s, quoting enclave %s)", c.TCBStatus, pl.Status, qel.Status)
		if len(c.Advisories) > 0 {
			msg += ": advisories " + strings.Join(c.Advisories, ", ")
		}
		c.Warn("%s", msg)
	}
}
