package dcap

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
)

// intelRootPEM is the Intel SGX Root CA, the trust anchor of every PCK
// certificate and of the TCB Signing certificate, for SGX and TDX alike.
//
// Source: https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
// (DER: https://certificates.trustedservices.intel.com/IntelSGXRootCA.der).
// Subject and issuer "CN=Intel SGX Root CA, O=Intel Corporation, L=Santa
// Clara, ST=CA, C=US", valid 2018-05-21T10:45:10Z to 2049-12-31T23:59:59Z,
// SHA-256 of the DER:
// 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3. The same
// bytes end Intel PCS's TCB signing chains and the PCK chains in real quotes,
// and are what go-tdx-guest embeds (verify/trusted_root.pem); root_test.go
// pins the fingerprint.
//
//go:embed trust/intel_sgx_root_ca.pem
var intelRootPEM []byte

// IntelRootFingerprint is the SHA-256 of the embedded Intel SGX Root CA's
// DER encoding.
const IntelRootFingerprint = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

// IntelRoot parses the embedded Intel SGX Root CA. Each call returns a new
// certificate, so the package keeps no global certificate that a caller
// could modify.
func IntelRoot() *x509.Certificate {
	blk, _ := pem.Decode(intelRootPEM)
	if blk == nil {
		panic("dcap: embedded Intel SGX Root CA is not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		// The certificate is compiled in; failing to parse it is a build
		// defect, not an input error.
		panic("dcap: embedded Intel SGX Root CA: " + err.Error())
	}
	return c
}
