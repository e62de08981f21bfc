package dcap

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// Subject common names of Intel's SGX PKI ("Intel SGX PCK Certificate and
// Certificate Revocation List Profile Specification"), for SGX and TDX
// alike. The names are checked in addition to the signatures so that a
// certificate of one role cannot act in another: a PCK leaf (whose private
// key lives on a platform, and so can be extracted by a well-funded
// attacker) chains to the same root as the TCB Signing certificate, and must
// never be accepted as a collateral signer.
const (
	CNPCKCertificate = "Intel SGX PCK Certificate"
	CNPlatformCA     = "Intel SGX PCK Platform CA"
	CNProcessorCA    = "Intel SGX PCK Processor CA"
	CNTCBSigning     = "Intel SGX TCB Signing"
)

// PCK is a verified PCK certificate chain and the values it certifies.
type PCK struct {
	Leaf *x509.Certificate
	CA   *x509.Certificate
	// CAName is the PCK CA as Intel PCS names it in CRL requests:
	// "platform" or "processor".
	CAName string
	// Key is the leaf's P-256 key, which signs the QE report.
	Key *ecdsa.PublicKey
	// Ext is the leaf's SGX extension: FMSPC, PCE-ID, TCB components,
	// PCESVN, CPUSVN, SGX type.
	Ext *pcs.PCKExtensions
}

// verifyPCKChain checks a PCK chain: three certificates, the last
// byte-for-byte the trusted root, each valid at now, each signed by the
// next, names and roles as Intel issues them, no unknown critical extension,
// and a P-256 leaf key. It returns the leaf's key and SGX extension.
// Revocation is checked separately, with the CRLs (checkRevocation).
func verifyPCKChain(ders [][]byte, root *x509.Certificate, now time.Time) (*PCK, error) {
	const check = "pck certificate chain"
	if len(ders) != 3 {
		return nil, attest.Refuse(attest.ErrCertificate, check, "certification_data",
			"3 certificates (PCK, PCK CA, root)", fmt.Sprintf("%d certificates", len(ders)))
	}
	var certs [3]*x509.Certificate
	for i, der := range ders {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, attest.Malformed("pck chain certificate %d: %w", i, err)
		}
		certs[i] = cert
	}
	leaf, ca, chainRoot := certs[0], certs[1], certs[2]

	// The root must be the trust anchor itself, not merely a certificate
	// with the same name or key.
	if !bytes.Equal(chainRoot.Raw, root.Raw) {
		return nil, attest.Refuse(attest.ErrCertificate, check, "root", fingerprint(root), fingerprint(chainRoot))
	}
	p := &PCK{Leaf: leaf, CA: ca}
	switch ca.Subject.CommonName {
	case CNPlatformCA:
		p.CAName = "platform"
	case CNProcessorCA:
		p.CAName = "processor"
	default:
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck_ca.subject.CN",
			CNPlatformCA+" or "+CNProcessorCA, ca.Subject.CommonName)
	}
	if leaf.Subject.CommonName != CNPCKCertificate {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.subject.CN", CNPCKCertificate, leaf.Subject.CommonName)
	}
	for _, cv := range []struct {
		name string
		cert *x509.Certificate
	}{{"pck", leaf}, {"pck_ca", ca}, {"root", chainRoot}} {
		if err := checkValidity(attest.ErrCertificate, check, cv.name, cv.cert, now); err != nil {
			return nil, err
		}
		// An extension marked critical that Go does not process could
		// restrict the certificate in a way this check would ignore.
		if len(cv.cert.UnhandledCriticalExtensions) != 0 {
			return nil, attest.Refuse(attest.ErrCertificate, check, cv.name+".extensions", "no unknown critical extension",
				cv.cert.UnhandledCriticalExtensions[0].String())
		}
	}
	if err := checkIssued(attest.ErrCertificate, check, "pck_ca", ca, chainRoot); err != nil {
		return nil, err
	}
	if err := checkIssued(attest.ErrCertificate, check, "pck", leaf, ca); err != nil {
		return nil, err
	}
	if leaf.IsCA {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.basicConstraints.cA", "false", "true")
	}
	key, err := p256Key(leaf)
	if err != nil {
		return nil, attest.Refuse(attest.ErrCertificate, check, "pck.publicKey", "ECDSA P-256", err.Error())
	}
	p.Key = key

	// The SGX extension is parsed only now that Intel's signature over it
	// has been checked.
	if p.Ext, err = sgxExtension(leaf); err != nil {
		return nil, &attest.CheckError{Check: check, Field: "pck.sgxExtensions", Expected: "Intel SGX PCK extensions",
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
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
// allowed to sign certificates (CheckSignatureFrom checks its basic
// constraints and key usage), and the signature verifies.
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
