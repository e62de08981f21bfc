package attestd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cofre-cc/cofre/attest/sim"
)

// DevPolicy is the policy development mode installs as "dev": any
// SIMULATION evidence, whatever code it reports, is admitted, rated
// "warning" at best.
const DevPolicy = `# Development policy: admits SIMULATION evidence (no confidentiality)
# reporting any code.
name: dev
allow_simulation: true
references:
  - tee: sim
    any_code: true
`

// Dev is what development mode keeps under its state directory: a
// self-signed TLS certificate, an admin CA with one admin client
// certificate, a simulation root with one platform (so that
// `cofre evidence produce --sim-platform` can make evidence this service
// accepts), and a key-encryption key file for the signing keys.
//
// None of it is fit for production: every private key, the KEK included,
// sits in plain files (0600) on the same disk.
type Dev struct {
	Dir string

	TLSCert     tls.Certificate
	TLSCertFile string // PEM: what clients trust (curl --cacert)

	AdminCAs      *x509.CertPool
	AdminCAFile   string // PEM certificate of the admin CA
	AdminCertFile string // PEM admin client certificate (curl --cert)
	AdminKeyFile  string // PEM admin client key (curl --key)

	SimRoots        *x509.CertPool
	SimRootFile     string
	SimPlatformFile string // `cofre evidence produce --sim-platform`

	KEKFile string
	Sealer  Sealer
}

// Validity of the development certificates.
const devValidity = 365 * 24 * time.Hour

// PrepareDev creates what is missing under dir (0700) and loads the rest.
// hosts are extra DNS names or IP addresses for the TLS certificate,
// besides localhost, 127.0.0.1 and ::1. A TLS certificate that expired, or
// lacks one of hosts, is made anew.
func PrepareDev(dir string, now time.Time, hosts ...string) (*Dev, error) {
	d := &Dev{
		Dir:             dir,
		TLSCertFile:     filepath.Join(dir, "tls", "cert.pem"),
		AdminCAFile:     filepath.Join(dir, "admin", "ca.pem"),
		AdminCertFile:   filepath.Join(dir, "admin", "admin.pem"),
		AdminKeyFile:    filepath.Join(dir, "admin", "admin-key.pem"),
		SimRootFile:     filepath.Join(dir, "sim", "root.pem"),
		SimPlatformFile: filepath.Join(dir, "sim", "platform.pem"),
		KEKFile:         filepath.Join(dir, "kek"),
	}
	for _, sub := range []string{"", "tls", "admin", "sim"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("attestd: dev: %w", err)
		}
	}
	steps := []func(time.Time, []string) error{d.kek, d.sim, d.admin, d.tls}
	for _, step := range steps {
		if err := step(now, hosts); err != nil {
			return nil, fmt.Errorf("attestd: dev: %w", err)
		}
	}
	return d, nil
}

func (d *Dev) kek(time.Time, []string) error {
	kek, err := LoadKEK(d.KEKFile)
	if errors.Is(err, os.ErrNotExist) {
		kek, err = CreateKEK(d.KEKFile)
	}
	if err != nil {
		return err
	}
	d.Sealer, err = NewAESGCMSealer(kek)
	clear(kek)
	return err
}

func (d *Dev) sim(now time.Time, _ []string) error {
	rb, err := os.ReadFile(d.SimRootFile)
	if errors.Is(err, os.ErrNotExist) {
		root, err := sim.NewRoot(now, devValidity)
		if err != nil {
			return err
		}
		plat, err := root.NewPlatform("attestd-dev", now, devValidity)
		if err != nil {
			return err
		}
		if rb, err = sim.MarshalRoot(root); err != nil {
			return err
		}
		pb, err := sim.MarshalPlatform(plat)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(d.SimPlatformFile, pb, 0o600); err != nil {
			return err
		}
		if err := writeFileAtomic(d.SimRootFile, rb, 0o600); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	d.SimRoots, err = sim.ParseRootCertificates(rb)
	return err
}

func (d *Dev) admin(now time.Time, _ []string) error {
	caKeyFile := filepath.Join(d.Dir, "admin", "ca-key.pem")
	if _, err := os.Stat(d.AdminCAFile); errors.Is(err, os.ErrNotExist) {
		caKey, ca, err := newCert(nil, nil, &x509.Certificate{
			Subject:               pkix.Name{CommonName: "cofre attestd DEVELOPMENT admin CA", Organization: []string{"cofre"}},
			NotBefore:             now.Add(-time.Minute),
			NotAfter:              now.Add(devValidity),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
			MaxPathLenZero:        true,
		})
		if err != nil {
			return err
		}
		adminKey, adminCert, err := newCert(ca, caKey, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "cofre-dev-admin", Organization: []string{"cofre"}},
			NotBefore:   now.Add(-time.Minute),
			NotAfter:    now.Add(devValidity),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return err
		}
		for _, f := range []struct {
			path string
			b    []byte
		}{
			{caKeyFile, keyPEM(caKey)},
			{d.AdminKeyFile, keyPEM(adminKey)},
			{d.AdminCertFile, certPEM(adminCert)},
			{d.AdminCAFile, certPEM(ca)},
		} {
			if err := writeFileAtomic(f.path, f.b, 0o600); err != nil {
				return err
			}
		}
	} else if err != nil {
		return err
	}
	b, err := os.ReadFile(d.AdminCAFile)
	if err != nil {
		return err
	}
	d.AdminCAs = x509.NewCertPool()
	if !d.AdminCAs.AppendCertsFromPEM(b) {
		return fmt.Errorf("%s holds no certificate", d.AdminCAFile)
	}
	return nil
}

func (d *Dev) tls(now time.Time, hosts []string) error {
	keyFile := filepath.Join(d.Dir, "tls", "key.pem")
	if c, err := tls.LoadX509KeyPair(d.TLSCertFile, keyFile); err == nil && now.After(c.Leaf.NotBefore) && now.Before(c.Leaf.NotAfter) && coversAll(c.Leaf, hosts) {
		d.TLSCert = c
		return nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "cofre attestd DEVELOPMENT (self-signed)", Organization: []string{"cofre"}},
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(devValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		// Self-signed: the certificate is its own CA, which is what lets
		// clients trust it with --cacert.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key, cert, err := newCert(nil, nil, tmpl)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, keyPEM(key), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(d.TLSCertFile, certPEM(cert), 0o644); err != nil {
		return err
	}
	d.TLSCert = tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	return nil
}

func coversAll(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// newCert makes a P-256 key and a certificate for it from tmpl, signed by
// parent's key (self-signed when parent is nil).
func newCert(parent *x509.Certificate, parentKey crypto.Signer, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial := make([]byte, 16)
	rand.Read(serial)
	tmpl.SerialNumber = new(big.Int).SetBytes(serial)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
