package maa

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// DefaultVersions are the x-ms-ver values accepted when Config.Versions is
// nil: "1.0" is the only claim-set version MAA has issued.
var DefaultVersions = []string{"1.0"}

// openIDPath is where an MAA instance publishes its OpenID metadata, whose
// jwks_uri names the signing keys (MAA serves them at /certs).
const openIDPath = "/.well-known/openid-configuration"

// Config configures a Verifier.
type Config struct {
	// TrustedIssuers are the MAA instances whose tokens are accepted, each
	// as its issuer URL, the token's "iss": "https://" and a host, no path
	// (a trailing "/" is ignored), for example
	// "https://sharedeus2.eus2.attest.azure.net". Required: with none, every
	// token is refused. A shared instance attests any genuine evidence under
	// its default policy, so trusting it says nothing about the workload;
	// appraisal must still check the measurement.
	TrustedIssuers []string

	// Versions are the accepted values of the x-ms-ver claim, the version
	// of MAA's claim set. Default (nil): DefaultVersions. A token of another
	// version is refused, since its claims could mean something else.
	Versions []string
}

// Verifier verifies Azure Attestation tokens (format attest.FormatMAA). It
// is immutable after NewVerifier and safe for concurrent use.
type Verifier struct {
	issuers  map[string]*url.URL // issuer string, as the token must carry it → parsed
	versions []string
}

var _ attest.Verifier = (*Verifier)(nil)

// NewVerifier returns a verifier for tokens of cfg.TrustedIssuers. It fails
// if an issuer is not an https origin.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{issuers: map[string]*url.URL{}, versions: DefaultVersions}
	if cfg.Versions != nil {
		v.versions = slices.Clone(cfg.Versions)
	}
	for _, s := range cfg.TrustedIssuers {
		u, err := parseOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("maa: trusted issuer %q: %w", s, err)
		}
		v.issuers[strings.TrimSuffix(s, "/")] = u
	}
	return v, nil
}

// parseOrigin parses an https URL that names only an origin.
func parseOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "https":
		return nil, errors.New("scheme is not https")
	case u.Host == "" || u.Opaque != "":
		return nil, errors.New("no host")
	case u.User != nil:
		return nil, errors.New("has user information")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("has a path, query or fragment")
	}
	return u, nil
}

func (v *Verifier) Format() string { return attest.FormatMAA }

// Verify checks an MAA token and returns the claims it carries. See the
// package documentation for what is checked and what is not.
func (v *Verifier) Verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatMAA {
		return nil, attest.Malformed("maa: format %q", ev.Format)
	}
	t, err := parseToken(ev.Payload)
	if err != nil {
		return nil, err
	}

	// Algorithm allowlist, before any key is touched: "none", HMAC (whose
	// secret an attacker would take from the public JWKS) and every other
	// algorithm are refused. MAA signs with RS256 only.
	if t.header.Alg != "RS256" {
		return nil, attest.Refuse(attest.ErrSignature, "token algorithm", "alg", "RS256", t.header.Alg)
	}
	if t.header.Crit {
		return nil, attest.Refuse(attest.ErrSignature, "token header", "crit", "absent (no JWS extensions are implemented)", "present")
	}
	if t.header.Typ != "" && !strings.EqualFold(t.header.Typ, "JWT") {
		return nil, attest.Refuse(attest.ErrMalformed, "token header", "typ", "JWT", t.header.Typ)
	}
	if t.header.Kid == "" {
		return nil, attest.Refuse(attest.ErrMalformed, "token header", "kid", "a key ID", "absent")
	}

	// The issuer decides which JWKS is fetched. It is read before the
	// signature is checked, but only a trusted issuer's keys are ever
	// fetched, and a forged token cannot carry a signature by one of them.
	r := &reader{o: t.payload}
	iss := r.str("iss", true)
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	origin, ok := v.issuers[iss]
	if !ok {
		return nil, attest.Refuse(attest.ErrCertificate, "token issuer", "iss", v.trustedList(), iss)
	}
	// The token may name its key set in jku. Keys are never fetched from
	// where a token points (that would let it choose its own key); a jku is
	// only required to be on the issuer's origin, so that a token pointing
	// elsewhere is refused as suspect.
	if t.header.Jku != "" {
		if err := sameOrigin(t.header.Jku, origin); err != nil {
			return nil, attest.Refuse(attest.ErrCertificate, "token key set", "jku", "an https URL on "+origin.Scheme+"://"+origin.Host, t.header.Jku)
		}
	}

	if opts.Collateral == nil {
		return nil, attest.Refuse(attest.ErrCollateral, "signing keys", "collateral", "a collateral source for the issuer's JWKS", "none")
	}
	b, err := opts.Collateral.Fetch(ctx, collateral.Request{Kind: collateral.KindJWKS, URL: iss + openIDPath})
	if err != nil {
		return nil, &attest.CheckError{Check: "signing keys", Field: "jwks", Expected: "the JWKS of " + iss, Actual: "unavailable", Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	keys, err := parseJWKS(b)
	if err != nil {
		return nil, &attest.CheckError{Check: "signing keys", Field: "jwks", Expected: "a JWKS", Actual: "invalid", Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	now := opts.Time()
	pub, err := signingKey(keys, t.header.Kid, now)
	if err != nil {
		return nil, err
	}
	// RS256 is passed explicitly: jwx does not get to pick the algorithm
	// from the header, which was checked above.
	if _, err := jws.Verify(t.raw, jws.WithKey(jwa.RS256(), pub), jws.WithCompact()); err != nil {
		return nil, attest.Refuse(attest.ErrSignature, "token signature", "signature", "valid RS256 signature by key "+t.header.Kid, "invalid")
	}

	// From here on the payload is MAA's.
	iat, nbf, exp, err := checkValidity(t.payload, now)
	if err != nil {
		return nil, err
	}
	ver := r.str("x-ms-ver", true)
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	if !slices.Contains(v.versions, ver) {
		return nil, attest.Refuse(attest.ErrMalformed, "claim set version", "x-ms-ver", strings.Join(v.versions, ", "), ver)
	}
	c, err := mapClaims(t.payload)
	if err != nil {
		return nil, err
	}
	c.Raw["issuer"] = iss
	c.Raw["kid"] = t.header.Kid
	c.Raw["version"] = ver
	c.Raw["expires_at"] = exp
	if !iat.IsZero() {
		c.Raw["issued_at"] = iat
	}
	if !nbf.IsZero() {
		c.Raw["not_before"] = nbf
	}
	c.Warnings = append([]string{fmt.Sprintf("attested by Azure Attestation (issuer %s); cofre did not see the hardware evidence", iss)}, c.Warnings...)
	return c, nil
}

func (v *Verifier) trustedList() string {
	if len(v.issuers) == 0 {
		return "a configured trusted issuer (none configured)"
	}
	l := make([]string, 0, len(v.issuers))
	for s := range v.issuers {
		l = append(l, s)
	}
	slices.Sort(l)
	return "one of " + strings.Join(l, ", ")
}

// sameOrigin reports whether s is an https URL on origin's host and port.
func sameOrigin(s string, origin *url.URL) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.User != nil || !strings.EqualFold(u.Host, origin.Host) {
		return errors.New("different origin")
	}
	return nil
}

// signingKey selects the key named kid. Which key a token names is decided
// by the header's kid alone; keys are never taken from the token (jwk, x5c
// or jku members).
func signingKey(keys map[string]*jwk, kid string, now time.Time) (any, error) {
	k, ok := keys[kid]
	if !ok {
		known := make([]string, 0, len(keys))
		for id := range keys {
			known = append(known, id)
		}
		slices.Sort(known)
		return nil, attest.Refuse(attest.ErrSignature, "signing key", "kid", "one of ["+strings.Join(known, ", ")+"]", kid)
	}
	pub, err := k.publicKey()
	if err != nil {
		return nil, &attest.CheckError{Check: "signing key", Field: "jwks[" + kid + "]", Expected: "an RSA signing key", Actual: "unusable", Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if err := checkX5C(k.X5C); err != nil {
		return nil, &attest.CheckError{Check: "signing certificate", Field: "jwks[" + kid + "].x5c", Expected: "certificates whose signatures verify along the chain", Actual: "invalid", Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	if len(k.X5C) > 0 {
		leaf := k.X5C[0]
		if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			return nil, attest.Refuse(attest.ErrCertificate, "signing certificate validity", "jwks["+kid+"].x5c[0]",
				rfc3339(leaf.NotBefore)+".."+rfc3339(leaf.NotAfter), rfc3339(now))
		}
	}
	return pub, nil
}

// checkX5C checks that each certificate of an x5c chain is signed by the
// next, and that a final self-issued certificate (MAA's usual single
// self-signed certificate) is signed by its own key. This is an integrity
// check, not a trust decision: the key is trusted because the trusted
// issuer's JWKS lists it, not because of where its chain leads. Basic
// constraints are not checked, since MAA's self-signed signing certificates
// are not CA certificates.
func checkX5C(chain []*x509.Certificate) error {
	for i := 0; i+1 < len(chain); i++ {
		c, parent := chain[i], chain[i+1]
		if err := parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			return fmt.Errorf("x5c[%d] is not signed by x5c[%d]: %w", i, i+1, err)
		}
	}
	if n := len(chain); n > 0 {
		last := chain[n-1]
		if bytes.Equal(last.RawIssuer, last.RawSubject) {
			if err := last.CheckSignature(last.SignatureAlgorithm, last.RawTBSCertificate, last.Signature); err != nil {
				return fmt.Errorf("self-issued x5c[%d] does not verify: %w", n-1, err)
			}
		}
	}
	return nil
}

// checkValidity checks exp (required), nbf and iat (when present) at now,
// with clockSkew of leeway. A token outside its validity is refused with
// ErrCertificate, the class of an expired credential.
func checkValidity(p object, now time.Time) (iat, nbf, exp time.Time, err error) {
	exp, hasExp, err := numericDate(p, "exp")
	if err != nil {
		return iat, nbf, exp, err
	}
	if !hasExp {
		return iat, nbf, exp, attest.Refuse(attest.ErrMalformed, "required claim", "exp", "present", "absent")
	}
	if nbf, _, err = numericDate(p, "nbf"); err != nil {
		return iat, nbf, exp, err
	}
	if iat, _, err = numericDate(p, "iat"); err != nil {
		return iat, nbf, exp, err
	}
	switch {
	case now.After(exp.Add(clockSkew)):
		err = attest.Refuse(attest.ErrCertificate, "token validity", "exp", "after "+rfc3339(now), rfc3339(exp))
	case !nbf.IsZero() && now.Before(nbf.Add(-clockSkew)):
		err = attest.Refuse(attest.ErrCertificate, "token validity", "nbf", "before "+rfc3339(now), rfc3339(nbf))
	case !iat.IsZero() && now.Before(iat.Add(-clockSkew)):
		err = attest.Refuse(attest.ErrCertificate, "token validity", "iat", "before "+rfc3339(now), rfc3339(iat))
	}
	return iat, nbf, exp, err
}

// numericDate reads an RFC 7519 NumericDate. MAA writes whole seconds;
// fractions are refused rather than rounded.
func numericDate(p object, name string) (time.Time, bool, error) {
	raw, ok := p[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, false, attest.Refuse(attest.ErrMalformed, "claim type", name, "a NumericDate in whole seconds", string(raw))
	}
	return time.Unix(n, 0).UTC(), true, nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
