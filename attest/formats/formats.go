// Package formats wires every evidence format cofre verifies into one
// attest.Registry. It is the only package that imports them all, so that
// services and the CLI share one configuration of trust anchors.
package formats

import (
	"crypto/x509"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/maa"
	"github.com/cofre-cc/cofre/attest/nvgpu"
	"github.com/cofre-cc/cofre/attest/sgx"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/attest/snp"
	"github.com/cofre-cc/cofre/attest/tdx"
	"github.com/cofre-cc/cofre/attest/tpm"
)

// Config holds the trust anchors that are not vendor roots.
type Config struct {
	// SimRoots are the simulation roots whose platforms are trusted, or nil
	// to refuse all sim evidence.
	SimRoots *x509.CertPool

	// MAAIssuers are the Azure Attestation instances (https origins) whose
	// tokens are trusted, or nil to refuse all azure.maa.jwt evidence.
	MAAIssuers []string
}

// NewRegistry returns a registry with a verifier for every format.
func NewRegistry(cfg Config) (*attest.Registry, error) {
	m, err := maa.NewVerifier(maa.Config{TrustedIssuers: cfg.MAAIssuers})
	if err != nil {
		return nil, fmt.Errorf("formats: %w", err)
	}
	return attest.NewRegistry(
		sim.NewVerifier(cfg.SimRoots),
		snp.NewVerifier(snp.Config{}),
		tdx.NewVerifier(tdx.Config{}),
		sgx.NewVerifier(),
		nvgpu.NewVerifier(),
		tpm.NewVerifier(),
		m,
	), nil
}
