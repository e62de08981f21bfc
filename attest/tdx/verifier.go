package tdx

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// Config configures a Verifier.
type Config struct {
	// Root is the Intel SGX Root CA that PCK chains and the TCB signing
	// chain must lead to, and that signs the root CA CRL. Nil means the
	// embedded Intel root (DefaultRoot). Tests set it to a fake root.
	Root *x509.Certificate
}

// Verifier verifies tdx.quote.v4 evidence. It holds only its trust anchor
// and is safe for concurrent use.
type Verifier struct {
	root *x509.Certificate
}

// NewVerifier returns a verifier anchored at cfg.Root.
func NewVerifier(cfg Config) *Verifier {
	root := cfg.Root
	if root == nil {
		root = DefaultRoot()
	}
	return &Verifier{root: root}
}

// Format returns attest.FormatTDX.
func (v *Verifier) Format() string { return attest.FormatTDX }

// Verify checks that ev is a genuine TDX quote from an Intel platform whose
// TCB Intel recognizes, using collateral from opts.Collateral at
// opts.Time(), and returns its claims. See the package documentation for
// what is and is not checked. Every refusal wraps exactly one attest.Err*
// class.
func (v *Verifier) Verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	c, err := v.verify(ctx, ev, opts)
	if err != nil {
		return nil, fmt.Errorf("tdx: %w", err)
	}
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatTDX {
		return nil, attest.Refuse(attest.ErrMalformed, "evidence format", "format", attest.FormatTDX, ev.Format)
	}
	if len(ev.Payload) > maxPayloadSize {
		return nil, attest.Malformed("quote is %d bytes, limit %d", len(ev.Payload), maxPayloadSize)
	}
	q, err := quote.Parse(ev.Payload)
	if err != nil {
		return nil, attest.Malformed("parse quote: %w", err)
	}
	// Only Intel's TD QE is known; TDX quotes from any other QE are not
	// TDX quotes this package can read.
	if q.Header.QEVendorID != layout.IntelQEVendorID {
		// Intel collateral describes Intel's quoting enclaves only: a quote
		// from another vendor's QE does not match it (as in attest/sgx).
		return nil, attest.Refuse(attest.ErrCollateral, "qe vendor", "header.qe_vendor_id", attest.Hex(layout.IntelQEVendorID[:]).String()+" (Intel)", attest.Hex(q.Header.QEVendorID[:]).String())
	}
	leaf, inter, root, err := quote.SplitPCKChain(q.PCKChain)
	if err != nil {
		return nil, attest.Malformed("pck chain: %w", err)
	}

	// 1. What every DCAP quote must satisfy: the PCK chain leads to
	// Intel's root; the PCK key signed the QE report, which binds the
	// attestation key, which signed the quote; Intel's collateral for this
	// platform is genuine and current; no certificate involved is revoked;
	// the QE is Intel's TD QE, at a known TCB level.
	res, err := dcap.Verify(ctx, &dcap.Quote{
		PCKChain:          [][]byte{leaf, inter, root},
		QEReport:          &q.QEReport,
		QEReportBytes:     q.QEReportBytes(),
		QEReportSignature: q.QEReportSignature,
		AttestationKey:    q.AttestationKey,
		QEAuthData:        q.QEAuthData,
		Signed:            q.SignedBytes(),
		Signature:         q.Signature,
	}, dcap.Options{
		TEE:        attest.TEETDX,
		Root:       v.root,
		Now:        opts.Time(),
		Collateral: opts.Collateral,
		CRLDates:   dcap.CRLDatesStaleWarns,
	})
	if err != nil {
		return nil, err
	}

	// 2. The TDX module is Intel's, and the platform, module and QE TCB
	// levels combine into one verdict.
	if err := checkModule(res.TCBInfo, &q.Body); err != nil {
		return nil, err
	}
	verdict, err := evaluateTCB(res, &q.Body)
	if err != nil {
		return nil, err
	}
	claims := &attest.Claims{Format: attest.FormatTDX, TEE: attest.TEETDX, Warnings: res.Warnings}
	fillClaims(claims, q, res, verdict)
	return claims, nil
}

// Interface guard.
var _ attest.Verifier = (*Verifier)(nil)
