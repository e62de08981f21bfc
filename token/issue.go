package token

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

// Issuer signs tokens with the current key of a KeySet. Safe for concurrent
// use; a rotation of the KeySet takes effect at the next Issue.
type Issuer struct {
	keys *KeySet
}

// NewIssuer returns an Issuer signing with keys.
func NewIssuer(keys *KeySet) *Issuer {
	return &Issuer{keys: keys}
}

// Issue checks c and returns it signed as a compact JWS (header alg, kid,
// typ "JWT"). It never modifies c. Times are truncated to whole seconds.
//
// It refuses claims a verifier would refuse as malformed, so a token that
// leaves the issuer always parses: no issuer, a zero iat or an exp not
// after it, no cpu0 submodule, a submodule without claims or with an
// invalid status or TEE, a nonce outside 8..64 bytes, a cnf that is not
// exactly one public key or certificate thumbprint (a private key in the
// runtime data is never published), runtime claims outside CheckRuntime's
// bounds (wrapping ErrRuntime), and a token larger than MaxTokenSize.
// It also refuses a simulated submodule rated "affirming": appraisal caps
// simulation at "warning", and the issuer enforces it again.
func (i *Issuer) Issue(c *Claims) (string, error) {
	if err := validateClaims(c); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	pl, err := encodePayload(c)
	if err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	// Parse what is about to be signed with the verifier's own parser: a
	// token this issuer signs must be one Verify can read.
	if _, err := decodePayload(pl); err != nil {
		return "", fmt.Errorf("token: issue: the payload does not parse back: %w", err)
	}
	k := i.keys.current()
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, k.kid); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	tok, err := jws.Sign(pl, jws.WithKey(k.alg.jwa(), k.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("token: issue: sign: %w", err)
	}
	if len(tok) > MaxTokenSize {
		return "", fmt.Errorf("token: issue: token is %d bytes, limit %d", len(tok), MaxTokenSize)
	}
	return string(tok), nil
}

// validateClaims checks what Issue requires of c, reporting every problem.
func validateClaims(c *Claims) error {
	if c == nil {
		return errors.New("nil claims")
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Issuer == "" {
		fail("no issuer")
	}
	if c.IssuedAt.Unix() <= 0 {
		fail("issued-at %v is not after 1970", c.IssuedAt)
	}
	if c.Expiry.Unix() <= c.IssuedAt.Unix() {
		fail("expiry %v is not after issued-at %v", c.Expiry, c.IssuedAt)
	}
	if len(c.Audience) > maxAudiences {
		fail("%d audiences, limit %d", len(c.Audience), maxAudiences)
	}
	for _, a := range c.Audience {
		if a == "" {
			fail("empty audience")
		}
	}
	if n := len(c.Nonce); n != 0 && (n < minNonceSize || n > maxNonceSize) {
		fail("nonce is %d bytes, want %d to %d", n, minNonceSize, maxNonceSize)
	}
	if c.VerifierID == "" {
		fail("no verifier id")
	}
	if c.Profile != ProfileEAR && c.Profile != ProfileMAA {
		fail("invalid profile %v", c.Profile)
	}
	errs = append(errs, validateSubmods(c.Submods)...)
	if c.Confirmation != nil {
		if err := c.Confirmation.validate(); err != nil {
			fail("cnf: %w", err)
		}
	}
	if err := CheckRuntime(c.Runtime); err != nil {
		fail("%s: %w", claimRuntime, err)
	}
	if c.EncryptionKey && (c.Confirmation == nil || len(c.Confirmation.JWK) == 0) {
		fail("%s without a cnf jwk", claimEncryption)
	}
	return errors.Join(errs...)
}

func validTEE(t attest.TEE) bool {
	p, err := attest.ParseTEE(t.String())
	return err == nil && p == t
}

// validateSubmods checks what Issue requires of the submodules, reporting
// every problem.
func validateSubmods(subs map[string]Submod) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(subs) == 0 || len(subs) > maxSubmods {
		fail("%d submodules, want 1 to %d", len(subs), maxSubmods)
	}
	if _, ok := subs[PrimarySubmod]; !ok {
		fail("no %s submodule", PrimarySubmod)
	}
	for _, name := range slices.Sorted(maps.Keys(subs)) {
		s := subs[name]
		if err := checkSubmodName(name); err != nil {
			errs = append(errs, err)
		}
		if _, ok := ear.TrustTierToString[s.Status]; !ok {
			fail("submodule %s: invalid status %d", name, s.Status)
		}
		if len(s.Reasons) > maxReasons {
			fail("submodule %s: %d reasons, limit %d", name, len(s.Reasons), maxReasons)
		}
		switch {
		case s.Claims == nil:
			fail("submodule %s: no claims", name)
		case !validTEE(s.Claims.TEE):
			fail("submodule %s: invalid TEE %v", name, s.Claims.TEE)
		case isSim(s.Claims) && s.Status == ear.TrustTierAffirming:
			fail("submodule %s: simulated TEE rated affirming (simulation is capped at warning)", name)
		}
	}
	return errs
}
