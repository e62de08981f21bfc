package secrets

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/internal/dnsname"
	"github.com/cofre-cc/cofre/manifest"
)

// Defaults of manifest.Secret fields left empty.
const (
	defaultSize         = 32
	defaultAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	defaultKeyType      = "ecdsa-p256"
	defaultLeafValidity = 8760 * time.Hour  // x509: one year
	defaultCAValidity   = 87600 * time.Hour // x509-ca: ten years
	backdate            = time.Minute       // NotBefore = now - backdate, for peers whose clock is behind
)

// Generate makes the value of the secret named name, declared as s, at
// now:
//   - symmetric: Size random bytes (default 32, 16 to 4096);
//   - ascii: Size characters (default 32, at most 4096) drawn uniformly
//     from Alphabet (default letters and digits);
//   - private-key: a KeyType key (default ecdsa-p256);
//   - x509-ca: a KeyType key and a self-signed CA certificate (path
//     length 0) with CommonName (default name), DNSNames and IPAddresses,
//     valid from now-1m for Validity (default 87600h);
//   - x509: a KeyType key and a certificate with CommonName (default
//     name), DNSNames and IPAddresses, client and server auth, valid from
//     now-1m for Validity (default 8760h) capped by the issuer's NotAfter;
//     the issuer is the x509-ca secret issuer(s.Issuer) returns or, when
//     s.Issuer is empty, ca (the coordinator's intermediate for the
//     manifest);
//   - parquet-master-key: Size random bytes (16, 24 or 32; default 32);
//   - explicit: s.Value's bytes.
//
// Uploaded and imported secrets are refused (ErrNotGenerated). name
// appears in errors; it is the secret's name, never its value. issuer and
// ca may be nil when s does not need them.
func Generate(name string, s manifest.Secret, issuer func(name string) (*Value, error), ca *pki.CA, now time.Time) (*Value, error) {
	v, err := generate(name, s, issuer, ca, now)
	if err != nil {
		return nil, fmt.Errorf("secrets: generate %q: %w", clip(name), err)
	}
	return v, nil
}

func generate(name string, s manifest.Secret, issuer func(string) (*Value, error), ca *pki.CA, now time.Time) (*Value, error) {
	if s.Import != nil {
		return nil, fmt.Errorf("%w: imported from %q", ErrNotGenerated, clip(s.Import.Manifest))
	}
	switch s.Kind {
	case manifest.KindSymmetric:
		n, err := size(s.Size, defaultSize, func(n int) bool { return n >= minSymmetricSize && n <= maxSymmetricSize })
		if err != nil {
			return nil, err
		}
		return randomBytes(s.Kind, n)
	case manifest.KindParquetMasterKey:
		n, err := size(s.Size, defaultSize, validAESKeySize)
		if err != nil {
			return nil, err
		}
		return randomBytes(s.Kind, n)
	case manifest.KindASCII:
		n, err := size(s.Size, defaultSize, func(n int) bool { return n >= 1 && n <= maxASCIISize })
		if err != nil {
			return nil, err
		}
		alphabet := s.Alphabet
		if alphabet == "" {
			alphabet = defaultAlphabet
		}
		if err := checkAlphabet(alphabet); err != nil {
			return nil, err
		}
		b, err := randomASCII(alphabet, n)
		if err != nil {
			return nil, err
		}
		return &Value{Kind: s.Kind, Bytes: b}, nil
	case manifest.KindExplicit:
		if len(s.Value) > maxExplicitSize {
			return nil, fmt.Errorf("%w: explicit value of %d bytes, at most %d", ErrSize, len(s.Value), maxExplicitSize)
		}
		return &Value{Kind: s.Kind, Bytes: []byte(s.Value)}, nil
	case manifest.KindPrivateKey:
		key, err := generateKey(s.KeyType)
		if err != nil {
			return nil, err
		}
		return &Value{Kind: s.Kind, Key: key}, nil
	case manifest.KindX509CA:
		return generateCA(name, s, now)
	case manifest.KindX509:
		return generateLeaf(name, s, issuer, ca, now)
	case manifest.KindUploaded:
		return nil, fmt.Errorf("%w: uploaded", ErrNotGenerated)
	default:
		return nil, fmt.Errorf("%w: %q", ErrKind, clip(string(s.Kind)))
	}
}

// size returns n, or def when n is 0, if valid accepts it.
func size(n, def int, valid func(int) bool) (int, error) {
	if n == 0 {
		n = def
	}
	if !valid(n) {
		return 0, fmt.Errorf("%w: %d", ErrSize, n)
	}
	return n, nil
}

func randomBytes(kind manifest.SecretKind, n int) (*Value, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &Value{Kind: kind, Bytes: b}, nil
}

// checkAlphabet requires 2 to 95 distinct printable ASCII characters
// (space to '~'). A repeated character would be drawn twice as often, and
// a non-ASCII byte would split a UTF-8 character.
func checkAlphabet(a string) error {
	if len(a) < 2 || len(a) > 95 {
		return fmt.Errorf("%w: %d characters, want 2 to 95", ErrAlphabet, len(a))
	}
	var seen [128]bool
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c < ' ' || c > '~' {
			return fmt.Errorf("%w: byte %d is not printable ASCII", ErrAlphabet, i)
		}
		if seen[c] {
			return fmt.Errorf("%w: %q repeated", ErrAlphabet, c)
		}
		seen[c] = true
	}
	return nil
}

// randomASCII draws n characters uniformly from alphabet. A random byte b
// maps to alphabet[b % len] only when b < limit, the largest multiple of
// len(alphabet) not above 256: keeping every byte would favour the first
// 256 % len characters (modulo bias).
func randomASCII(alphabet string, n int) ([]byte, error) {
	k := len(alphabet)
	limit := 256 - 256%k
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	defer clear(buf)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			clear(out)
			return nil, err
		}
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%k])
				if len(out) == n {
					break
				}
			}
		}
	}
	return out, nil
}

// generateKey makes a key of the manifest's key type.
func generateKey(keyType string) (crypto.Signer, error) {
	if keyType == "" {
		keyType = defaultKeyType
	}
	switch keyType {
	case "ecdsa-p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case "rsa-2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "rsa-4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	default:
		return nil, fmt.Errorf("%w: %q", ErrKeyType, clip(keyType))
	}
}

// validity parses s.Validity, or returns def when it is empty.
func validity(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxValidity {
		return 0, fmt.Errorf("%w: %q", ErrValidity, clip(s))
	}
	return d, nil
}

// names parses and checks a certificate's DNS names and IP addresses
// (names come from the manifest, not from a secret).
func names(dnsNames, ipAddrs []string) ([]string, []net.IP, error) {
	if len(dnsNames)+len(ipAddrs) > maxNames {
		return nil, nil, fmt.Errorf("%w: %d names, at most %d", ErrName, len(dnsNames)+len(ipAddrs), maxNames)
	}
	for _, n := range dnsNames {
		if !dnsname.Valid(n) {
			return nil, nil, fmt.Errorf("%w: DNS name %q", ErrName, clip(n))
		}
	}
	var ips []net.IP
	for _, a := range ipAddrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, nil, fmt.Errorf("%w: IP address %q", ErrName, clip(a))
		}
		ips = append(ips, ip)
	}
	return dnsNames, ips, nil
}

func commonName(name string, s manifest.Secret) string {
	if s.CommonName != "" {
		return s.CommonName
	}
	return name
}

func generateCA(name string, s manifest.Secret, now time.Time) (*Value, error) {
	d, err := validity(s.Validity, defaultCAValidity)
	if err != nil {
		return nil, err
	}
	dnsNames, ips, err := names(s.DNSNames, s.IPAddresses)
	if err != nil {
		return nil, err
	}
	key, err := generateKey(s.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName(name, s)},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(d),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// It signs the manifest's x509 secrets, never another CA.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	cert, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &Value{Kind: manifest.KindX509CA, Key: key, Cert: cert}, nil
}

func generateLeaf(name string, s manifest.Secret, issuer func(string) (*Value, error), ca *pki.CA, now time.Time) (*Value, error) {
	d, err := validity(s.Validity, defaultLeafValidity)
	if err != nil {
		return nil, err
	}
	dnsNames, ips, err := names(s.DNSNames, s.IPAddresses)
	if err != nil {
		return nil, err
	}
	// Resolve the issuer before making a key: an RSA key is slow to make.
	var parent *Value
	if s.Issuer != "" {
		if issuer == nil {
			return nil, fmt.Errorf("%w: %q: no issuer lookup", ErrIssuer, clip(s.Issuer))
		}
		parent, err = issuer(s.Issuer)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrIssuer, clip(s.Issuer), err)
		}
		if parent == nil || parent.Kind != manifest.KindX509CA || parent.Key == nil || parent.Cert == nil || !parent.Cert.IsCA {
			return nil, fmt.Errorf("%w: %q is not an x509-ca secret", ErrIssuer, clip(s.Issuer))
		}
	} else if ca == nil {
		return nil, fmt.Errorf("%w: no coordinator CA", ErrIssuer)
	}
	key, err := generateKey(s.KeyType)
	if err != nil {
		return nil, err
	}
	cn := commonName(name, s)
	if parent == nil {
		// The coordinator's intermediate. pki refuses lifetimes over ten
		// years rather than capping them, so cap at its NotAfter here.
		if left := ca.Certificate().NotAfter.Sub(now); d > left {
			d = left
		}
		if d <= 0 {
			return nil, fmt.Errorf("%w: the coordinator CA expired", ErrValidity)
		}
		cert, err := ca.IssueLeaf(key.Public(), cn, dnsNames, ips, now, d)
		if err != nil {
			return nil, err
		}
		return &Value{Kind: manifest.KindX509, Key: key, Cert: cert, Chain: ca.Chain()}, nil
	}

	pc := parent.Cert
	if now.Before(pc.NotBefore) || !now.Before(pc.NotAfter) {
		return nil, fmt.Errorf("%w: issuer %q not valid at %s", ErrValidity, clip(s.Issuer), now.UTC().Format(time.RFC3339))
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		usage |= x509.KeyUsageKeyEncipherment // RSA key exchange in TLS 1.2
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
		NotBefore:             later(now.Add(-backdate), pc.NotBefore),
		NotAfter:              earlier(now.Add(d), pc.NotAfter),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	cert, err := sign(tmpl, pc, key.Public(), parent.Key)
	if err != nil {
		return nil, err
	}
	chain := append([]*x509.Certificate{pc}, parent.Chain...)
	return &Value{Kind: manifest.KindX509, Key: key, Cert: cert, Chain: chain}, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// randomSerial returns a positive serial of 128 random bits (CA/B Forum
// rules ask for at least 64).
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
