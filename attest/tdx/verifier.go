package tdx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// Config configures a Verifier.
type Config struct {
	// Root is the Intel SGX Root CA that PCK chains and the TCB signing
	// chain must lead to, and that signs the root CA CRL. Nil means the
	// embedded Intel root (DefaultRoot). Tests set it to a fake root.
	Root *x509.Certificate
}

// Verifier verifies tdx.quote.v4 evidence. It is safe for concurrent use.
type Verifier struct {
	root  *x509.Certificate
	roots *x509.CertPool
}

// NewVerifier returns a verifier anchored at cfg.Root.
func NewVerifier(cfg Config) *Verifier {
	root := cfg.Root
	if root == nil {
		root = DefaultRoot()
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return &Verifier{root: root, roots: pool}
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
	if q.Header.QEVendorID != quote.IntelQEVendorID {
		return nil, attest.Refuse(attest.ErrMalformed, "quote header", "qe_vendor_id", attest.Hex(quote.IntelQEVendorID[:]).String()+" (Intel)", attest.Hex(q.Header.QEVendorID[:]).String())
	}
	if opts.Collateral == nil {
		// Never a network fallback: the caller decides where collateral
		// comes from.
		return nil, attest.Refuse(attest.ErrCollateral, "collateral source", "opts.Collateral", "a collateral source", "nil")
	}
	now := opts.Time()
	claims := &attest.Claims{Format: attest.FormatTDX, TEE: attest.TEETDX}

	// 1. The PCK chain leads to Intel's root; the PCK key signed the QE
	// report; the QE report binds the attestation key; the attestation key
	// signed the quote.
	pck, err := v.verifyPCKChain(q.PCKChain, now)
	if err != nil {
		return nil, err
	}
	if err := verifySignatures(q, pck.key); err != nil {
		return nil, err
	}

	// 2. Intel's collateral for this platform is genuine and current, and
	// no certificate involved is revoked.
	col, err := v.loadCollateral(ctx, opts.Collateral, pck.ext.FMSPC, now)
	if err != nil {
		return nil, err
	}
	if err := v.checkRevocation(ctx, opts.Collateral, pck, col.signer, now, claims); err != nil {
		return nil, err
	}

	// 3. The collateral describes this platform, TDX module and QE, and
	// rates their TCB.
	if err := matchCollateral(col, q, pck); err != nil {
		return nil, err
	}
	verdict, err := evaluateTCB(col.tcbInfo, col.qeIdentity, tcbInput{
		cpuSVN:    pck.ext.TCB.CPUSvnComponents,
		pceSVN:    pck.ext.TCB.PCESvn,
		teeTCBSVN: q.Body.TEETCBSVN,
		qeSVN:     q.QEReport.ISVSVN,
	})
	if err != nil {
		return nil, err
	}

	fillClaims(claims, q, pck, col, verdict)
	return claims, nil
}

// verifySignatures checks the quote's three signature links. They are
// independent, so all failures are reported.
func verifySignatures(q *quote.Quote, pckKey *ecdsa.PublicKey) error {
	var errs []error
	if !verifyP256(pckKey, q.QEReportBytes(), q.QEReportSignature) {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "qe report signature", "qe_report_signature", "ECDSA P-256 signature by the PCK key", "invalid"))
	}
	// The QE report data is SHA-256(attestation key ‖ QE auth data) ‖ 32
	// zero bytes: this is what certifies the attestation key.
	h := sha256.New()
	h.Write(q.AttestationKey[:])
	h.Write(q.QEAuthData)
	want := h.Sum(make([]byte, 0, 64))
	want = append(want, make([]byte, 32)...)
	if !bytes.Equal(q.QEReport.ReportData[:], want) {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "attestation key binding", "qe_report.report_data", attest.Hex(want).String(), attest.Hex(q.QEReport.ReportData[:]).String()))
	}
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, q.AttestationKey[:]...))
	if err != nil {
		errs = append(errs, refuseCause(attest.ErrSignature, "quote signature", "attestation_key", err))
	} else if !verifyP256(key, q.SignedBytes(), q.Signature) {
		errs = append(errs, attest.Refuse(attest.ErrSignature, "quote signature", "signature", "ECDSA P-256 signature by the attestation key over header and TD quote body", "invalid"))
	}
	return errors.Join(errs...)
}

// verifyP256 verifies an ECDSA P-256 signature in Intel's raw r ‖ s form
// over SHA-256(msg).
func verifyP256(key *ecdsa.PublicKey, msg []byte, sig [64]byte) bool {
	d := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, d[:], r, s)
}

// refuseCause is a refusal whose detail is an underlying error rather than
// an expected/actual pair.
func refuseCause(class error, check, field string, cause error) *attest.CheckError {
	return &attest.CheckError{Check: check, Field: field, Err: fmt.Errorf("%w: %w", class, cause)}
}

// Interface guard.
var _ attest.Verifier = (*Verifier)(nil)
