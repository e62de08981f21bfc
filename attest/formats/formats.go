// Package formats wires every evidence format cofre verifies into one
// attest.Registry. It is the only package that imports them all, so that
// services and the CLI share one configuration of trust anchors.
package formats

import (
	"crypto/x509"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// Config holds the trust anchors that are not vendor roots.
type Config struct {
	// SimRoots are the simulation roots whose platforms are trusted, or nil
	// to refuse all sim evidence.
	SimRoots *x509.CertPool
}

// NewRegistry returns a registry with a verifier for every format.
func NewRegistry(cfg Config) *attest.Registry {
	return attest.NewRegistry(
		sim.NewVerifier(cfg.SimRoots),
	)
}
