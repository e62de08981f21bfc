package tdx

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"sync"
)

// intelRootPEM is the Intel SGX Root CA, the anchor of every PCK chain and
// of the TCB signing chain, for SGX and TDX alike. It is Intel's
// https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
// (SHA-256 fingerprint 44:A0:19:6B:2B:99:F8:89:B8:E1:49:E9:5B:80:7A:35:0E:74:24:96:43:99:E8:85:A7:CB:B8:CC:FA:B6:74:D3,
// valid 2018-05-21 to 2049-12-31), as go-tdx-guest also embeds it.
//
//go:embed intel_sgx_root_ca.pem
var intelRootPEM []byte

var defaultRoot = sync.OnceValue(func() *x509.Certificate {
	blk, _ := pem.Decode(intelRootPEM)
	if blk == nil {
		panic("tdx: embedded Intel SGX Root CA is not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		// The certificate is compiled in; failing to parse it is a build
		// defect, not an input error.
		panic("tdx: embedded Intel SGX Root CA: " + err.Error())
	}
	return c
})

// DefaultRoot returns the embedded Intel SGX Root CA. The certificate is
// shared and must not be modified.
func DefaultRoot() *x509.Certificate { return defaultRoot() }
