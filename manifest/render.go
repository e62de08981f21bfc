package manifest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Values supplies what templates refer to. The coordinator implements it
// at activation, with the manifest's secrets and the new workload's
// certificate.
type Values interface {
	// Secret returns the value of a declared secret. Render never puts the
	// returned error's text into its own errors beyond wrapping it, so it
	// must not contain the value either.
	Secret(name string) (SecretValue, error)
	// Workload returns the activating workload's identity.
	Workload() WorkloadValues
	// Host returns a host-supplied parameter. Render checks it against the
	// service's pattern before using it.
	Host(name string) (string, bool)
}

// SecretValue is a secret's value as the coordinator holds it.
type SecretValue struct {
	// Kind must be the kind the manifest declares: Render refuses a value
	// of another kind (an import that resolved to the wrong thing).
	Kind SecretKind
	// Bytes of a symmetric, ascii, explicit or uploaded secret.
	Bytes []byte
	// Cert of an x509 or x509-ca secret.
	Cert *x509.Certificate
	// Chain holds Cert's issuers, nearest first, without Cert itself.
	Chain []*x509.Certificate
	// Key of a private-key, x509 or x509-ca secret.
	Key crypto.Signer
}

// WorkloadValues is the activating workload's identity.
type WorkloadValues struct {
	// Cert is the workload certificate just issued.
	Cert *x509.Certificate
	// Chain holds Cert's issuers, nearest first, without Cert itself.
	Chain []*x509.Certificate
	// Roots are the CA certificates a workload trusts for its peers
	// (ca-pem).
	Roots []*x509.Certificate
	// Key is the workload's private key, or nil if the caller does not
	// hold it (the launcher makes it; the coordinator sees only the CSR),
	// in which case files that are exactly {{ workload "key-pem" }} are
	// listed in Rendered.KeyFiles instead of rendered.
	Key crypto.Signer
	// SPIFFEID is spiffe://<trust-domain>/<manifest>/<service>/<instance>.
	SPIFFEID string
}

// Rendered is a service's configuration with its templates filled in.
type Rendered struct {
	Command []string
	Env     map[string]string
	Files   map[string][]byte
	// KeyFiles lists the files whose whole content is the workload's
	// private key (IsWorkloadKeyFile), left for the holder of the key
	// (the launcher) to write when Values.Workload().Key is nil.
	KeyFiles []string
}

// ErrUnknownService: Render was asked for a service the manifest does not
// declare.
var ErrUnknownService = errors.New("unknown service")

// Render fills in the templates of service's command, environment and
// files. Every template is rendered and every failure reported (joined
// *RenderErrors, in command, env, files order); a failure names the
// service and the field, never a secret's value.
func (m *Manifest) Render(service string, v Values) (*Rendered, error) {
	return m.render(service, v, false)
}

func (m *Manifest) render(service string, v Values, dryRun bool) (*Rendered, error) {
	svc, ok := m.Services[service]
	if !ok {
		return nil, &RenderError{Service: service, Field: "service", Err: ErrUnknownService}
	}
	r := &renderer{m: m, svc: &svc, v: v, dryRun: dryRun}
	out := &Rendered{Env: make(map[string]string, len(svc.Env)), Files: make(map[string][]byte, len(svc.Files))}
	var errs []error
	fail := func(field fieldPath, err error) {
		errs = append(errs, &RenderError{Service: service, Field: field.String(), Err: err})
	}
	for i, t := range svc.Command {
		b, err := r.render(t, true)
		if err == nil && bytes.IndexByte(b, 0) >= 0 {
			err = errors.New("the value contains a NUL byte, which an argument cannot hold")
		}
		if err != nil {
			fail(path("command", i), err)
			continue
		}
		out.Command = append(out.Command, string(b))
	}
	for _, k := range sortedKeys(svc.Env) {
		b, err := r.render(svc.Env[k], false)
		if err == nil && bytes.IndexByte(b, 0) >= 0 {
			err = errors.New("the value contains a NUL byte, which an environment variable cannot hold (use hex or base64)")
		}
		if err != nil {
			fail(path("env", k), err)
			continue
		}
		out.Env[k] = string(b)
	}
	for _, k := range sortedKeys(svc.Files) {
		if v.Workload().Key == nil && IsWorkloadKeyFile(svc.Files[k]) {
			out.KeyFiles = append(out.KeyFiles, k)
			continue
		}
		b, err := r.render(svc.Files[k], false)
		if err != nil {
			fail(path("files", k), err)
			continue
		}
		out.Files[k] = b
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

type renderer struct {
	m      *Manifest
	svc    *Service
	v      Values
	dryRun bool
}

func (r *renderer) render(text string, hostAllowed bool) ([]byte, error) {
	parts, err := parseTemplate(text)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var b bytes.Buffer
	for _, p := range parts {
		switch p.fn {
		case "":
			b.WriteString(p.text)
		case fnSecret:
			arg := ""
			if len(p.args) > 1 {
				arg = p.args[1]
			}
			out, err := r.secret(p.args[0], arg)
			if err != nil {
				return nil, err
			}
			b.Write(out)
		case fnWorkload:
			out, err := r.workload(p.args[0])
			if err != nil {
				return nil, err
			}
			b.Write(out)
		case fnHost:
			if !hostAllowed {
				return nil, errHostOutsideCommand
			}
			out, err := r.host(p.args[0])
			if err != nil {
				return nil, err
			}
			b.WriteString(out)
		}
	}
	return b.Bytes(), nil
}

// errHostOutsideCommand: see checkTemplate for why host parameters are
// confined to the command.
var errHostOutsideCommand = errors.New("host parameters may appear only in command")

func (r *renderer) secret(name, arg string) ([]byte, error) {
	decl, ok := r.m.Secrets[name]
	if !ok {
		return nil, fmt.Errorf("unknown secret %q", name)
	}
	part, err := secretPart(decl.Kind, arg)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	val, err := r.v.Secret(name)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	if val.Kind != decl.Kind {
		return nil, fmt.Errorf("secret %q: value is of kind %q, the manifest declares %q", name, val.Kind, decl.Kind)
	}
	out, err := encodePart(part, val.Bytes, val.Cert, val.Chain, val.Key)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return out, nil
}

func (r *renderer) workload(part string) ([]byte, error) {
	if !slices.Contains(workloadParts, part) {
		return nil, fmt.Errorf("%q is not a workload part (%s)", part, strings.Join(workloadParts, ", "))
	}
	w := r.v.Workload()
	switch part {
	case partSPIFFEID:
		if w.SPIFFEID == "" {
			return nil, errors.New("workload SPIFFE ID not available")
		}
		return []byte(w.SPIFFEID), nil
	case partCAPEM:
		if len(w.Roots) == 0 {
			return nil, errors.New("workload CA certificates not available")
		}
		return certsPEM(w.Roots), nil
	}
	out, err := encodePart(part, nil, w.Cert, w.Chain, w.Key)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return out, nil
}

func (r *renderer) host(name string) (string, error) {
	hp, ok := r.svc.HostParams[name]
	if !ok {
		return "", fmt.Errorf("undeclared host parameter %q", name)
	}
	if r.dryRun {
		return "host-" + name, nil
	}
	val, ok := r.v.Host(name)
	if !ok {
		return "", fmt.Errorf("host parameter %q not supplied", name)
	}
	// The host is untrusted: its value is bounded and must match the
	// declared pattern in full (anchored here, whatever the author wrote).
	if len(val) > maxHostValueLen {
		return "", fmt.Errorf("host parameter %q: %d bytes, limit %d", name, len(val), maxHostValueLen)
	}
	re, err := anchored(hp.Pattern)
	if err != nil {
		return "", fmt.Errorf("host parameter %q: %w", name, err)
	}
	if !re.MatchString(val) {
		return "", fmt.Errorf("host parameter %q: value does not match %q", name, hp.Pattern)
	}
	return val, nil
}

// anchored compiles pattern so that it must match the whole value: an
// author writing `[0-9]+` means a number, not "anything containing a
// digit".
func anchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err // reported against the pattern as written
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

func encodePart(part string, raw []byte, cert *x509.Certificate, chain []*x509.Certificate, key crypto.Signer) ([]byte, error) {
	switch part {
	case encRaw, encHex, encBase64:
		if raw == nil {
			return nil, errors.New("value not available")
		}
		switch part {
		case encHex:
			return []byte(hex.EncodeToString(raw)), nil
		case encBase64:
			return []byte(base64.StdEncoding.EncodeToString(raw)), nil
		}
		return bytes.Clone(raw), nil
	case partCertPEM, partCertDER, partChainPEM:
		if cert == nil {
			return nil, errors.New("certificate not available")
		}
		switch part {
		case partCertDER:
			return bytes.Clone(cert.Raw), nil
		case partChainPEM:
			return certsPEM(append([]*x509.Certificate{cert}, chain...)), nil
		}
		return certsPEM([]*x509.Certificate{cert}), nil
	case partKeyPEM, partKeyDER, partPublicPEM:
		if key == nil {
			return nil, errors.New("private key not available")
		}
		if part == partPublicPEM {
			der, err := x509.MarshalPKIXPublicKey(key.Public())
			if err != nil {
				return nil, errors.New("cannot encode the public key")
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			// The error names only the key's type.
			return nil, fmt.Errorf("cannot encode a %T private key", key)
		}
		if part == partKeyDER {
			return der, nil
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return nil, fmt.Errorf("unknown part %q", part)
}

func certsPEM(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		if c != nil {
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
	}
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DryRun renders every service with placeholder values, so that a manifest
// whose templates cannot render is refused when it is uploaded rather than
// when a workload starts. Host parameters are replaced by placeholders
// without their pattern check (no value is known that must match).
func (m *Manifest) DryRun() error {
	v, err := newPlaceholders(m)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range sortedKeys(m.Services) {
		if _, err := m.render(name, v, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// placeholders are deterministic stand-ins for every secret and the
// workload identity: one Ed25519 key (fixed seed) and a self-signed
// certificate with fixed dates.
type placeholders struct {
	m    *Manifest
	key  ed25519.PrivateKey
	cert *x509.Certificate
}

func newPlaceholders(m *Manifest) (*placeholders, error) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cofre manifest dry run"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC),
	}
	// Ed25519 signing uses no randomness, so rand is unused.
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("manifest: dry run placeholder: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("manifest: dry run placeholder: %w", err)
	}
	return &placeholders{m: m, key: key, cert: cert}, nil
}

func (p *placeholders) Secret(name string) (SecretValue, error) {
	s, ok := p.m.Secrets[name]
	if !ok {
		return SecretValue{}, errors.New("not declared")
	}
	v := SecretValue{Kind: s.Kind}
	switch s.Kind {
	case KindSymmetric, KindParquetMasterKey:
		v.Bytes = make([]byte, orDefault(s.Size, 32))
	case KindASCII:
		v.Bytes = bytes.Repeat([]byte{'x'}, orDefault(s.Size, 32))
	case KindExplicit:
		v.Bytes = []byte(s.Value)
	case KindUploaded:
		v.Bytes = []byte("placeholder")
	case KindPrivateKey:
		v.Key = p.key
	case KindX509, KindX509CA:
		v.Key, v.Cert = p.key, p.cert
	}
	if s.Import != nil && s.Kind == KindExplicit {
		v.Bytes = []byte("placeholder")
	}
	return v, nil
}

func (p *placeholders) Workload() WorkloadValues {
	return WorkloadValues{Cert: p.cert, Roots: []*x509.Certificate{p.cert}, Key: p.key, SPIFFEID: "spiffe://dry-run/" + p.m.Name}
}

func (p *placeholders) Host(name string) (string, bool) { return "host-" + name, true }

// orDefault returns n, or def if n is zero.
func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}
