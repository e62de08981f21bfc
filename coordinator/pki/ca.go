package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CA is the coordinator's root, a manifest's root, or one manifest
// version's intermediate: a certificate, its private key and the
// certificates above it.
//
// Each manifest has a root of its own (NewManifestRoot), not one under the
// coordinator's: a workload trusts its manifest's root for its peers
// ({{ workload "ca-pem" }}), and certificates of another manifest — whose
// owners choose their DNS names — must not verify under it. The
// coordinator's root signs only the coordinator's TLS certificate.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	parents []*x509.Certificate // issuers up to the root; empty for a root

	trustDomain string
	manifest    string // "" for the coordinator's root
}

// NewRoot makes the coordinator's self-signed root for trustDomain (a
// SPIFFE trust domain: [a-z0-9._-]), valid from now-1m for ten years.
// It signs intermediates and the server certificate only (path length 1),
// and its URI name constraint permits only the trust domain.
func NewRoot(trustDomain string, now time.Time) (*CA, error) {
	return newRoot(trustDomain, "", now)
}

// NewManifestRoot makes the self-signed root of one manifest's workloads:
// like NewRoot, and with the URI SAN spiffe://<trust-domain>/<manifest>.
// It signs the manifest's intermediates (NewIntermediate) and lives as
// long as the manifest, across updates and recoveries.
func NewManifestRoot(trustDomain, manifest string, now time.Time) (*CA, error) {
	if reason := checkSegment(manifest); reason != "" {
		return nil, fmt.Errorf("pki: new manifest root: %w: manifest %q: %s", ErrInvalidArgument, clip(manifest), reason)
	}
	return newRoot(trustDomain, manifest, now)
}

func newRoot(trustDomain, manifest string, now time.Time) (*CA, error) {
	if reason := checkTrustDomain(trustDomain); reason != "" {
		return nil, fmt.Errorf("pki: new root: %w: trust domain %q: %s", ErrInvalidArgument, clip(trustDomain), reason)
	}
	// P-384: the root outlives every other key here and anchors all trust.
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: new root: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("pki: new root: %w", err)
	}
	cn := "cofre coordinator root " + trustDomain
	var uris []*url.URL
	if manifest != "" {
		cn = "cofre " + manifest + " root " + trustDomain
		uris = []*url.URL{manifestURL(trustDomain, manifest)}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		URIs:                  uris,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(rootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1, // root → intermediate → leaf
		// Only identities of this trust domain below the root. Go matches
		// it as a DNS suffix, so VerifyWorkload checks the exact domain.
		PermittedURIDomains: []string{trustDomain},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: new root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: new root: %w", err)
	}
	return &CA{cert: cert, key: key, trustDomain: trustDomain, manifest: manifest}, nil
}

// NewIntermediate makes the intermediate for one manifest version, signed
// by the root ca (the manifest's root, or for compatibility the
// coordinator's): ECDSA P-256, valid from now-1m for a year (capped by the
// root's NotAfter), path length 0, client and server auth only, with the
// URI SAN spiffe://<trust-domain>/<manifest> that VerifyWorkload reads to
// bind the workloads it issues to the manifest.
func (ca *CA) NewIntermediate(manifest string, version uint64, now time.Time) (*CA, error) {
	if !ca.isRoot() || (ca.manifest != "" && ca.manifest != manifest) {
		return nil, fmt.Errorf("pki: new intermediate: %w: not the root of manifest %q", ErrWrongCA, clip(manifest))
	}
	if reason := checkSegment(manifest); reason != "" {
		return nil, fmt.Errorf("pki: new intermediate: %w: manifest %q: %s", ErrInvalidArgument, clip(manifest), reason)
	}
	if version == 0 {
		return nil, fmt.Errorf("pki: new intermediate: %w: version 0", ErrInvalidArgument)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: new intermediate: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("cofre %s v%d", manifest, version)},
		URIs:                  []*url.URL{manifestURL(ca.trustDomain, manifest)},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		PermittedURIDomains:   []string{ca.trustDomain},
	}
	cert, err := ca.issue(tmpl, key.Public(), now, intermediateLifetime)
	if err != nil {
		return nil, fmt.Errorf("pki: new intermediate: %w", err)
	}
	return &CA{cert: cert, key: key, parents: []*x509.Certificate{ca.cert}, trustDomain: ca.trustDomain, manifest: manifest}, nil
}

// Certificate returns the CA's certificate. The caller must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Chain returns the CA's certificate followed by its issuers up to and
// including the root: [root] or [intermediate, root].
func (ca *CA) Chain() []*x509.Certificate {
	return append([]*x509.Certificate{ca.cert}, ca.parents...)
}

// TrustDomain returns the CA's trust domain.
func (ca *CA) TrustDomain() string { return ca.trustDomain }

// Manifest returns the manifest of a manifest root or intermediate, "" for
// the coordinator's root.
func (ca *CA) Manifest() string { return ca.manifest }

func (ca *CA) isRoot() bool { return len(ca.parents) == 0 }

// isCoordinatorRoot reports whether ca is the coordinator's own root.
func (ca *CA) isCoordinatorRoot() bool { return ca.isRoot() && ca.manifest == "" }

// Marshal encodes the CA as PEM: its certificate, its issuers' certificates
// (none for the root), then its PKCS #8 private key ("PRIVATE KEY"). The
// output holds the private key in plaintext: the caller seals it.
func (ca *CA) Marshal() ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal CA: %w", err)
	}
	defer clear(keyDER)
	var buf bytes.Buffer
	for _, c := range ca.Chain() {
		buf.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	// pem.Encode, unlike EncodeToMemory, writes into buf without an
	// intermediate copy of the key left for the garbage collector.
	if err := pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}); err != nil {
		return nil, fmt.Errorf("pki: marshal CA: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseCA decodes Marshal's output. It accepts exactly what Marshal writes
// for a root or an intermediate made by this package: the certificates
// must be CAs of the expected shape, the intermediate signed by the root,
// and the key must match the first certificate. It does not check
// validity periods (the caller may load an expired CA to replace it).
func ParseCA(data []byte) (*CA, error) {
	ca, err := parseCA(data)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA: %w: %s", ErrMalformed, err)
	}
	return ca, nil
}

func parseCA(data []byte) (*CA, error) {
	if len(data) > maxMarshaledCA {
		return nil, fmt.Errorf("longer than %d bytes", maxMarshaledCA)
	}
	var certs []*x509.Certificate
	var keyDER []byte
	defer func() { clear(keyDER) }()
	rest := data
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("not PEM")
		}
		if keyDER != nil {
			return nil, fmt.Errorf("block after the private key")
		}
		switch b.Type {
		case "CERTIFICATE":
			if len(certs) == 2 {
				return nil, fmt.Errorf("more than two certificates")
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, err
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			keyDER = b.Bytes
		default:
			return nil, fmt.Errorf("unexpected PEM block %q", clip(b.Type))
		}
	}
	if len(certs) == 0 || keyDER == nil {
		return nil, fmt.Errorf("want certificates and a private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want ECDSA", k)
	}
	if !key.PublicKey.Equal(certs[0].PublicKey) {
		return nil, fmt.Errorf("private key does not match the certificate")
	}
	root := certs[len(certs)-1]
	td, err := checkRoot(root)
	if err != nil {
		return nil, err
	}
	rootManifest, err := rootManifest(root, td)
	if err != nil {
		return nil, err
	}
	ca := &CA{cert: certs[0], key: key, trustDomain: td, manifest: rootManifest}
	if len(certs) == 2 {
		m, err := checkIntermediate(certs[0], root, td)
		if err != nil {
			return nil, err
		}
		if rootManifest != "" && m != rootManifest {
			return nil, fmt.Errorf("intermediate of %q under the root of %q", m, rootManifest)
		}
		ca.manifest = m
		ca.parents = []*x509.Certificate{root}
	}
	// Marshal's output is canonical; refusing anything else (text around
	// blocks, PEM headers, another base64 wrapping) keeps one encoding.
	again, err := ca.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(again, data) {
		return nil, fmt.Errorf("not in canonical form")
	}
	return ca, nil
}

// checkRoot checks that c is a root made by NewRoot and returns its trust
// domain.
func checkRoot(c *x509.Certificate) (string, error) {
	td, err := rootTrustDomain(c)
	if err != nil {
		return "", err
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		return "", fmt.Errorf("root is not self-signed: %w", err)
	}
	return td, nil
}

// rootTrustDomain returns the trust domain of a root made by NewRoot: its
// single URI name constraint. It does not check the self-signature: a
// caller's trust anchor is trusted as given.
func rootTrustDomain(c *x509.Certificate) (string, error) {
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != 1 {
		return "", fmt.Errorf("root is not a CA of path length 1")
	}
	if len(c.PermittedURIDomains) != 1 {
		return "", fmt.Errorf("root has no single URI name constraint")
	}
	td := c.PermittedURIDomains[0]
	if reason := checkTrustDomain(td); reason != "" {
		return "", fmt.Errorf("root trust domain: %s", reason)
	}
	return td, nil
}

// rootManifest returns the manifest a manifest root names in its URI SAN,
// or "" for the coordinator's root (no URI SAN).
func rootManifest(c *x509.Certificate, td string) (string, error) {
	if len(c.URIs) == 0 {
		return "", nil
	}
	return intermediateManifest(c, td)
}

// checkIntermediate checks that c is an intermediate made by
// NewIntermediate under root, and returns its manifest.
func checkIntermediate(c, root *x509.Certificate, td string) (string, error) {
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		return "", fmt.Errorf("intermediate is not a CA of path length 0")
	}
	if err := c.CheckSignatureFrom(root); err != nil {
		return "", fmt.Errorf("intermediate not signed by the root: %w", err)
	}
	return intermediateManifest(c, td)
}

// intermediateManifest returns the manifest named by an intermediate's URI
// SAN spiffe://<td>/<manifest>.
func intermediateManifest(c *x509.Certificate, td string) (string, error) {
	if len(c.URIs) != 1 {
		return "", fmt.Errorf("intermediate has %d URI SANs, want 1", len(c.URIs))
	}
	s, reason := parseURISAN(c.URIs[0])
	if reason != "" {
		return "", fmt.Errorf("intermediate: %s", reason)
	}
	rest, _ := strings.CutPrefix(s, spiffeScheme)
	host, m, ok := strings.Cut(rest, "/")
	if !ok || host != td || checkSegment(m) != "" {
		return "", fmt.Errorf("intermediate URI SAN %q is not spiffe://%s/<manifest>", clip(s), td)
	}
	return m, nil
}

func manifestURL(td, manifest string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: td, Path: "/" + manifest}
}
