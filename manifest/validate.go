package manifest

import (
	"fmt"
	"math"
	"net/netip"
	pathpkg "path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/internal/dnsname"
)

var (
	// dnsLabel is the syntax of manifest and service names: they appear in
	// SPIFFE IDs, DNS names of workload certificates and URLs. Every name
	// is at most 63 characters, a DNS label's limit.
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// identifier is the syntax of the other names (packages, secrets,
	// owners, users, roles, volumes, host parameters, recovery holders).
	identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	// envName is a POSIX environment variable name.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	// hash256 is the text form of a SHA-256: lowercase hex.
	hash256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Key types of private-key, x509 and x509-ca secrets.
var keyTypes = []string{"rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384", "ed25519"}

// Role resources and actions.
const (
	ResourceSecrets  = "secrets"
	ResourceManifest = "manifest"
	ResourceAudit    = "audit"
	ActionRead       = "read"
	ActionWrite      = "write"
)

// Validate checks every value and cross-reference of m and returns every
// problem, in document order of the sections (Line is 0: only Parse knows
// lines). A nil result means m is valid. It does not render templates
// (DryRun does) and does not look at the clock.
func (m *Manifest) Validate() []Problem {
	ps := m.check()
	out := make([]Problem, 0, len(ps.list))
	for _, p := range ps.list {
		out = append(out, Problem{Field: p.path.String(), Message: p.msg})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (m *Manifest) check() *problems {
	c := &checker{m: m, problems: &problems{}}
	c.header()
	c.owners()
	for _, name := range sortedKeys(m.Packages) {
		c.pkg(name, m.Packages[name])
	}
	for _, name := range sortedKeys(m.Services) {
		c.service(name, m.Services[name])
	}
	for _, name := range sortedKeys(m.Secrets) {
		c.secret(name, m.Secrets[name])
	}
	c.counts()
	c.users()
	for _, name := range sortedKeys(m.Roles) {
		c.role(name, m.Roles[name])
	}
	c.recovery()
	c.attestation()
	return c.problems
}

// counts bounds what one manifest makes the coordinator hold and
// generate: it is uploaded by parties the coordinator does not otherwise
// limit.
func (c *checker) counts() {
	if n := len(c.m.Secrets); n > maxSecrets {
		c.addf(path("secrets"), "%d secrets, limit %d", n, maxSecrets)
	}
	if n := len(c.m.Services); n > maxServices {
		c.addf(path("services"), "%d services, limit %d", n, maxServices)
	}
	rsa := 0
	for _, s := range c.m.Secrets {
		if strings.HasPrefix(s.KeyType, "rsa-") {
			rsa++
		}
	}
	if rsa > maxRSASecrets {
		c.addf(path("secrets"), "%d RSA keys, limit %d (each costs seconds to generate)", rsa, maxRSASecrets)
	}
}

type checker struct {
	m *Manifest
	*problems
}

func (c *checker) addf(p fieldPath, format string, args ...any) {
	c.add(p, fmt.Sprintf(format, args...))
}

func (c *checker) name(p fieldPath, name string, re *regexp.Regexp, what string) {
	if !re.MatchString(name) {
		c.addf(p, "%q is not a valid name: %s", clip(name), what)
	}
}

const (
	labelRule = "lowercase letters, digits and '-', at most 63, not starting or ending with '-'"
	identRule = "letters, digits, '_', '.' and '-', at most 63, starting with a letter or digit"
)

func (c *checker) header() {
	m := c.m
	if m.Name == "" {
		c.add(path("name"), "is missing")
	} else {
		c.name(path("name"), m.Name, dnsLabel, labelRule)
	}
	if m.Version < 1 {
		c.add(path("version"), "must be at least 1")
	}
	switch {
	case m.Version > 1 && m.Predecessor == "":
		c.add(path("predecessor"), "is missing: an update names the SHA-256 of the manifest it replaces")
	case m.Version <= 1 && m.Predecessor != "":
		c.add(path("predecessor"), "must be empty for version 1")
	case m.Predecessor != "" && !hash256.MatchString(m.Predecessor):
		c.add(path("predecessor"), "must be 64 lowercase hex digits (SHA-256)")
	}
}

func (c *checker) owners() {
	m := c.m
	switch {
	case len(m.Owners) == 0:
		c.add(path("owners"), "is missing: a manifest needs at least one owner")
	case len(m.Owners) > maxOwners:
		c.addf(path("owners"), "%d owners, limit %d", len(m.Owners), maxOwners)
	}
	seen := map[string]string{}
	for _, name := range sortedKeys(m.Owners) {
		p := path("owners", name)
		c.name(p, name, identifier, identRule)
		_, der, err := ownerKey(m.Owners[name].PublicKey)
		if err != nil {
			c.addf(p.key("public_key"), "%v", err)
			continue
		}
		// One key listed under two names would count twice toward the
		// threshold: one signer could pass for two owners.
		if other, dup := seen[string(der)]; dup {
			c.addf(p.key("public_key"), "same key as owner %q: each owner needs a distinct key", other)
		}
		seen[string(der)] = name
	}
	if m.UpdateThreshold < 1 || (len(m.Owners) > 0 && m.UpdateThreshold > len(m.Owners)) {
		c.addf(path("update_threshold"), "must be between 1 and the number of owners (%d)", len(m.Owners))
	}
}

func (c *checker) pkg(name string, pk Package) {
	p := path("packages", name)
	c.name(p, name, identifier, identRule)
	if len(pk.References) == 0 {
		c.add(p.key("references"), "is missing: a package needs at least one reference")
	}
	for i, r := range pk.References {
		// Each reference is checked alone so that appraise's messages
		// map to the reference's own line.
		pol := appraise.Policy{Name: "check", AllowSimulation: c.m.Attestation.AllowSimulation, References: []appraise.Reference{r}}
		c.appraiseProblems(pol.Validate(), p.key("references").at(i), "references[0]")
	}
}

func (c *checker) attestation() {
	// A valid stand-in reference isolates the tolerations' own problems.
	standIn := []appraise.Reference{{TEE: attest.TEESim, AnyCode: true}}
	for i, t := range c.m.Attestation.Tolerations {
		pol := appraise.Policy{Name: "check", AllowSimulation: true, References: standIn, Tolerations: []appraise.Toleration{t}}
		c.appraiseProblems(pol.Validate(), path("attestation", "tolerations", i), "tolerations[0]")
	}
}

// appraiseProblems turns appraise.Policy.Validate's joined errors, which
// read "invalid policy: references[0].tee is missing", into problems at
// base (plus the sub-field the message names).
func (c *checker) appraiseProblems(err error, base fieldPath, prefix string) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		msg := strings.TrimPrefix(e.Error(), appraise.ErrInvalidPolicy.Error()+": ")
		p := base
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			msg = rest
			if sub, ok := strings.CutPrefix(msg, "."); ok {
				field, tail, _ := strings.Cut(sub, " ")
				p, msg = subPath(base, field), tail
			}
			msg = strings.TrimPrefix(strings.TrimSpace(msg), ": ")
		}
		c.add(p, msg)
	}
}

// subPath appends a field written as "measurements[0]" to base.
func subPath(base fieldPath, field string) fieldPath {
	name, rest, _ := strings.Cut(field, "[")
	p := base.key(name)
	for rest != "" {
		num, tail, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(num)
		if !ok || err != nil {
			break
		}
		p = p.at(i)
		rest = strings.TrimPrefix(tail, "[")
	}
	return p
}

func (c *checker) service(name string, s Service) {
	m := c.m
	p := path("services", name)
	c.name(p, name, dnsLabel, labelRule)
	switch _, ok := m.Packages[s.Package]; {
	case s.Package == "":
		c.add(p.key("package"), "is missing")
	case !ok:
		c.addf(p.key("package"), "unknown package %q", clip(s.Package))
	}
	if len(s.Command) == 0 {
		c.add(p.key("command"), "is missing: give the program to run and its arguments")
	} else if s.Command[0] == "" {
		c.add(p.key("command").at(0), "the program is empty")
	}
	for i, t := range s.Command {
		c.template(p.key("command").at(i), t, &s, true)
	}
	for _, hp := range sortedKeys(s.HostParams) {
		pp := p.key("host_params").key(hp)
		c.name(pp, hp, identifier, identRule)
		pat := s.HostParams[hp].Pattern
		if pat == "" {
			c.add(pp.key("pattern"), "is missing: a host parameter must be constrained")
		} else if _, err := anchored(pat); err != nil {
			c.addf(pp.key("pattern"), "%v", err)
		}
	}
	for _, k := range sortedKeys(s.Env) {
		pp := p.key("env").key(k)
		if !envName.MatchString(k) {
			c.addf(pp, "%q is not a valid environment variable name", clip(k))
		}
		c.template(pp, s.Env[k], &s, false)
	}
	for _, f := range sortedKeys(s.Files) {
		pp := p.key("files").key(f)
		c.absPath(pp, f)
		c.template(pp, s.Files[f], &s, false)
	}
	mounts := map[string]string{}
	for _, v := range sortedKeys(s.Volumes) {
		c.volume(p.key("volumes").key(v), v, s.Volumes[v], mounts)
	}
	if s.MaxInstances < 0 {
		c.add(p.key("max_instances"), "must not be negative (0: no cap)")
	}
	for i, d := range s.WorkloadDigests {
		if len(d) != 32 {
			c.addf(p.key("workload_digests").at(i), "is %d bytes, want 32 (hex SHA-256)", len(d))
		} else if slices.ContainsFunc(s.WorkloadDigests[:i], func(o attest.Hex) bool { return string(o) == string(d) }) {
			c.add(p.key("workload_digests").at(i), "duplicate digest")
		}
	}
	for i, g := range s.KMSGrants {
		pp := p.key("kms_grants").at(i)
		sec, ok := m.Secrets[g]
		switch {
		case !ok:
			c.addf(pp, "unknown secret %q", clip(g))
		case sec.Kind != KindParquetMasterKey && sec.Kind != KindSymmetric:
			c.addf(pp, "secret %q is of kind %s: KMS grants name parquet-master-key or symmetric secrets", g, sec.Kind)
		case slices.Contains(s.KMSGrants[:i], g):
			c.addf(pp, "duplicate grant %q", g)
		}
	}
}

func (c *checker) volume(p fieldPath, name string, v Volume, mounts map[string]string) {
	c.name(p, name, identifier, identRule)
	if v.Path == "" {
		c.add(p.key("path"), "is missing")
	} else {
		c.absPath(p.key("path"), v.Path)
		if other, dup := mounts[v.Path]; dup {
			c.addf(p.key("path"), "volume %q is mounted there too", other)
		}
		mounts[v.Path] = name
	}
	key, ok := c.m.Secrets[v.Key]
	switch {
	case v.Key == "":
		c.add(p.key("key"), "is missing")
	case !ok:
		c.addf(p.key("key"), "unknown secret %q", clip(v.Key))
	case key.Kind != KindSymmetric:
		c.addf(p.key("key"), "secret %q is of kind %s, want symmetric", v.Key, key.Kind)
	case key.Size != 0 && key.Size != 32:
		// An imported key declares no size: the coordinator checks its
		// length when it resolves the import.
		c.addf(p.key("key"), "secret %q is %d bytes, want 32", v.Key, key.Size)
	case !v.Scratch && key.Shared != nil && !*key.Shared:
		c.addf(p.key("key"), "secret %q is per-instance: a persistent volume's key must be shared, or no restart could read it (set scratch: true for throwaway volumes)", v.Key)
	}
}

func (c *checker) absPath(p fieldPath, f string) {
	switch {
	case !strings.HasPrefix(f, "/"):
		c.addf(p, "path %q is not absolute", clip(f))
	case pathpkg.Clean(f) != f:
		c.addf(p, "path %q is not clean (want %q)", clip(f), clip(pathpkg.Clean(f)))
	case f == "/":
		c.add(p, "path is the root directory")
	case strings.ContainsRune(f, 0):
		c.add(p, "path contains a NUL byte")
	}
}

// template checks a template statically: syntax, functions, secret names,
// parts and encodings, workload parts and host parameters.
func (c *checker) template(p fieldPath, text string, s *Service, inCommand bool) {
	inFile := len(p) > 1 && p[len(p)-2].index < 0 && p[len(p)-2].key == "files"
	parts, err := parseTemplate(text)
	if err != nil {
		c.addf(p, "template: %v", err)
		return
	}
	for _, part := range parts {
		switch part.fn {
		case fnSecret:
			name := part.args[0]
			sec, ok := c.m.Secrets[name]
			if !ok {
				c.addf(p, "template refers to unknown secret %q", clip(name))
				continue
			}
			arg := ""
			if len(part.args) > 1 {
				arg = part.args[1]
			}
			if _, err := secretPart(sec.Kind, arg); err != nil {
				c.addf(p, "template: secret %q: %v", name, err)
			}
		case fnWorkload:
			if !slices.Contains(workloadParts, part.args[0]) {
				c.addf(p, "template: %q is not a workload part (%s)", clip(part.args[0]), strings.Join(workloadParts, ", "))
			}
			if part.args[0] == partKeyPEM && (!inFile || !IsWorkloadKeyFile(text)) {
				c.addf(p, `template: {{ workload "key-pem" }} must be the whole content of a file: the launcher writes the workload key there itself, and the key never reaches the coordinator`)
			}
		case fnHost:
			// The host (the cloud operator, the Kubernetes admin) is
			// untrusted. It may fill declared, pattern-checked slots of the
			// command line — a port, a thread count — but never the
			// environment or files: those carry the configuration that
			// decides where the workload connects, what it trusts and
			// where it writes, and the host must not steer that.
			if !inCommand {
				c.addf(p, "template: host parameter %q: host parameters may appear only in command, never in env or files (the host must not steer configuration)", clip(part.args[0]))
			} else if _, ok := s.HostParams[part.args[0]]; !ok {
				c.addf(p, "template refers to undeclared host parameter %q", clip(part.args[0]))
			}
		}
	}
}

func (c *checker) secret(name string, s Secret) {
	p := path("secrets", name)
	c.name(p, name, identifier, identRule)
	known := []SecretKind{KindSymmetric, KindASCII, KindPrivateKey, KindX509, KindX509CA, KindParquetMasterKey, KindExplicit, KindUploaded}
	if s.Kind == "" {
		c.add(p.key("kind"), "is missing")
		return
	}
	if !slices.Contains(known, s.Kind) {
		c.addf(p.key("kind"), "unknown kind %q", clip(string(s.Kind)))
		return
	}

	// Generation fields that apply to each kind; any other that is set is
	// refused, so a field the author believes has an effect always does.
	set := map[string]bool{
		"size": s.Size != 0, "alphabet": s.Alphabet != "", "key_type": s.KeyType != "",
		"issuer": s.Issuer != "", "common_name": s.CommonName != "", "dns_names": len(s.DNSNames) > 0,
		"ip_addresses": len(s.IPAddresses) > 0, "validity": s.Validity != "", "value": s.Value != "",
	}
	applies := map[SecretKind][]string{
		KindSymmetric:        {"size"},
		KindASCII:            {"size", "alphabet"},
		KindPrivateKey:       {"key_type"},
		KindX509:             {"key_type", "issuer", "common_name", "dns_names", "ip_addresses", "validity"},
		KindX509CA:           {"key_type", "common_name", "dns_names", "ip_addresses", "validity"},
		KindParquetMasterKey: {"size"},
		KindExplicit:         {"value"},
	}[s.Kind]
	if s.Import != nil {
		applies = nil
	}
	for _, f := range sortedKeys(set) {
		if !set[f] || slices.Contains(applies, f) {
			continue
		}
		if s.Import != nil {
			c.addf(p.key(f), "does not apply to an imported secret: its value comes from manifest %q", clip(s.Import.Manifest))
		} else {
			c.addf(p.key(f), "does not apply to kind %s", s.Kind)
		}
	}

	perInstance := s.Shared != nil && !*s.Shared
	if perInstance && (s.Import != nil || !slices.Contains([]SecretKind{KindSymmetric, KindASCII, KindPrivateKey, KindX509}, s.Kind)) {
		c.add(p.key("shared"), "cannot be false: explicit, uploaded, imported, x509-ca and parquet-master-key secrets are always shared")
	}

	if s.Import != nil {
		c.importSecret(p.key("import"), s)
	} else {
		c.generated(p, s)
	}

	if len(s.ExportTo) > 0 {
		pe := p.key("export_to")
		switch {
		case s.Kind == KindParquetMasterKey:
			c.add(pe, "a parquet-master-key never leaves the KMS and cannot be exported")
		case s.Import != nil:
			c.add(pe, "an imported secret cannot be exported again: its owner decides who may read it")
		case perInstance:
			c.add(pe, "a per-instance secret has no single value to export")
		}
		for i, to := range s.ExportTo {
			c.name(pe.at(i), to, dnsLabel, labelRule)
			if to == c.m.Name {
				c.add(pe.at(i), "a manifest cannot export to itself")
			}
			if slices.Contains(s.ExportTo[:i], to) {
				c.addf(pe.at(i), "duplicate manifest %q", to)
			}
		}
	}

	if s.Kind == KindParquetMasterKey {
		for _, role := range sortedKeys(c.m.Roles) {
			r := c.m.Roles[role]
			if r.Resource == ResourceSecrets && slices.Contains(r.Names, name) {
				c.addf(path("roles", role, "names"), "secret %q is a parquet-master-key: it never leaves the KMS", name)
			}
		}
	}
}

func (c *checker) importSecret(p fieldPath, s Secret) {
	imp := s.Import
	if imp.Manifest == "" {
		c.add(p.key("manifest"), "is missing")
	} else {
		c.name(p.key("manifest"), imp.Manifest, dnsLabel, labelRule)
		if imp.Manifest == c.m.Name {
			c.add(p.key("manifest"), "a manifest cannot import from itself")
		}
	}
	if imp.Secret == "" {
		c.add(p.key("secret"), "is missing")
	} else {
		c.name(p.key("secret"), imp.Secret, identifier, identRule)
	}
	switch s.Kind {
	case KindParquetMasterKey:
		c.add(p, "a parquet-master-key never leaves the KMS and cannot be imported")
	case KindExplicit:
		c.add(p, "an explicit secret has its value here and cannot be imported (declare the kind the exporter declares)")
	}
}

// generated checks the generation fields of a secret that is not imported.
func (c *checker) generated(p fieldPath, s Secret) {
	switch s.Kind {
	case KindSymmetric:
		if s.Size != 0 && (s.Size < minSymmetricSize || s.Size > maxSymmetricSize) {
			c.addf(p.key("size"), "must be between %d and %d bytes", minSymmetricSize, maxSymmetricSize)
		}
	case KindParquetMasterKey:
		if s.Size != 0 && s.Size != 16 && s.Size != 24 && s.Size != 32 {
			c.add(p.key("size"), "must be 16, 24 or 32 bytes (AES)")
		}
	case KindASCII:
		c.ascii(p, s)
	case KindPrivateKey, KindX509, KindX509CA:
		if s.KeyType != "" && !slices.Contains(keyTypes, s.KeyType) {
			c.addf(p.key("key_type"), "unknown key type %q (%s)", clip(s.KeyType), strings.Join(keyTypes, ", "))
		}
	case KindExplicit:
		if s.Value == "" {
			c.add(p.key("value"), "is missing: an explicit secret gives its value")
		}
	}
	if s.Kind == KindX509 && s.Issuer != "" {
		iss, ok := c.m.Secrets[s.Issuer]
		switch {
		case !ok:
			c.addf(p.key("issuer"), "unknown secret %q", clip(s.Issuer))
		case iss.Kind != KindX509CA:
			c.addf(p.key("issuer"), "secret %q is of kind %s, want x509-ca", s.Issuer, iss.Kind)
		}
	}
	if s.Validity != "" {
		d, err := time.ParseDuration(s.Validity)
		switch {
		case err != nil:
			c.addf(p.key("validity"), "%q is not a duration (like 8760h)", clip(s.Validity))
		case d <= 0:
			c.add(p.key("validity"), "must be positive")
		case d > maxValidity:
			c.addf(p.key("validity"), "must be at most %.0fh (20 years)", maxValidity.Hours())
		}
	}
	if len(s.CommonName) > 64 {
		c.add(p.key("common_name"), "longer than 64 characters (the X.509 upper bound)")
	}
	for i, n := range s.DNSNames {
		if !dnsname.Valid(n) {
			c.addf(p.key("dns_names").at(i), "%q is not a DNS name", clip(n))
		}
	}
	for i, a := range s.IPAddresses {
		if _, err := netip.ParseAddr(a); err != nil {
			c.addf(p.key("ip_addresses").at(i), "%q is not an IP address", clip(a))
		}
	}
}

func (c *checker) ascii(p fieldPath, s Secret) {
	size := orDefault(s.Size, 32)
	if size < 1 || size > maxASCIISize {
		c.addf(p.key("size"), "must be between 1 and %d characters", maxASCIISize)
		return
	}
	alphabet := s.Alphabet
	if alphabet == "" {
		alphabet = defaultAlphabet
	}
	for i := 0; i < len(alphabet); i++ {
		ch := alphabet[i]
		if ch < 0x21 || ch > 0x7e {
			c.add(p.key("alphabet"), "must be printable ASCII without spaces (0x21 to 0x7e)")
			return
		}
		if strings.IndexByte(alphabet[:i], ch) >= 0 {
			// A repeated character would be drawn more often.
			c.addf(p.key("alphabet"), "character %q appears twice", ch)
			return
		}
	}
	if len(alphabet) < 2 {
		c.add(p.key("alphabet"), "needs at least 2 characters")
		return
	}
	if bits := float64(size) * math.Log2(float64(len(alphabet))); bits < minASCIIEntropyBits {
		c.addf(p, "%d characters from %d have %.0f bits of entropy, at least %d needed: raise size", size, len(alphabet), bits, minASCIIEntropyBits)
	}
}

// defaultAlphabet is the alphabet of ascii secrets that give none.
const defaultAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (c *checker) users() {
	seen := map[string]string{}
	for _, name := range sortedKeys(c.m.Users) {
		u := c.m.Users[name]
		p := path("users", name)
		c.name(p, name, identifier, identRule)
		cert, err := parseCertificatePEM(u.Certificate)
		if err != nil {
			c.addf(p.key("certificate"), "%v", err)
		} else {
			// Users are identified by public key: two users with one key
			// would be one person holding both users' roles.
			spki := string(cert.RawSubjectPublicKeyInfo)
			if other, dup := seen[spki]; dup {
				c.addf(p.key("certificate"), "same public key as user %q", other)
			}
			seen[spki] = name
		}
		if len(u.Roles) == 0 {
			c.add(p.key("roles"), "is missing: a user without roles can do nothing")
		}
		for i, r := range u.Roles {
			if _, ok := c.m.Roles[r]; !ok {
				c.addf(p.key("roles").at(i), "unknown role %q", clip(r))
			} else if slices.Contains(u.Roles[:i], r) {
				c.addf(p.key("roles").at(i), "duplicate role %q", r)
			}
		}
	}
}

func (c *checker) role(name string, r Role) {
	p := path("roles", name)
	c.name(p, name, identifier, identRule)
	switch r.Resource {
	case "":
		c.add(p.key("resource"), "is missing")
	case ResourceSecrets, ResourceManifest, ResourceAudit:
	default:
		c.addf(p.key("resource"), "unknown resource %q (secrets, manifest, audit)", clip(r.Resource))
	}
	if len(r.Actions) == 0 {
		c.add(p.key("actions"), "is missing")
	}
	write := false
	for i, a := range r.Actions {
		switch {
		case a != ActionRead && a != ActionWrite:
			c.addf(p.key("actions").at(i), "unknown action %q (read, write)", clip(a))
		case slices.Contains(r.Actions[:i], a):
			c.addf(p.key("actions").at(i), "duplicate action %q", a)
		}
		write = write || a == ActionWrite
	}
	if r.Resource == ResourceAudit && write {
		c.add(p.key("actions"), "the audit log is written only by the coordinator")
	}
	if (r.Resource == ResourceManifest || r.Resource == ResourceAudit) && len(r.Names) > 0 {
		c.addf(p.key("names"), "does not apply to resource %s", r.Resource)
	}
	if r.Resource != ResourceSecrets {
		return
	}
	for i, n := range r.Names {
		s, ok := c.m.Secrets[n]
		switch {
		case !ok:
			c.addf(p.key("names").at(i), "unknown secret %q", clip(n))
		case write && s.Kind != KindUploaded:
			// Generated, explicit and imported secrets have one source;
			// a user overwriting them would replace a value the owners
			// never saw.
			c.addf(p.key("names").at(i), "secret %q is of kind %s: only uploaded secrets can be written", n, s.Kind)
		}
	}
}

func (c *checker) recovery() {
	r := c.m.Recovery
	if r == nil {
		return
	}
	p := path("recovery")
	switch {
	case len(r.Keys) == 0:
		c.add(p.key("keys"), "is missing: recovery needs at least one key")
	case len(r.Keys) > maxRecoveryKeys:
		c.addf(p.key("keys"), "%d keys, limit %d", len(r.Keys), maxRecoveryKeys)
	}
	seen := map[string]string{}
	for _, name := range sortedKeys(r.Keys) {
		pk := p.key("keys").key(name)
		c.name(pk, name, identifier, identRule)
		_, der, err := recoveryKey(r.Keys[name])
		if err != nil {
			c.addf(pk, "%v", err)
			continue
		}
		// Two shares to one key would let one holder count twice.
		if other, dup := seen[string(der)]; dup {
			c.addf(pk, "same key as holder %q", other)
		}
		seen[string(der)] = name
	}
	if r.Threshold < 1 || (len(r.Keys) > 0 && r.Threshold > len(r.Keys)) {
		c.addf(p.key("threshold"), "must be between 1 and the number of keys (%d)", len(r.Keys))
	}
}
