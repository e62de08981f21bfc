package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// VerifyWorkload verifies a workload's certificate chain (leaf first, then
// the intermediates it presents) against root at now, for client auth,
// and returns the leaf's SPIFFE ID.
//
// It requires, beyond crypto/x509's checks (signatures, validity, key
// usage, basic and name constraints): a chain of exactly leaf →
// intermediate → root; a leaf that is not a CA and has exactly one URI SAN,
// a SPIFFE ID of root's trust domain (exact match: Go's URI constraint
// also admits subdomains); and that the ID's manifest is the one the
// intermediate's URI SAN names, so that one manifest's intermediate cannot
// vouch for another's workloads.
//
// Errors: ErrUntrusted, ErrExpired, ErrIdentity (with ErrInvalidSPIFFEID
// when the ID does not parse), ErrTrustDomain, ErrManifest.
func VerifyWorkload(chain []*x509.Certificate, root *x509.Certificate, now time.Time) (SPIFFEID, error) {
	fail := func(err error) (SPIFFEID, error) {
		return SPIFFEID{}, fmt.Errorf("pki: verify workload: %w", err)
	}
	if len(chain) == 0 || len(chain) > maxChain {
		return fail(fmt.Errorf("%w: %d certificates, want 1 to %d", ErrUntrusted, len(chain), maxChain))
	}
	if root == nil {
		return fail(fmt.Errorf("%w: no root", ErrUntrusted))
	}
	td, err := rootTrustDomain(root)
	if err != nil {
		return fail(fmt.Errorf("%w: %s", ErrUntrusted, err))
	}
	leaf := chain[0]
	if leaf.IsCA {
		return fail(fmt.Errorf("%w: leaf is a CA", ErrIdentity))
	}
	chains, err := verifyChain(chain, root, now, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return fail(err)
	}
	rootM, err := rootManifest(root, td)
	if err != nil {
		return fail(fmt.Errorf("%w: %s", ErrUntrusted, err))
	}
	var errs []error
	for _, c := range chains {
		id, err := checkWorkloadChain(c, td)
		if err == nil && rootM != "" && id.Manifest != rootM {
			err = fmt.Errorf("%w: root of %q, identity %q", ErrManifest, rootM, id.Manifest)
		}
		if err == nil {
			return id, nil
		}
		errs = append(errs, err)
	}
	// Several chains exist only if the workload presents several
	// intermediates that the root signed with one key; all are reported.
	return fail(errors.Join(errs...))
}

// checkWorkloadChain checks one verified chain [leaf, intermediate, root].
func checkWorkloadChain(c []*x509.Certificate, td string) (SPIFFEID, error) {
	if len(c) != 3 {
		return SPIFFEID{}, fmt.Errorf("%w: chain of %d certificates, want leaf, intermediate, root", ErrUntrusted, len(c))
	}
	leaf, inter := c[0], c[1]
	manifest, err := intermediateManifest(inter, td)
	if err != nil {
		// Only NewIntermediate's certificates carry the manifest; any other
		// CA under the root (none should exist) vouches for nothing.
		return SPIFFEID{}, fmt.Errorf("%w: %s", ErrUntrusted, err)
	}
	if len(leaf.URIs) != 1 {
		return SPIFFEID{}, fmt.Errorf("%w: %d URI SANs, want 1", ErrIdentity, len(leaf.URIs))
	}
	s, reason := parseURISAN(leaf.URIs[0])
	if reason != "" {
		return SPIFFEID{}, fmt.Errorf("%w: %s", ErrIdentity, reason)
	}
	id, err := ParseSPIFFEID(s)
	if err != nil {
		return SPIFFEID{}, fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	if id.TrustDomain != td {
		return SPIFFEID{}, fmt.Errorf("%w: expected %q, got %q", ErrTrustDomain, td, id.TrustDomain)
	}
	if id.Manifest != manifest {
		return SPIFFEID{}, fmt.Errorf("%w: intermediate %q, identity %q", ErrManifest, manifest, id.Manifest)
	}
	return id, nil
}

// VerifyServer verifies the coordinator's TLS server certificate chain
// (as presented; only its leaf is used) against root at now for host. The
// leaf must be signed by the root itself: intermediates sign certificates
// with any DNS name for manifests' x509 secrets, so a leaf below an
// intermediate could be any workload's, never the coordinator's.
//
// Errors: ErrUntrusted, ErrExpired.
func VerifyServer(chain []*x509.Certificate, root *x509.Certificate, host string, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("pki: verify server: %w", err) }
	if len(chain) == 0 || root == nil {
		return fail(fmt.Errorf("%w: no certificate or no root", ErrUntrusted))
	}
	if _, err := rootTrustDomain(root); err != nil {
		return fail(fmt.Errorf("%w: %s", ErrUntrusted, err))
	}
	leaf := chain[0]
	if leaf.IsCA {
		return fail(fmt.Errorf("%w: leaf is a CA", ErrUntrusted))
	}
	// No intermediates offered: only a leaf the root signed can verify.
	if _, err := verifyChain(chain[:1], root, now, x509.ExtKeyUsageServerAuth); err != nil {
		return fail(err)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrUntrusted, err))
	}
	return nil
}

// verifyChain runs crypto/x509's verification of chain[0] with chain[1:]
// as intermediates and root as the only anchor, and classifies its errors.
func verifyChain(chain []*x509.Certificate, root *x509.Certificate, now time.Time, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inters := x509.NewCertPool()
	for _, c := range chain[1:] {
		inters.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
			return nil, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	if len(chains) == 0 {
		return nil, fmt.Errorf("%w: no chain", ErrUntrusted)
	}
	return chains, nil
}
