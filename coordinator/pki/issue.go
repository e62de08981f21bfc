package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"

	"github.com/cofre-cc/cofre/internal/dnsname"
)

// IssueWorkload issues the certificate of an attested workload for the
// key of csr. The CA must be the intermediate of id's manifest, in id's
// trust domain.
//
// The coordinator decides every name: the certificate carries the SPIFFE
// ID as its only URI SAN, dnsNames and ipAddrs, and nothing the CSR asks
// for (subject, SANs, extensions) — the CSR only proves possession of the
// key. The key must be ECDSA P-256/P-384, Ed25519 or RSA of 2048 to 8192
// bits (*KeyError otherwise). Key usage is digital signature (plus key
// encipherment for RSA, whose TLS 1.2 key exchange needs it), extended key
// usage client and server auth, the serial 128 random bits, the validity
// from now-1m to now+lifetime, capped by the CA's NotAfter.
func (ca *CA) IssueWorkload(csr *x509.CertificateRequest, id SPIFFEID, dnsNames []string, ipAddrs []net.IP, now time.Time, lifetime time.Duration) (*x509.Certificate, error) {
	fail := func(err error) (*x509.Certificate, error) {
		return nil, fmt.Errorf("pki: issue workload %s: %w", clip(id.String()), err)
	}
	if ca.isRoot() {
		return fail(fmt.Errorf("%w: the root issues no workload certificates", ErrWrongCA))
	}
	if err := id.validate(); err != nil {
		return fail(err)
	}
	if id.TrustDomain != ca.trustDomain {
		return fail(fmt.Errorf("%w: expected %q, got %q", ErrTrustDomain, ca.trustDomain, id.TrustDomain))
	}
	// The intermediate's URI constraint cannot say this (it constrains the
	// host only); refusing here means a workload certificate never names
	// another manifest, and VerifyWorkload refuses one that does anyway.
	if id.Manifest != ca.manifest {
		return fail(fmt.Errorf("%w: expected %q, got %q", ErrManifest, ca.manifest, id.Manifest))
	}
	if csr == nil {
		return fail(fmt.Errorf("%w: no CSR", ErrInvalidArgument))
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return fail(err)
	}
	if err := csr.CheckSignature(); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrCSRSignature, err))
	}
	tmpl, err := leafTemplate(csr.PublicKey, dnsNames, ipAddrs)
	if err != nil {
		return fail(err)
	}
	tmpl.URIs = []*url.URL{id.URL()}
	// An empty subject (X509-SVID section 2 needs no subject): Go then
	// marks the SAN extension critical, as RFC 5280 requires.
	cert, err := ca.issue(tmpl, csr.PublicKey, now, lifetime)
	if err != nil {
		return fail(err)
	}
	return cert, nil
}

// IssueLeaf issues the certificate of one of the manifest's x509 secrets
// for pub: commonName, dnsNames and ipAddrs as given, no URI SAN (a
// SPIFFE ID is given only by IssueWorkload, after attestation), the same
// key usages, serial and validity rules as IssueWorkload. The CA must be an
// intermediate: a leaf signed by the root would pass VerifyServer as the
// coordinator.
func (ca *CA) IssueLeaf(pub crypto.PublicKey, commonName string, dnsNames []string, ipAddrs []net.IP, now time.Time, lifetime time.Duration) (*x509.Certificate, error) {
	fail := func(err error) (*x509.Certificate, error) {
		return nil, fmt.Errorf("pki: issue leaf: %w", err)
	}
	if ca.isRoot() {
		return fail(fmt.Errorf("%w: the root issues no secret certificates", ErrWrongCA))
	}
	if err := checkKey(pub); err != nil {
		return fail(err)
	}
	tmpl, err := leafTemplate(pub, dnsNames, ipAddrs)
	if err != nil {
		return fail(err)
	}
	tmpl.Subject = pkix.Name{CommonName: commonName}
	cert, err := ca.issue(tmpl, pub, now, lifetime)
	if err != nil {
		return fail(err)
	}
	return cert, nil
}

// ServerCertificate makes the coordinator's TLS server certificate: a new
// ECDSA P-256 key, signed by the root itself, server auth only, with a DNS
// or IP SAN per host, valid from now-1m for a year (capped by the root).
// The caller makes a new one at each start and before NotAfter.
func ServerCertificate(root *CA, hosts []string, now time.Time) (tls.Certificate, error) {
	fail := func(err error) (tls.Certificate, error) {
		return tls.Certificate{}, fmt.Errorf("pki: server certificate: %w", err)
	}
	if !root.isCoordinatorRoot() {
		return fail(fmt.Errorf("%w: not the coordinator's root", ErrWrongCA))
	}
	if len(hosts) == 0 {
		return fail(fmt.Errorf("%w: no hosts", ErrInvalidArgument))
	}
	var dnsNames []string
	var ips []net.IP
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	tmpl, err := leafTemplate(key.Public(), dnsNames, ips)
	if err != nil {
		return fail(err)
	}
	tmpl.Subject = pkix.Name{CommonName: "cofre coordinator"}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	cert, err := root.issue(tmpl, key.Public(), now, serverLifetime)
	if err != nil {
		return fail(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// leafTemplate returns the fields every end-entity certificate shares.
func leafTemplate(pub crypto.PublicKey, dnsNames []string, ipAddrs []net.IP) (*x509.Certificate, error) {
	if len(dnsNames)+len(ipAddrs) > maxNames {
		return nil, fmt.Errorf("%w: %d names, at most %d", ErrInvalidArgument, len(dnsNames)+len(ipAddrs), maxNames)
	}
	for _, n := range dnsNames {
		if !dnsname.Valid(n) {
			return nil, fmt.Errorf("%w: DNS name %q", ErrInvalidArgument, clip(n))
		}
	}
	for _, ip := range ipAddrs {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			return nil, fmt.Errorf("%w: IP address of %d bytes", ErrInvalidArgument, len(ip))
		}
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		DNSNames:              dnsNames,
		IPAddresses:           ipAddrs,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}, nil
}

// issue signs tmpl for pub with the CA's key. It sets the serial and the
// validity: from now-1m (not before the CA's own NotBefore) to
// now+lifetime, capped by the CA's NotAfter, because a certificate outliving
// its issuer would be refused by verifiers anyway.
func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey, now time.Time, lifetime time.Duration) (*x509.Certificate, error) {
	if lifetime <= 0 || lifetime > maxLeafLifetime {
		return nil, fmt.Errorf("%w: lifetime %s", ErrInvalidArgument, lifetime)
	}
	if now.Before(ca.cert.NotBefore) || !now.Before(ca.cert.NotAfter) {
		return nil, fmt.Errorf("%w: issuer valid %s to %s, now %s", ErrExpired,
			ca.cert.NotBefore.UTC().Format(time.RFC3339), ca.cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	if tmpl.NotBefore.Before(ca.cert.NotBefore) {
		tmpl.NotBefore = ca.cert.NotBefore
	}
	tmpl.NotAfter = now.Add(lifetime)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// randomSerial returns a positive serial of 128 random bits: CA/B Forum
// rules ask for at least 64, and randomness keeps an attacker from
// predicting the to-be-signed bytes of a certificate.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}

// checkKey refuses keys other than ECDSA P-256/P-384, Ed25519 and RSA of
// 2048 to 8192 bits: smaller RSA and other curves are below cofre's
// security level or poorly supported by TLS peers; larger RSA costs
// verifiers quadratic time.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		name := "unknown"
		if k.Curve != nil {
			name = k.Curve.Params().Name
		}
		return &KeyError{Key: "ecdsa-" + name}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return nil
		}
		return &KeyError{Key: fmt.Sprintf("ed25519 of %d bytes", len(k))}
	case *rsa.PublicKey:
		if k.N == nil {
			return &KeyError{Key: "rsa without modulus"}
		}
		if bits := k.N.BitLen(); bits < 2048 || bits > maxRSABits {
			return &KeyError{Key: fmt.Sprintf("rsa-%d", bits)}
		}
		return nil
	default:
		return &KeyError{Key: fmt.Sprintf("%T", pub)}
	}
}
