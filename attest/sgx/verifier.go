package sgx

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
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
	v := &Verifier{root: dcap.IntelRoot()}
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
	ders, err := layout.PEMCertificates(q.CertData)
	if err != nil {
		return nil, attest.Malformed("sgx: certification data: %w", err)
	}
	// 2. Only Intel's QE identity is known: a quote from another vendor's
	// QE cannot be appraised. The header is covered by the quote signature,
	// checked below, so a forged vendor ID fails there too.
	if q.Header.QEVendorID != layout.IntelQEVendorID {
		return nil, attest.Refuse(attest.ErrCollateral, "qe vendor", "header.qe_vendor_id",
			hex.EncodeToString(layout.IntelQEVendorID[:]), hex.EncodeToString(q.Header.QEVendorID[:]))
	}

	// 3–8. What every DCAP quote must satisfy: the PCK chain, the three
	// signatures, the TCB signing chain, the CRLs, TCB info and QE
	// identity, and the QE's identity and TCB level.
	res, err := dcap.Verify(ctx, &dcap.Quote{
		PCKChain:          ders,
		QEReport:          &q.QEReport,
		QEReportBytes:     q.QEReportBytes(),
		QEReportSignature: q.QEReportSignature,
		AttestationKey:    q.AttestationKey,
		QEAuthData:        q.QEAuthData,
		Signed:            q.Signed(),
		Signature:         q.Signature,
	}, dcap.Options{
		TEE:        attest.TEESGX,
		Root:       v.root,
		Now:        opts.Time(),
		Collateral: opts.Collateral,
		CRLDates:   dcap.CRLDatesStaleWarns,
	})
	if err != nil {
		return nil, err
	}

	// 9. The platform's TCB level, combined with the QE's.
	ext := res.PCK.Ext
	pl, err := dcap.MatchPlatform(res.TCBInfo, dcap.PlatformTCB{SGX: ext.TCB.Components, PCESVN: ext.TCB.PCESVN})
	if err != nil {
		return nil, err
	}
	verdict, err := dcap.Combine(dcap.Part{Name: "platform", Level: &pl.Level}, dcap.Part{Name: "qe", Level: &res.QELevel.Level})
	if err != nil {
		return nil, err
	}
	c := &attest.Claims{Format: attest.FormatSGX, TEE: attest.TEESGX, Warnings: res.Warnings}
	fillClaims(c, q, ext, res.TCBInfo, pl, res.QELevel, verdict)
	return c, nil
}

// fillClaims sets the claims of a verified quote.
func fillClaims(c *attest.Claims, q *quote.Quote, ext *pcs.PCKExtensions, ti *pcs.TCBInfo, pl *pcs.TCBLevel, qel *pcs.EnclaveLevel, v *dcap.Verdict) {
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

	c.TCBStatus = v.Status
	c.TCBDate = v.Date
	c.Advisories = v.Advisories

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
		"tcb_evaluation_data_number": ti.TCBEvaluationDataNumber,
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
