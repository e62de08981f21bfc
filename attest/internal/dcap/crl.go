package dcap

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// CRLDates says what verification does with a CRL that is outside its
// validity period at the verification time.
//
// Before SGX and TDX shared this package, their verifiers disagreed here, and
// each one's tests pin its choice; both are kept, named, in one place. A CRL
// that is not available is a warning under either.
type CRLDates int

// Do not reorder: the zero value must stay invalid.
const (
	CRLDatesInvalid CRLDates = iota
	// CRLDatesEnforced refuses (attest.ErrCollateral) a CRL whose
	// thisUpdate is after the verification time, or whose nextUpdate is
	// missing or before it, as it refuses expired TCB info. (SGX.)
	CRLDatesEnforced
	// CRLDatesStaleWarns uses a CRL whatever its dates, and warns when it
	// is past its nextUpdate. Revocations are permanent, so a stale CRL is
	// never worse than none, and none is itself only a warning. (TDX.)
	CRLDatesStaleWarns
)

func (d CRLDates) String() string {
	switch d {
	case CRLDatesEnforced:
		return "Enforced"
	case CRLDatesStaleWarns:
		return "StaleWarns"
	}
	return fmt.Sprintf("CRLDates(%d)", int(d))
}

// checkRevocation checks the PCK chain and the TCB Signing certificate
// against Intel's CRLs, if the source has them: the PCK CA's CRL must not
// list the PCK certificate, and the root CA's CRL must not list the PCK CA
// (attest.ErrCertificate: the evidence's chain) or the TCB Signing
// certificate (attest.ErrCollateral: the collateral's signer). It returns
// the warnings for CRLs that are not available or, under CRLDatesStaleWarns,
// stale.
func checkRevocation(ctx context.Context, opts *Options, pck *PCK, signer *x509.Certificate, now time.Time) ([]string, error) {
	var warnings []string
	tee := opts.TEE.String()
	pckCRL, warn, err := fetchCRL(ctx, opts, collateral.Request{Kind: collateral.KindPCKCRL, TEE: tee, CA: pck.CAName}, "pck_crl", pck.CA, now)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, warn...)
	if pckCRL == nil {
		warnings = append(warnings, fmt.Sprintf("PCK CRL not available (%s CA): revocation of the PCK certificate was not checked", pck.CAName))
	} else if err := checkNotRevoked(attest.ErrCertificate, pckCRL, "pck", pck.Leaf); err != nil {
		return nil, err
	}

	rootCRL, warn, err := fetchCRL(ctx, opts, collateral.Request{Kind: collateral.KindRootCRL, TEE: tee}, "root_crl", opts.Root, now)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, warn...)
	if rootCRL == nil {
		warnings = append(warnings, "Intel SGX Root CA CRL not available: revocation of the PCK CA and TCB Signing certificates was not checked")
		return warnings, nil
	}
	if err := checkNotRevoked(attest.ErrCertificate, rootCRL, "pck_ca", pck.CA); err != nil {
		return nil, err
	}
	if err := checkNotRevoked(attest.ErrCollateral, rootCRL, "tcb_signing", signer); err != nil {
		return nil, err
	}
	return warnings, nil
}

// fetchCRL returns the CRL of issuer from the source, verified (issuer name,
// signature, and its dates as opts.CRLDates says), or nil if the source has
// none. name ("pck_crl", "root_crl") prefixes the refusals' fields.
//
// A CRL that is not found is not a refusal, because offline bundles often
// lack CRLs and the caller records a warning. Any other failure to fetch is a
// refusal: a source that errors may be under an attacker's influence, and
// revocation must then fail closed. A CRL that is present but does not parse
// or is not signed by its issuer is a refusal too: the source is handing out
// something other than Intel's CRL.
func fetchCRL(ctx context.Context, opts *Options, req collateral.Request, name string, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, []string, error) {
	check := "crl " + req.Kind.String()
	b, err := opts.Collateral.Fetch(ctx, req)
	if errors.Is(err, collateral.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &attest.CheckError{Check: check, Field: req.Kind.String(), Expected: "available or not found", Actual: "fetch failed",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	crl, err := parseCRL(b)
	if err != nil {
		return nil, nil, &attest.CheckError{Check: check, Field: req.Kind.String(), Expected: "DER or PEM X.509 CRL", Actual: "unparsable",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, nil, attest.Refuse(attest.ErrCollateral, check, name+".issuer", issuer.Subject.String(), crl.Issuer.String())
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, nil, &attest.CheckError{Check: check, Field: name + ".signature", Expected: "signed by " + issuer.Subject.CommonName, Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	switch opts.CRLDates {
	case CRLDatesEnforced:
		if now.Before(crl.ThisUpdate) {
			return nil, nil, attest.Refuse(attest.ErrCollateral, check, name+".thisUpdate", "at or before "+rfc3339(now), rfc3339(crl.ThisUpdate))
		}
		if crl.NextUpdate.IsZero() || now.After(crl.NextUpdate) {
			return nil, nil, attest.Refuse(attest.ErrCollateral, check, name+".nextUpdate", "at or after "+rfc3339(now), rfc3339(crl.NextUpdate))
		}
	case CRLDatesStaleWarns:
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return crl, []string{fmt.Sprintf("%s expired at %s: revocations since then not seen", name, rfc3339(crl.NextUpdate))}, nil
		}
	default:
		panic("dcap: " + opts.CRLDates.String())
	}
	return crl, nil, nil
}

// parseCRL parses a CRL in DER or PEM ("X509 CRL"), as Intel PCS serves
// them depending on the encoding parameter.
func parseCRL(b []byte) (*x509.RevocationList, error) {
	if len(b) > maxCRLSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), maxCRLSize)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block is %q, want X509 CRL", blk.Type)
		}
		b = blk.Bytes
	}
	return x509.ParseRevocationList(b)
}

// checkNotRevoked refuses cert, with the given class, if crl lists its
// serial number. The CRL has been checked to be signed by cert's issuer, so
// serial numbers are unambiguous.
func checkNotRevoked(class error, crl *x509.RevocationList, name string, cert *x509.Certificate) error {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return attest.Refuse(class, "certificate revocation", name+".serialNumber",
				"not revoked", fmt.Sprintf("%x revoked at %s", cert.SerialNumber, rfc3339(e.RevocationTime)))
		}
	}
	return nil
}
