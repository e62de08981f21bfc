package tdx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
	"github.com/google/go-tdx-guest/pcs"
)

// pckChain is a PCK certificate chain that leads to the root.
type pckChain struct {
	leaf, intermediate *x509.Certificate
	// ca is the issuing CA as Intel PCS names it in CRL requests:
	// "platform" or "processor".
	ca  string
	key *ecdsa.PublicKey
	ext *pcs.PckExtensions
	// fmspc is the platform family from the leaf's SGX extension.
	fmspc []byte
}

// verifyPCKChain parses the quote's PCK chain and checks that it leads from
// an Intel PCK certificate, through an Intel PCK CA, to the verifier's root,
// each certificate valid at now. Revocation is checked later, with the CRLs.
func (v *Verifier) verifyPCKChain(chainPEM []byte, now time.Time) (*pckChain, error) {
	leafDER, intDER, rootDER, err := quote.SplitPCKChain(chainPEM)
	if err != nil {
		return nil, attest.Malformed("pck chain: %w", err)
	}
	var certs [3]*x509.Certificate
	for i, der := range [][]byte{leafDER, intDER, rootDER} {
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, attest.Malformed("pck chain: certificate %d: %w", i, err)
		}
	}
	leaf, inter, root := certs[0], certs[1], certs[2]

	const check = "pck chain"
	c := &pckChain{leaf: leaf, intermediate: inter}
	if leaf.Subject.CommonName != cnPCKLeaf {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_leaf.subject.cn", cnPCKLeaf, leaf.Subject.CommonName)
	}
	switch inter.Subject.CommonName {
	case cnPCKPlatformCA:
		c.ca = "platform"
	case cnPCKProcessorCA:
		c.ca = "processor"
	default:
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_ca.subject.cn", cnPCKPlatformCA+" or "+cnPCKProcessorCA, inter.Subject.CommonName)
	}
	// The chain's own root is not needed for path building (the verifier's
	// root is the anchor), but a different one means the quote was made
	// for another trust domain: say so plainly rather than as a path error.
	if !root.Equal(v.root) {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_root", fingerprint(v.root), fingerprint(root))
	}
	if _, err := leaf.Verify(v.verifyOptions(inter, now)); err != nil {
		return nil, refuseCause(attest.ErrCertificate, check, "pck_leaf", err)
	}
	if !isP256(leaf) {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_leaf.public_key", "ECDSA P-256", fmt.Sprintf("%T", leaf.PublicKey))
	}
	c.key = leaf.PublicKey.(*ecdsa.PublicKey)

	// The SGX extension is parsed only now that Intel's signature over it
	// has been checked.
	if c.ext, err = pcs.PckCertificateExtensions(leaf); err != nil {
		return nil, refuseCause(attest.ErrCertificate, check, "pck_leaf.sgx_extensions", err)
	}
	if c.fmspc, err = hex.DecodeString(c.ext.FMSPC); err != nil || len(c.fmspc) != 6 {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_leaf.fmspc", "6 bytes", c.ext.FMSPC)
	}
	if len(c.ext.TCB.CPUSvnComponents) != 16 {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_leaf.tcb", "16 SGX TCB components", fmt.Sprint(len(c.ext.TCB.CPUSvnComponents)))
	}
	return c, nil
}

func (v *Verifier) verifyOptions(intermediate *x509.Certificate, now time.Time) x509.VerifyOptions {
	opts := x509.VerifyOptions{
		Roots:       v.roots,
		CurrentTime: now,
		// Intel's PCK and TCB signing certificates carry no extended key
		// usage; their roles are fixed by subject and issuer above.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if intermediate != nil {
		opts.Intermediates = x509.NewCertPool()
		opts.Intermediates.AddCert(intermediate)
	}
	return opts
}

func fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(h[:])
}

// checkRevocation checks the PCK chain and the TCB signing certificate
// against Intel's CRLs, if the source has them. A CRL that is not available
// leaves a warning; one past its nextUpdate is still used (revocations are
// permanent, so a stale CRL is never worse than none) and leaves a warning.
// A CRL that does not parse, or is not signed by its issuer, is refused:
// the source is handing out something other than Intel's CRL.
func (v *Verifier) checkRevocation(ctx context.Context, src collateral.Source, pck *pckChain, signer *x509.Certificate, now time.Time, claims *attest.Claims) error {
	rootCRL, err := v.loadCRL(ctx, src, collateral.Request{Kind: collateral.KindRootCRL, TEE: teeTDX}, "root_crl", v.root, now, claims)
	if err != nil {
		return err
	}
	if rootCRL != nil {
		if revoked(rootCRL, pck.intermediate) {
			return attest.Refuse(attest.ErrCertificate, "pck chain revocation", "pck_ca.serial", "not in the root CA CRL", pck.intermediate.SerialNumber.Text(16))
		}
		if revoked(rootCRL, signer) {
			return attest.Refuse(attest.ErrCollateral, "tcb signing chain revocation", "tcb_signing_chain.serial", "not in the root CA CRL", signer.SerialNumber.Text(16))
		}
	} else {
		claims.Warn("root CA CRL not available: revocation of the PCK CA and TCB signing certificates not checked")
	}

	pckCRL, err := v.loadCRL(ctx, src, collateral.Request{Kind: collateral.KindPCKCRL, TEE: teeTDX, CA: pck.ca}, "pck_crl", pck.intermediate, now, claims)
	if err != nil {
		return err
	}
	if pckCRL != nil {
		if revoked(pckCRL, pck.leaf) {
			return attest.Refuse(attest.ErrCertificate, "pck chain revocation", "pck_leaf.serial", "not in the PCK CRL", pck.leaf.SerialNumber.Text(16))
		}
	} else {
		claims.Warn("PCK CRL not available: revocation of the PCK certificate not checked")
	}
	return nil
}

// loadCRL fetches and checks one CRL. It returns nil, nil when the source
// does not have it.
func (v *Verifier) loadCRL(ctx context.Context, src collateral.Source, req collateral.Request, field string, issuer *x509.Certificate, now time.Time, claims *attest.Claims) (*x509.RevocationList, error) {
	const check = "crl"
	b, err := src.Fetch(ctx, req)
	if errors.Is(err, collateral.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		// Only absence is tolerated; a source that fails otherwise (I/O,
		// size, cancelled context) is not silently skipped.
		return nil, refuseCause(attest.ErrCollateral, "collateral fetch", field, err)
	}
	crl, err := parseCRL(b)
	if err != nil {
		return nil, refuseCause(attest.ErrCollateral, check, field, err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, attest.Refuse(attest.ErrCollateral, check, field+".issuer", issuer.Subject.String(), crl.Issuer.String())
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, refuseCause(attest.ErrCollateral, check, field+".signature", err)
	}
	if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
		claims.Warn("%s expired at %s: revocations since then not seen", field, crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	return crl, nil
}

// revoked reports whether crl lists c. The CRL has been checked to be
// signed by c's issuer, so serial numbers are unambiguous.
func revoked(crl *x509.RevocationList, c *x509.Certificate) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}
