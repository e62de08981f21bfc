package sgx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/sgx/internal/pcs"
)

// Subject common names of Intel's SGX PKI. The names are checked in
// addition to the signatures so that a certificate of one role cannot act in
// another: a PCK leaf (whose private key lives on a platform, and so can be
// extracted by a well-funded attacker) chains to the same root as the TCB
// Signing certificate, and must never be accepted as a collateral signer.
const (
	cnPCKCertificate = "Intel SGX PCK Certificate"
	cnPlatformCA     = "Intel SGX PCK Platform CA"
	cnProcessorCA    = "Intel SGX PCK Processor CA"
	cnTCBSigning     = "Intel SGX TCB Signing"
)

// pckChain is a verified PCK certificate chain and the values it certifies.
type pckChain struct {
	leaf *x509.Certificate
	ca   *x509.Certificate
	// caName is the PCK CRL's "ca" parameter: "platform" or "processor".
	caName string
	key    *ecdsa.PublicKey
	ext    *pcs.PCKExtensions
}

// verifyPCKChain checks the PCK chain of the quote: three certificates, the
// last byte-for-byte the trusted root, each valid at now, each signed by the
// next, names and roles as Intel issues them, and the leaf not revoked by
// its CA's CRL (if available). It returns the leaf's key and SGX extension.
func (v *Verifier) verifyPCKChain(ctx context.Context, ders [][]byte, now time.Time, src collateral.Source, c *attest.Claims) (*pckChain, error) {
	const check = "pck certificate chain"
	if len(ders) != 3 {
		return nil, attest.Refuse(attest.ErrCertificate, check, "certification_data",
			"3 certificates (PCK, PCK CA, root)", fmt.Sprintf("%d certificates", len(ders)))
	}
	var certs [3]*x509.Certificate
	for i, der := range ders {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, attest.Malformed("sgx: pck chain certificate %d: %w", i, err)
		}
		certs[i] = cert
	}
	leaf, ca, root := certs[0], certs[1], certs[2]

	// The root must be the trust anchor itself, not merely a certificate
	// with the same name or key.
	if !bytes.Equal(root.Raw, v.root.Raw) {
		return nil, attest.Refuse(attest.ErrCertificate, check, "root", fingerprint(v.root), fingerprint(root))
	}
	p := &pckChain{leaf: leaf, ca: ca}
	switch ca.Subject.CommonName {
	case cnPlatformCA:
		p.caName = "platform"
	case cnProcessorCA:
		p.caName = "processor"
	default:
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_ca.subject.CN",
			cnPlatformCA+" or "+cnProcessorCA, ca.Subject.CommonName)
	}
	if leaf.Subject.CommonName != cnPCKCertificate {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.subject.CN", cnPCKCertificate, leaf.Subject.CommonName)
	}
	for _, cv := range []struct {
		name string
		cert *x509.Certificate
	}{{"pck", leaf}, {"pck_ca", ca}, {"root", root}} {
		if err := checkValidity(attest.ErrCertificate, check, cv.name, cv.cert, now); err != nil {
			return nil, err
		}
	}
	if err := checkIssued(attest.ErrCertificate, check, "pck_ca", ca, root); err != nil {
		return nil, err
	}
	if err := checkIssued(attest.ErrCertificate, check, "pck", leaf, ca); err != nil {
		return nil, err
	}
	if leaf.IsCA {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.basicConstraints.cA", "false", "true")
	}
	if len(leaf.UnhandledCriticalExtensions) != 0 {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.extensions", "no unknown critical extension",
			leaf.UnhandledCriticalExtensions[0].String())
	}
	key, err := p256Key(leaf)
	if err != nil {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.publicKey", "ECDSA P-256", err.Error())
	}
	p.key = key

	// Revocation of the leaf by its CA.
	crl, err := fetchCRL(ctx, src, collateral.Request{Kind: collateral.KindPCKCRL, TEE: "sgx", CA: p.caName}, ca, now)
	if err != nil {
		return nil, err
	}
	if crl == nil {
		c.Warn("PCK CRL (%s CA) not available: revocation of the PCK certificate was not checked", p.caName)
	} else if err := checkNotRevoked(attest.ErrCertificate, crl, "pck", leaf); err != nil {
		return nil, err
	}

	ext, err := sgxExtension(leaf)
	if err != nil {
		return nil, &attest.CheckError{Check: check, Field: "pck.sgxExtensions", Expected: "Intel SGX PCK extensions",
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	p.ext = ext
	return p, nil
}

// sgxExtension finds and parses the SGX extension of a PCK certificate.
func sgxExtension(cert *x509.Certificate) (*pcs.PCKExtensions, error) {
	var found []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(pcs.OIDSGXExtensions) {
			if found != nil {
				return nil, errors.New("sgx extension appears twice")
			}
			found = e.Value
		}
	}
	if found == nil {
		return nil, errors.New("sgx extension missing")
	}
	return pcs.ParsePCKExtensions(found)
}

// checkValidity refuses a certificate outside its validity period at now.
func checkValidity(class error, check, name string, cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) {
		return attest.Refuse(class, check, name+".notBefore", "at or before "+rfc3339(now), rfc3339(cert.NotBefore))
	}
	if now.After(cert.NotAfter) {
		return attest.Refuse(class, check, name+".notAfter", "at or after "+rfc3339(now), rfc3339(cert.NotAfter))
	}
	return nil
}

// checkIssued checks that parent issued cert: names chain, parent is a CA
// allowed to sign certificates, and the signature verifies.
func checkIssued(class error, check, name string, cert, parent *x509.Certificate) error {
	if !bytes.Equal(cert.RawIssuer, parent.RawSubject) {
		return attest.Refuse(class, check, name+".issuer", parent.Subject.String(), cert.Issuer.String())
	}
	if err := cert.CheckSignatureFrom(parent); err != nil {
		return &attest.CheckError{Check: check, Field: name + ".signature", Expected: "signed by " + parent.Subject.CommonName,
			Actual: "invalid", Err: fmt.Errorf("%w: %w", class, err)}
	}
	return nil
}

// fetchCRL returns the CRL of issuer from src, verified (signature, issuer
// name, thisUpdate ≤ now ≤ nextUpdate), or nil if src has none.
//
// A CRL that is not found is not a refusal, because offline bundles often
// lack CRLs and the caller records a warning. Any other failure to fetch is a
// refusal: a source that errors may be under an attacker's influence, and
// revocation must then fail closed. A CRL that is present but expired or
// badly signed is a refusal too.
func fetchCRL(ctx context.Context, src collateral.Source, req collateral.Request, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
	check := "crl " + req.Kind.String()
	b, err := src.Fetch(ctx, req)
	if errors.Is(err, collateral.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &attest.CheckError{Check: check, Field: req.Kind.String(), Expected: "available or not found", Actual: "fetch failed",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if len(b) > maxCRLSize {
		return nil, attest.Refuse(attest.ErrCollateral, check, "size", fmt.Sprintf("at most %d bytes", maxCRLSize), fmt.Sprintf("%d bytes", len(b)))
	}
	// Intel PCS serves DER (encoding=der) or PEM; accept both.
	if blk, _ := pem.Decode(b); blk != nil && blk.Type == "X509 CRL" {
		b = blk.Bytes
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		return nil, &attest.CheckError{Check: check, Field: req.Kind.String(), Expected: "DER or PEM X.509 CRL", Actual: "unparsable",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, attest.Refuse(attest.ErrCollateral, check, "issuer", issuer.Subject.String(), crl.Issuer.String())
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, &attest.CheckError{Check: check, Field: "signature", Expected: "signed by " + issuer.Subject.CommonName, Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if now.Before(crl.ThisUpdate) {
		return nil, attest.Refuse(attest.ErrCollateral, check, "thisUpdate", "at or before "+rfc3339(now), rfc3339(crl.ThisUpdate))
	}
	if crl.NextUpdate.IsZero() || now.After(crl.NextUpdate) {
		return nil, attest.Refuse(attest.ErrCollateral, check, "nextUpdate", "at or after "+rfc3339(now), rfc3339(crl.NextUpdate))
	}
	return crl, nil
}

// checkNotRevoked refuses cert, with the given class, if crl lists its
// serial number.
func checkNotRevoked(class error, crl *x509.RevocationList, name string, cert *x509.Certificate) error {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return attest.Refuse(class, "certificate revocation", name+".serialNumber",
				"not revoked", fmt.Sprintf("%x revoked at %s", cert.SerialNumber, rfc3339(e.RevocationTime)))
		}
	}
	return nil
}

// p256Key returns cert's key if it is an ECDSA P-256 key, the only kind
// Intel's SGX PKI uses.
func p256Key(cert *x509.Certificate) (*ecdsa.PublicKey, error) {
	k, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T", cert.PublicKey)
	}
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ECDSA %s", k.Curve.Params().Name)
	}
	return k, nil
}

func fingerprint(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(h[:])
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
