package tdx

import (
	"crypto/x509"

	"github.com/cofre-cc/cofre/attest/internal/dcap"
)

// DefaultRoot returns the embedded Intel SGX Root CA, the anchor of every
// PCK chain and of the TCB signing chain, for SGX and TDX alike. Its source
// and fingerprint are documented, and tested, in attest/internal/dcap. Each
// call returns a new copy.
func DefaultRoot() *x509.Certificate { return dcap.IntelRoot() }
