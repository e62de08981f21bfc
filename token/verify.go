package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

// Options are a relying party's expectations of a token. JWKS is required;
// every other field is optional, and its zero value selects the default
// named in its comment. Verify never modifies Options.
type Options struct {
	// JWKS is where the issuer's public keys come from: StaticJWKS or
	// *RemoteJWKS. Required. It is the root of trust: a token verifies
	// only with a key from it.
	JWKS JWKS

	// Issuer is the expected iss. Empty: iss is not compared, and any
	// token signed by a key in JWKS is the issuer's; set it whenever a JWKS
	// might serve more than one issuer.
	Issuer string

	// Audience is this relying party's name. Empty: tokens that name any
	// audience are refused (RFC 7519 §4.1.3: a relying party that does not
	// identify itself with the audience must reject the token). Set: aud
	// must contain it.
	Audience string

	// Now is the verification time. Zero: the clock at call time.
	Now time.Time

	// Leeway is the clock skew tolerated on exp, iat and nbf. Zero means
	// DefaultLeeway (30 s); a negative value means none.
	Leeway time.Duration

	// AllowedAlgorithms is the signature algorithm allowlist. Empty means
	// ES256, ES384 and EdDSA. "none" and HMAC algorithms are refused
	// whatever this says: they are not Algorithms.
	AllowedAlgorithms []Algorithm

	// RequireStatus is the lowest acceptable overall status (Claims.Status,
	// the worst submodule's): ear.TrustTierAffirming accepts only
	// affirming; ear.TrustTierWarning, or the zero value (TrustTierNone),
	// accepts affirming and warning. Contraindicated and none never pass.
	RequireStatus ear.TrustTier

	// ExpectedMeasurements, if not empty, lists the acceptable launch
	// measurements of cpu0 (the workload): the token's must be one of them.
	ExpectedMeasurements []attest.Hex

	// Nonce, if set, is the nonce this relying party sent; eat_nonce must
	// equal it. Nil: the nonce is not checked (freshness then rests on exp).
	Nonce []byte

	// ConfirmationKey, if set, is the public key the presenter proved it
	// holds: the token's cnf must name it (cnf jwk). Nil, with
	// ConfirmationCertificate also nil: cnf is not checked, and the token
	// is a bearer token.
	ConfirmationKey crypto.PublicKey

	// ConfirmationCertificate, if set, is the certificate the presenter
	// authenticated with (a TLS client certificate): the token's cnf must
	// be its x5t#S256, or a jwk equal to its public key. At most one of
	// ConfirmationKey and ConfirmationCertificate may be set.
	ConfirmationCertificate *x509.Certificate

	// AllowSimulation admits tokens whose submodules attest a simulated
	// TEE (cofre.simulation). Default false: simulation gives no
	// confidentiality and must never pass as hardware.
	AllowSimulation bool
}

// ErrOptions marks an error in Options (a programmer or configuration
// error, not a verdict on the token).
var ErrOptions = errors.New("invalid verification options")

func (o *Options) validate() error {
	var errs []error
	if o.JWKS == nil {
		errs = append(errs, errors.New("JWKS is nil"))
	}
	for _, a := range o.AllowedAlgorithms {
		if !a.valid() {
			errs = append(errs, fmt.Errorf("AllowedAlgorithms holds invalid algorithm %d", int(a)))
		}
	}
	switch o.RequireStatus {
	case ear.TrustTierNone, ear.TrustTierAffirming, ear.TrustTierWarning:
	default:
		errs = append(errs, fmt.Errorf("RequireStatus %v: want affirming or warning", o.RequireStatus))
	}
	if o.ConfirmationKey != nil && o.ConfirmationCertificate != nil {
		errs = append(errs, errors.New("both ConfirmationKey and ConfirmationCertificate are set"))
	}
	if o.Nonce != nil && (len(o.Nonce) < minNonceSize || len(o.Nonce) > maxNonceSize) {
		errs = append(errs, fmt.Errorf("option Nonce is %d bytes, want %d to %d", len(o.Nonce), minNonceSize, maxNonceSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("token: %w: %w", ErrOptions, err)
	}
	return nil
}

func (o *Options) time() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o *Options) leeway() time.Duration {
	switch {
	case o.Leeway < 0:
		return 0
	case o.Leeway == 0:
		return DefaultLeeway
	}
	return o.Leeway
}

func (o *Options) requiredStatus() ear.TrustTier {
	if o.RequireStatus == ear.TrustTierNone {
		return ear.TrustTierWarning
	}
	return o.RequireStatus
}

// Verify checks a token for a relying party and returns its claims.
//
// In order, stopping at the first failure: the token parses as a compact
// JWS; the header's alg is in the allowlist (never "none" or HS*); its kid
// names a key of opts.JWKS (a RemoteJWKS refreshes once, rate-limited, on an
// unknown kid); the key's type is for that algorithm; the signature
// verifies (jwx, with the algorithm passed explicitly); the payload parses
// as cofre claims. Then every claim check runs and all failures are
// returned together (errors.Join): exp, iat and nbf against opts.Now with
// the leeway; issuer; audience; nonce; draft; simulation; status;
// cpu0's measurement; cnf against the presented key or certificate.
//
// A refusal is a *RefusalError (or several, joined) wrapping one of the
// Err* classes. If the keys cannot be obtained the error wraps
// ErrUnavailable; if opts is invalid, ErrOptions.
//
// Verify does not check: the evidence itself (the issuer did), the
// submodules other than cpu0 against measurements, or revocation of a
// token before its exp (tokens are short-lived instead).
func Verify(ctx context.Context, tok string, opts Options) (*Claims, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	jt, err := parseCompact(tok)
	if err != nil {
		return nil, err
	}
	alg, err := checkAlgorithm(jt.header.Alg, opts.AllowedAlgorithms)
	if err != nil {
		return nil, err
	}
	if jt.header.Kid == "" {
		return nil, refuse(ErrUnknownKey, "header.kid", "the id of a key of the JWKS", "absent")
	}
	key, err := opts.JWKS.lookup(ctx, jt.header.Kid)
	if err != nil {
		return nil, err
	}
	if key.alg != alg {
		return nil, refuse(ErrAlgorithm, "header.alg", key.alg.String()+" (the algorithm of key "+clip(key.kid)+")", alg.String())
	}
	// The algorithm is passed explicitly and was checked against the key
	// above: jwx does not get to pick it from the header.
	if _, err := jws.Verify([]byte(jt.raw), jws.WithKey(alg.jwa(), key.pub), jws.WithCompact()); err != nil {
		return nil, refuse(ErrSignature, "signature", "a valid "+alg.String()+" signature by key "+clip(key.kid), "invalid")
	}

	// From here on the payload is the issuer's.
	p, err := decodePayload(jt.payload)
	if err != nil {
		return nil, err
	}
	if err := checkClaims(p, &opts); err != nil {
		return nil, err
	}
	return p.claims, nil
}

// checkAlgorithm refuses "none", HMAC and anything outside the allowlist.
func checkAlgorithm(name string, allowed []Algorithm) (Algorithm, error) {
	if len(allowed) == 0 {
		allowed = defaultAlgorithms
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = a.String()
	}
	want := "one of " + strings.Join(names, ", ")
	switch up := strings.ToUpper(name); {
	case up == "NONE":
		return AlgInvalid, refuse(ErrAlgorithm, "header.alg", want, name+" (an unsigned token)")
	case strings.HasPrefix(up, "HS"):
		// With HMAC the verification key is a shared secret; a verifier
		// that took the issuer's public key as that secret would accept
		// tokens anyone can forge (the JWT key-confusion attack).
		return AlgInvalid, refuse(ErrAlgorithm, "header.alg", want, name+" (HMAC: refused, a public key is not a secret)")
	}
	a, err := ParseAlgorithm(name)
	if err != nil || !slices.Contains(allowed, a) {
		return AlgInvalid, refuse(ErrAlgorithm, "header.alg", want, name)
	}
	return a, nil
}

// checkClaims runs every claim check and joins the failures.
func checkClaims(p *payload, o *Options) error {
	c := p.claims
	now, leeway := o.time(), o.leeway()
	var errs []error
	fail := func(err error) { errs = append(errs, err) }
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }

	// exp must not be before now-leeway, iat and nbf not after now+leeway.
	skew := " (verification time " + ts(now) + ", leeway " + leeway.String() + ")"
	if now.After(c.Expiry.Add(leeway)) {
		fail(refuse(ErrExpired, "exp", "at or after "+ts(now.Add(-leeway))+skew, ts(c.Expiry)))
	}
	if c.IssuedAt.After(now.Add(leeway)) {
		fail(refuse(ErrNotYetValid, "iat", "at or before "+ts(now.Add(leeway))+skew, ts(c.IssuedAt)))
	}
	if !p.notBefore.IsZero() && p.notBefore.After(now.Add(leeway)) {
		fail(refuse(ErrNotYetValid, "nbf", "at or before "+ts(now.Add(leeway))+skew, ts(p.notBefore)))
	}
	if o.Issuer != "" && c.Issuer != o.Issuer {
		fail(refuse(ErrIssuer, "iss", o.Issuer, c.Issuer))
	}
	switch {
	case o.Audience != "" && !slices.Contains(c.Audience, o.Audience):
		fail(refuse(ErrAudience, "aud", o.Audience, orAbsent(strings.Join(c.Audience, ", "))))
	case o.Audience == "" && len(c.Audience) > 0:
		fail(refuse(ErrAudience, "aud", "absent (this relying party has no audience name)", strings.Join(c.Audience, ", ")))
	}
	if o.Nonce != nil && subtle.ConstantTimeCompare(o.Nonce, c.Nonce) != 1 {
		fail(refuse(ErrNonce, "eat_nonce", b64.EncodeToString(o.Nonce), orAbsent(b64.EncodeToString(c.Nonce))))
	}
	if c.Draft {
		fail(refuse(ErrDraft, "cofre.draft", "false (a token from a published policy)", "true (a dry run under a draft policy)"))
	}
	if c.Simulation() && !o.AllowSimulation {
		fail(refuse(ErrSimulation, "cofre.simulation", "false (hardware TEE)", "true (SIMULATION: no confidentiality)"))
	}
	req := o.requiredStatus()
	if st := c.Status(); tierRank(st) > tierRank(req) {
		want := "affirming"
		if req == ear.TrustTierWarning {
			want = "affirming or warning"
		}
		fail(refuse(ErrStatus, "status", want, st.String()+worstSubmods(c)))
	}
	if len(o.ExpectedMeasurements) > 0 {
		got := c.Submods[PrimarySubmod].Claims.Measurement
		if !slices.ContainsFunc(o.ExpectedMeasurements, func(h attest.Hex) bool { return bytes.Equal(h, got) }) {
			want := make([]string, len(o.ExpectedMeasurements))
			for i, h := range o.ExpectedMeasurements {
				want[i] = h.String()
			}
			fail(refuse(ErrMeasurement, "submods."+PrimarySubmod+".measurement", "one of "+strings.Join(want, ", "), got.String()))
		}
	}
	if o.ConfirmationKey != nil || o.ConfirmationCertificate != nil {
		if err := checkConfirmation(c.Confirmation, o.ConfirmationKey, o.ConfirmationCertificate); err != nil {
			fail(err)
		}
	}
	return errors.Join(errs...)
}

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

// worstSubmods names the submodules that set the overall status.
func worstSubmods(c *Claims) string {
	st := c.Status()
	var names []string
	for _, n := range c.SubmodNames() {
		if c.Submods[n].Status == st {
			names = append(names, n)
		}
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// checkConfirmation checks that cnf names the presented key or certificate.
func checkConfirmation(cf *Confirmation, key crypto.PublicKey, cert *x509.Certificate) error {
	presented := key
	what := "the presented key"
	if cert != nil {
		presented = cert.PublicKey
		what = "the presented certificate"
	}
	if cf == nil {
		return refuse(ErrConfirmation, "cnf", "bound to "+what, "absent (a bearer token)")
	}
	if cf.X5tS256 != "" {
		if cert == nil {
			return refuse(ErrConfirmation, "cnf.x5t#S256", "a jwk (only a key was presented)", cf.X5tS256)
		}
		sum := sha256.Sum256(cert.Raw)
		want := b64.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(want), []byte(cf.X5tS256)) != 1 {
			return refuse(ErrConfirmation, "cnf.x5t#S256", want+" ("+what+")", cf.X5tS256)
		}
		return nil
	}
	pub, err := cf.PublicKey()
	if err != nil {
		return refuse(ErrConfirmation, "cnf.jwk", "a public key", err.Error())
	}
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(presented) {
		return refuse(ErrConfirmation, "cnf.jwk", keyThumbprint(presented)+" ("+what+")", keyThumbprint(pub))
	}
	return nil
}

// keyThumbprint names a public key in errors by its RFC 7638 thumbprint.
func keyThumbprint(pub crypto.PublicKey) string {
	k, err := jwk.Import(pub)
	if err != nil {
		return fmt.Sprintf("a %T", pub)
	}
	tp, err := thumbprint(k)
	if err != nil {
		return fmt.Sprintf("a %T", pub)
	}
	return "jwk thumbprint " + tp
}

// Unverified is a token decoded without any verification, for display
// (cofre token show). Nothing in it may be trusted.
type Unverified struct {
	// Header and Payload are the decoded JSON segments as sent.
	Header  json.RawMessage
	Payload json.RawMessage
	// Algorithm and KeyID are the header's alg and kid, if it has them.
	Algorithm string
	KeyID     string
	// Claims are the payload parsed as cofre claims, or nil if it does not
	// parse; ClaimsErr says why.
	Claims    *Claims
	ClaimsErr error
}

// ParseUnverified decodes a token WITHOUT VERIFYING it: no signature, key,
// time or policy check is made. It fails only if tok is not three base64url
// segments. Use it to look at a token; use Verify to rely on one.
func ParseUnverified(tok string) (*Unverified, error) {
	hdr, pl, err := decodeSegments(strings.TrimSpace(tok))
	if err != nil {
		return nil, err
	}
	u := &Unverified{Header: hdr, Payload: pl}
	if h, err := parseHeader(hdr); err == nil {
		u.Algorithm, u.KeyID = h.Alg, h.Kid
	}
	p, err := decodePayload(pl)
	if err != nil {
		u.ClaimsErr = err
	} else {
		u.Claims = p.claims
	}
	return u, nil
}
