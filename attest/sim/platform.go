package sim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Root is a simulation root CA: the trust anchor a development coordinator
// or attestation service is configured with.
type Root struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Platform is one simulated node: a P-256 key and its certificate chain
// (platform certificate first, root last).
type Platform struct {
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate
}

// rootCommonName and platformCommonName label every sim certificate so a
// human reading one cannot mistake it for a vendor's.
const (
	rootCommonName     = "cofre SIMULATION root CA (no confidentiality)"
	platformCommonName = "cofre SIMULATION platform"
)

// NewRoot makes a self-signed simulation root CA valid from now for
// validity.
func NewRoot(now time.Time, validity time.Duration) (*Root, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: root key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: rootCommonName, Organization: []string{"cofre"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sim: root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sim: root certificate: %w", err)
	}
	return &Root{Cert: cert, Key: key}, nil
}

// NewPlatform makes a platform key certified by r, naming the platform id
// (for example a node name) in the certificate.
func (r *Root) NewPlatform(id string, now time.Time, validity time.Duration) (*Platform, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: platform key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: platformCommonName, Organization: []string{"cofre"}, SerialNumber: id},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.Cert, &key.PublicKey, r.Key)
	if err != nil {
		return nil, fmt.Errorf("sim: platform certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sim: platform certificate: %w", err)
	}
	return &Platform{Key: key, Chain: []*x509.Certificate{cert, r.Cert}}, nil
}

// ID returns the platform's stable identifier: SHA-256 of its public key.
func (p *Platform) ID() []byte {
	return platformID(p.Chain[0])
}

func platformID(cert *x509.Certificate) []byte {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return h[:]
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	return new(big.Int).SetBytes(b)
}

// PEM block types of the files a sim platform is stored in.
const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
)

// MarshalRoot encodes r as a PEM certificate followed by a PKCS #8 key.
func MarshalRoot(r *Root) ([]byte, error) {
	return marshal(r.Key, []*x509.Certificate{r.Cert})
}

// MarshalPlatform encodes p as PEM: its PKCS #8 key and its chain.
func MarshalPlatform(p *Platform) ([]byte, error) {
	return marshal(p.Key, p.Chain)
}

func marshal(key crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("sim: marshal key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: k})
	for _, c := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: c.Raw})...)
	}
	return out, nil
}

// ParseRoot decodes what MarshalRoot wrote.
func ParseRoot(b []byte) (*Root, error) {
	key, chain, err := parsePEM(b)
	if err != nil {
		return nil, err
	}
	if len(chain) != 1 || !chain[0].IsCA {
		return nil, errors.New("sim: root file must hold one CA certificate")
	}
	return &Root{Cert: chain[0], Key: key}, nil
}

// ParsePlatform decodes what MarshalPlatform wrote.
func ParsePlatform(b []byte) (*Platform, error) {
	key, chain, err := parsePEM(b)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, errors.New("sim: platform file holds no certificate")
	}
	if !key.PublicKey.Equal(chain[0].PublicKey) {
		return nil, errors.New("sim: platform key does not match its certificate")
	}
	return &Platform{Key: key, Chain: chain}, nil
}

// ParseRootCertificates decodes PEM certificates, for a verifier's trust
// anchors.
func ParseRootCertificates(b []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != pemCertificate {
			continue // a root file also holds the root's key; skip it
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sim: root certificate: %w", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("sim: no root certificate found")
	}
	return pool, nil
}

func parsePEM(b []byte) (*ecdsa.PrivateKey, []*x509.Certificate, error) {
	var key *ecdsa.PrivateKey
	var chain []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case pemPrivateKey:
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("sim: key: %w", err)
			}
			ek, ok := k.(*ecdsa.PrivateKey)
			if !ok || ek.Curve != elliptic.P256() {
				return nil, nil, errors.New("sim: key is not ECDSA P-256")
			}
			key = ek
		case pemCertificate:
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("sim: certificate: %w", err)
			}
			chain = append(chain, c)
		default:
			return nil, nil, fmt.Errorf("sim: unexpected PEM block %q", blk.Type)
		}
	}
	if key == nil {
		return nil, nil, errors.New("sim: no private key found")
	}
	return key, chain, nil
}
