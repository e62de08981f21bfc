package tpm

import (
	"crypto/x509"
	"embed"
	"fmt"

	"github.com/google/go-tpm-tools/server"
)

// Google's AK issuing hierarchies. See roots/README.md for where each file
// comes from and its fingerprint.
//
//go:embed roots/*.crt
var rootFiles embed.FS

const (
	casRootFile          = "roots/gcp_ek_ak_ca_root.crt"
	casIntermediateFile  = "roots/gcp_ek_ak_ca_intermediate_v3.crt"
	hostIntermediateFile = "roots/tpm_ek_intermediate_3.crt"
)

// DefaultRoots returns the trust anchors a Verifier uses unless WithRoots
// replaces them: Google's "tpm_ek_v1_cloud_host_root" (go-tpm-tools'
// server.GceEKRoots) and Google Cloud's "EK/AK CA Root". Every AK certificate
// of a GCE Shielded or Confidential VM chains to one of them.
func DefaultRoots() []*x509.Certificate {
	out := append([]*x509.Certificate(nil), server.GceEKRoots...)
	return append(out, mustParseEmbedded(casRootFile))
}

// DefaultIntermediates returns the intermediate certificates a Verifier offers
// for path building unless WithIntermediates replaces them. They are not
// trust anchors.
func DefaultIntermediates() []*x509.Certificate {
	out := append([]*x509.Certificate(nil), server.GceEKIntermediates...)
	return append(out, mustParseEmbedded(hostIntermediateFile), mustParseEmbedded(casIntermediateFile))
}

// mustParseEmbedded parses a certificate compiled into the binary; failure is
// a build defect, not an input error, so it panics.
func mustParseEmbedded(name string) *x509.Certificate {
	der, err := rootFiles.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("tpm: embedded %s: %v", name, err))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(fmt.Sprintf("tpm: embedded %s: %v", name, err))
	}
	return c
}
