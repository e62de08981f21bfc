package token

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
)

// PrimarySubmod names the submodule of the attested workload's CPU TEE.
// Every token has it; TEE and Options.ExpectedMeasurements refer to it.
const PrimarySubmod = "cpu0"

// SubmodKind says what a format attests, for submodule names: "cpu" for
// the CPU TEE formats, "gpu" for GPUs, "part" for anything else.
func SubmodKind(format string) string {
	switch format {
	case attest.FormatNVGPU:
		return "gpu"
	case attest.FormatSim, attest.FormatSEVSNP, attest.FormatTDX, attest.FormatSGX, attest.FormatTPM, attest.FormatMAA:
		return "cpu"
	}
	return "part"
}

// SubmodNames names the submodules of a token for a main piece of
// evidence (always PrimarySubmod, "cpu0") and further parts, numbered per
// kind in order: gpu0, gpu1…, cpu1…, part0…
func SubmodNames(partFormats []string) []string {
	out := []string{PrimarySubmod}
	next := map[string]int{"cpu": 1}
	for _, f := range partFormats {
		kind := SubmodKind(f)
		out = append(out, kind+strconv.Itoa(next[kind]))
		next[kind]++
	}
	return out
}

// EATProfile is the eat_profile of every cofre token: the EAR profile.
const EATProfile = ear.EatProfile

// Developer is the ear.verifier-id developer of every cofre token.
const Developer = "https://github.com/cofre-cc/cofre"

// Claims is the content of a cofre attestation token: an EAR (EAT
// Attestation Result) JWT.
type Claims struct {
	Issuer   string    // iss: the attestation service's URL
	Audience []string  // aud: optional; a relying party that is not named refuses the token
	IssuedAt time.Time // iat, whole seconds
	Expiry   time.Time // exp, whole seconds
	Nonce    []byte    // eat_nonce: the relying party's challenge, 8 to 64 bytes, optional
	// VerifierID is ear.verifier-id's build, e.g. "cofre v0.1.0 (commit …)".
	VerifierID string
	// Submods holds one appraisal per piece of evidence: "cpu0" (required),
	// "gpu0"…
	Submods map[string]Submod
	// Confirmation is the key the token is bound to (cnf), or nil.
	Confirmation *Confirmation
	// Runtime are claims the attested workload makes about itself after it
	// started, e.g. the models an inference service loaded (name →
	// SHA-256), in the cofre.runtime claim. They are SELF-REPORTED: the
	// issuer checked who reports them (the attested instance, by its
	// certificate) and their bounds (CheckRuntime), NOT their truth; they
	// are as trustworthy as the measured code that reports them. Nil or
	// empty: no claim.
	Runtime map[string]string
	// EncryptionKey marks a token whose cnf is a key to encrypt to (an
	// HPKE key the workload holds), not a credential: RequireAttestation
	// refuses it, so a token made for relying parties to seal data to a
	// workload never authenticates anyone (cofre.encryption_key).
	EncryptionKey bool
	// Draft marks a dry run under a draft policy: every verifier refuses it.
	Draft bool
	// Profile selects extra claim names on issue; on verify it reports
	// whether the token carried them.
	Profile Profile
}

// Submod is the appraisal of one piece of evidence (a CPU TEE, a GPU…): an
// EAR submodule.
type Submod struct {
	Status   ear.TrustTier
	Vector   ear.TrustVector
	PolicyID string
	// Claims are the verifier's normalized claims (required).
	Claims *attest.Claims
	// Reasons say why the status is not affirming, if it is not.
	Reasons []appraise.Reason
}

// NewSubmod builds a submodule from verified claims and their appraisal.
func NewSubmod(c *attest.Claims, r *appraise.Result) Submod {
	return Submod{Status: r.Status, Vector: r.Vector, PolicyID: r.Policy, Claims: c, Reasons: r.Reasons}
}

// Profile selects which claim names a token carries besides EAR's.
type Profile int

const (
	// ProfileEAR: EAR claims and cofre's own only (the default).
	ProfileEAR Profile = iota
	// ProfileMAA: also Azure Attestation's claim names (x-ms-…), derived
	// from cpu0's claims, so Azure relying parties work unchanged.
	ProfileMAA
)

func (p Profile) String() string {
	switch p {
	case ProfileEAR:
		return "ear"
	case ProfileMAA:
		return "maa"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// ParseProfile parses "ear" or "maa".
func ParseProfile(s string) (Profile, error) {
	switch s {
	case "ear":
		return ProfileEAR, nil
	case "maa":
		return ProfileMAA, nil
	}
	return ProfileEAR, fmt.Errorf("token: unknown profile %q (want ear or maa)", s)
}

// Status is the token's overall verdict: the worst submodule status, in the
// order affirming < warning < none < contraindicated. A token without
// submodules has status none.
func (c *Claims) Status() ear.TrustTier {
	worst, rank := ear.TrustTierNone, -1
	for _, s := range c.Submods {
		if r := tierRank(s.Status); r > rank {
			worst, rank = s.Status, r
		}
	}
	return worst
}

// tierRank orders trust tiers from best to worst.
func tierRank(t ear.TrustTier) int {
	switch t {
	case ear.TrustTierAffirming:
		return 0
	case ear.TrustTierWarning:
		return 1
	case ear.TrustTierNone:
		return 2
	}
	return 3 // contraindicated, or a value no tier has
}

// TEE is cpu0's TEE ("sim" for simulation), or TEEInvalid without cpu0.
func (c *Claims) TEE() attest.TEE {
	if s, ok := c.Submods[PrimarySubmod]; ok && s.Claims != nil {
		return s.Claims.TEE
	}
	return attest.TEEInvalid
}

// Simulation reports whether any submodule attests a simulated TEE: such a
// token gives no confidentiality, whatever its status says.
func (c *Claims) Simulation() bool {
	for _, s := range c.Submods {
		if s.Claims != nil && isSim(s.Claims) {
			return true
		}
	}
	return false
}

func isSim(c *attest.Claims) bool {
	return c.TEE == attest.TEESim || c.Format == attest.FormatSim || slices.Contains(c.Warnings, attest.SimulationWarning)
}

// SubmodNames returns the submodule names, sorted.
func (c *Claims) SubmodNames() []string {
	names := make([]string, 0, len(c.Submods))
	for n := range c.Submods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Confirmation is RFC 7800 cnf: the key the token is bound to. Exactly one
// field is set.
type Confirmation struct {
	// JWK is a public JWK ({"cnf": {"jwk": …}}), such as the workload key
	// from the attestation request's runtime data.
	JWK json.RawMessage
	// X5tS256 is the base64url SHA-256 of a DER certificate
	// ({"cnf": {"x5t#S256": …}}), such as the workload's TLS certificate.
	X5tS256 string
}

// ConfirmationForKey binds a token to a public key (cnf jwk). The key must
// be one a relying party can encrypt to or verify with safely: ECDSA or
// ECDH on P-256 or P-384, Ed25519, X25519, or RSA of at least
// minConfirmationRSABits. The JWK is built from the key alone, so it holds
// only public members (kty, crv, x, y, n, e).
func ConfirmationForKey(pub crypto.PublicKey) (*Confirmation, error) {
	if err := checkConfirmationKey(pub); err != nil {
		return nil, fmt.Errorf("token: confirmation key: %w", err)
	}
	k, err := jwk.Import(pub)
	if err != nil {
		return nil, fmt.Errorf("token: confirmation key: %w", err)
	}
	if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
		return nil, fmt.Errorf("token: confirmation key: %w: want a public key", ErrConfirmationKey)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("token: confirmation key: %w", err)
	}
	return &Confirmation{JWK: b}, nil
}

// checkConfirmationKey restricts cnf keys to the types and sizes relying
// parties can use safely: the portal HPKE-encrypts to this key, and a
// weak key (RSA-1024, an odd curve) would make the binding decorative.
func checkConfirmationKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return fmt.Errorf("%w: ECDSA on %s, want P-256 or P-384", ErrConfirmationKey, k.Curve.Params().Name)
		}
	case *ecdh.PublicKey:
		if c := k.Curve(); c != ecdh.X25519() && c != ecdh.P256() && c != ecdh.P384() {
			return fmt.Errorf("%w: ECDH on %v, want X25519, P-256 or P-384", ErrConfirmationKey, c)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key of %d bytes", ErrConfirmationKey, len(k))
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minConfirmationRSABits || n > maxConfirmationRSABits {
			return fmt.Errorf("%w: RSA-%d, want %d to %d bits", ErrConfirmationKey, n, minConfirmationRSABits, maxConfirmationRSABits)
		}
	default:
		return fmt.Errorf("%w: %T", ErrConfirmationKey, pub)
	}
	return nil
}

// ErrConfirmationKey is wrapped by every refusal of a cnf key (issuing or
// parsing): a private or symmetric key, a member outside the public ones,
// or a key type or size that is not allowed.
var ErrConfirmationKey = errors.New("key not allowed in cnf")

// confirmationJWKMembers are the JWK members a cnf jwk may carry: the
// public parameters of the allowed key types and the usual metadata. Any
// other member is refused, not dropped: a private parameter (d, p, q, dp,
// dq, qi, oth, k) under any spelling, or a member like "secret", would be
// published to everyone who reads the token.
var confirmationJWKMembers = map[string]bool{
	"kty": true, "crv": true, "x": true, "y": true, "n": true, "e": true,
	"kid": true, "alg": true, "use": true, "key_ops": true,
}

// ConfirmationForCertificate binds a token to a certificate (cnf x5t#S256),
// such as the TLS client certificate of a service-to-service hop.
func ConfirmationForCertificate(cert *x509.Certificate) *Confirmation {
	sum := sha256.Sum256(cert.Raw)
	return &Confirmation{X5tS256: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// PublicKey returns the cnf jwk's public key (*ecdsa.PublicKey,
// ed25519.PublicKey, *ecdh.PublicKey, *rsa.PublicKey), for a relying party
// that encrypts to the attested workload. It is an error if cnf holds a
// certificate thumbprint instead.
func (c *Confirmation) PublicKey() (crypto.PublicKey, error) {
	if len(c.JWK) == 0 {
		return nil, errors.New("token: cnf has no jwk")
	}
	k, err := parseConfirmationJWK(c.JWK)
	if err != nil {
		return nil, err
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		return nil, fmt.Errorf("token: cnf jwk: %w", err)
	}
	return raw, nil
}

// validate checks that exactly one member is set and that a JWK is a
// public key: a private key handed in as runtime data must never be
// published in a token.
func (c *Confirmation) validate() error {
	switch {
	case len(c.JWK) > 0 && c.X5tS256 != "":
		return errors.New("both jwk and x5t#S256 are set")
	case len(c.JWK) > 0:
		_, err := parseConfirmationJWK(c.JWK)
		return err
	case c.X5tS256 != "":
		b, err := b64.DecodeString(c.X5tS256)
		if err != nil {
			return fmt.Errorf("x5t#S256: %w", err)
		}
		if len(b) != sha256.Size {
			return fmt.Errorf("x5t#S256 is %d bytes, want %d", len(b), sha256.Size)
		}
		return nil
	}
	return errors.New("neither jwk nor x5t#S256 is set")
}

// parseConfirmationJWK parses a cnf jwk strictly: valid JSON without
// duplicate members (checkJSON), only confirmationJWKMembers, a public key
// of an allowed type and size.
func parseConfirmationJWK(b []byte) (jwk.Key, error) {
	if err := checkJSON(b); err != nil {
		return nil, fmt.Errorf("cnf jwk: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, fmt.Errorf("cnf jwk: %w", err)
	}
	var extra []string
	for m := range members {
		if !confirmationJWKMembers[m] {
			extra = append(extra, strconv.Quote(clip(m)))
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fmt.Errorf("cnf jwk: %w: members %s (a public JWK has only kty, crv, x, y, n, e, kid, alg, use, key_ops)", ErrConfirmationKey, clip(strings.Join(extra, ", ")))
	}
	k, err := jwk.ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("cnf jwk: %w", err)
	}
	if k.KeyType().String() == "oct" {
		return nil, fmt.Errorf("cnf jwk: %w: a symmetric key", ErrConfirmationKey)
	}
	if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
		return nil, fmt.Errorf("cnf jwk: %w: a private key (must be public)", ErrConfirmationKey)
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		return nil, fmt.Errorf("cnf jwk: %w", err)
	}
	if err := checkConfirmationKey(raw); err != nil {
		return nil, fmt.Errorf("cnf jwk: %w", err)
	}
	return k, nil
}

// ParseConfirmationJWK checks a JWK as a token's cnf would be checked (only
// public members, an allowed key type and size) and returns the
// confirmation rebuilt from the public key alone, with nothing of the input
// but the key: no kid, no unknown member. Services that take a workload's
// key from untrusted input use it before putting the key in a token.
func ParseConfirmationJWK(b []byte) (*Confirmation, error) {
	k, err := parseConfirmationJWK(b)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	var pub any
	if err := jwk.Export(k, &pub); err != nil {
		return nil, fmt.Errorf("token: cnf jwk: %w", err)
	}
	return ConfirmationForKey(pub)
}
