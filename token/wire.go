package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
)

// Claim names of the JWT payload. EAR's (draft-ietf-rats-ear) and RFC
// 7519's are standard; cofre.* are cofre's own.
const (
	claimIssuer     = "iss"
	claimAudience   = "aud"
	claimIssuedAt   = "iat"
	claimExpiry     = "exp"
	claimNotBefore  = "nbf"
	claimProfile    = "eat_profile"
	claimNonce      = "eat_nonce"
	claimVerifierID = "ear.verifier-id"
	claimSubmods    = "submods"
	claimCnf        = "cnf"
	claimTEE        = "cofre.tee"
	claimSimulation = "cofre.simulation"
	claimDraft      = "cofre.draft"
	claimRuntime    = "cofre.runtime"
	claimEncryption = "cofre.encryption_key"

	submodStatus   = "ear.status"
	submodVector   = "ear.trustworthiness-vector"
	submodPolicyID = "ear.appraisal-policy-id"
	submodClaims   = "cofre.claims"
	submodReasons  = "cofre.reasons"

	cnfJWK     = "jwk"
	cnfX5tS256 = "x5t#S256"
)

// submodNameRE is what a submodule name may look like: it is a JSON member
// name that appears in errors, logs and metrics labels.
var submodNameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)

type wireVerifierID struct {
	Developer string `json:"developer"`
	Build     string `json:"build"`
}

type wireSubmod struct {
	Status   ear.TrustTier     `json:"ear.status"`
	Vector   ear.TrustVector   `json:"ear.trustworthiness-vector"`
	PolicyID string            `json:"ear.appraisal-policy-id,omitempty"`
	Claims   *attest.Claims    `json:"cofre.claims"`
	Reasons  []appraise.Reason `json:"cofre.reasons,omitempty"`
}

// encodePayload renders validated claims as the JWT payload. Members are
// emitted in sorted order (a map), so equal claims give equal bytes.
func encodePayload(c *Claims) ([]byte, error) {
	p := map[string]any{
		claimIssuer:     c.Issuer,
		claimIssuedAt:   c.IssuedAt.Unix(),
		claimExpiry:     c.Expiry.Unix(),
		claimProfile:    EATProfile,
		claimVerifierID: wireVerifierID{Developer: Developer, Build: c.VerifierID},
		claimTEE:        c.TEE().String(),
		claimSimulation: c.Simulation(),
		claimDraft:      c.Draft,
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		p[claimAudience] = c.Audience[0] // RFC 7519 §4.1.3: a single audience may be a string
	default:
		p[claimAudience] = c.Audience
	}
	if len(c.Nonce) > 0 {
		p[claimNonce] = b64.EncodeToString(c.Nonce)
	}
	subs := make(map[string]wireSubmod, len(c.Submods))
	for name, s := range c.Submods {
		subs[name] = wireSubmod(s)
	}
	p[claimSubmods] = subs
	if cf := c.Confirmation; cf != nil {
		if len(cf.JWK) > 0 {
			p[claimCnf] = map[string]json.RawMessage{cnfJWK: cf.JWK}
		} else {
			p[claimCnf] = map[string]string{cnfX5tS256: cf.X5tS256}
		}
	}
	if len(c.Runtime) > 0 {
		p[claimRuntime] = c.Runtime
	}
	if c.EncryptionKey {
		p[claimEncryption] = true
	}
	if c.Profile == ProfileMAA {
		for k, v := range maaClaims(c) {
			if _, clash := p[k]; clash {
				return nil, fmt.Errorf("token: maa claim %q clashes with an EAR claim", k)
			}
			p[k] = v
		}
	}
	return json.Marshal(p)
}

// payload is a decoded payload: the claims and what Verify checks that
// Claims does not keep.
type payload struct {
	claims    *Claims
	notBefore time.Time // zero without nbf
}

// decodePayload parses and type-checks a payload. It refuses (ErrMalformed)
// anything that does not parse, a required claim that is missing, a claim of
// the wrong type, and claims that contradict each other (cofre.tee or
// cofre.simulation disagreeing with the submodules). Unknown claims are
// ignored. It judges nothing: validity times, issuer, status and so on are
// Verify's.
func decodePayload(b []byte) (*payload, error) {
	o, err := parseObject(b)
	if err != nil {
		return nil, malformed("payload", err)
	}
	r := &reader{o: o}
	c := &Claims{}
	p := &payload{claims: c}
	before := len(r.errs)
	c.Issuer = r.str(claimIssuer, true)
	if len(r.errs) == before && c.Issuer == "" {
		r.fail(malformedf(claimIssuer, "empty"))
	}
	c.Audience = r.audience()
	c.IssuedAt = r.time(claimIssuedAt, true)
	c.Expiry = r.time(claimExpiry, true)
	p.notBefore = r.time(claimNotBefore, false)
	if prof := r.str(claimProfile, true); r.o.has(claimProfile) && prof != EATProfile {
		r.fail(refuse(ErrMalformed, claimProfile, EATProfile, prof))
	}
	if before := len(r.errs); r.o.has(claimNonce) {
		s := r.str(claimNonce, false)
		n, err := b64.DecodeString(s)
		switch {
		case len(r.errs) > before: // not a string; reported
		case err != nil:
			r.fail(malformed(claimNonce, fmt.Errorf("not base64url: %w", err)))
		case len(n) < minNonceSize || len(n) > maxNonceSize:
			r.fail(malformedf(claimNonce, "%d bytes, want %d to %d", len(n), minNonceSize, maxNonceSize))
		default:
			c.Nonce = n
		}
	}
	if raw, ok := r.obj(claimVerifierID, true); ok {
		var vid wireVerifierID
		if err := decodeStrict(raw, &vid); err != nil {
			r.fail(malformed(claimVerifierID, err))
		}
		c.VerifierID = vid.Build
	}
	if raw, ok := r.obj(claimSubmods, true); ok {
		c.Submods = r.submods(raw)
	}
	if raw, ok := r.obj(claimCnf, false); ok {
		cf, err := decodeCnf(raw)
		if err != nil {
			r.fail(malformed(claimCnf, err))
		}
		c.Confirmation = cf
	}
	if raw, ok := r.obj(claimRuntime, false); ok {
		c.Runtime = r.runtime(raw)
	}
	tee := r.str(claimTEE, true)
	sim := r.boolean(claimSimulation)
	c.Draft = r.boolean(claimDraft)
	c.EncryptionKey = r.boolean(claimEncryption)
	if r.o.has(maaAttestationType) {
		c.Profile = ProfileMAA
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	// Consistency: the plain-language claims must say what the submodules
	// say. A relying party that reads only cofre.tee or cofre.simulation
	// (a browser, a shell script) must not be told less than Verify sees.
	if got := c.TEE().String(); tee != got {
		r.fail(refuse(ErrMalformed, claimTEE, got+" (cpu0's TEE)", tee))
	}
	if sim != c.Simulation() {
		r.fail(refuse(ErrMalformed, claimSimulation, fmt.Sprint(c.Simulation())+" (from the submodules)", fmt.Sprint(sim)))
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return p, nil
}

func decodeCnf(raw json.RawMessage) (*Confirmation, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("has %d members, want exactly one of jwk, x5t#S256", len(m))
	}
	cf := &Confirmation{}
	switch {
	case m[cnfJWK] != nil:
		cf.JWK = m[cnfJWK]
	case m[cnfX5tS256] != nil:
		if err := json.Unmarshal(m[cnfX5tS256], &cf.X5tS256); err != nil {
			return nil, fmt.Errorf("x5t#S256: %w", err)
		}
	default:
		for k := range m {
			return nil, fmt.Errorf("unsupported confirmation method %q", clip(k))
		}
	}
	if err := cf.validate(); err != nil {
		return nil, err
	}
	return cf, nil
}

// reader decodes members of an object, collecting every problem.
type reader struct {
	o    object
	path string // prefix for check names, e.g. "submods.cpu0."
	errs []error
}

func (r *reader) fail(err error) { r.errs = append(r.errs, err) }

func (r *reader) missing(name string) {
	r.fail(refuse(ErrMalformed, r.path+name, "present", "absent"))
}

// kind returns the JSON kind of a raw value by its first byte.
func kind(raw json.RawMessage) byte {
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		return '0'
	default:
		return c
	}
}

func (r *reader) wrongType(name, want string) {
	r.fail(refuse(ErrMalformed, r.path+name, want, "another JSON type"))
}

func (r *reader) str(name string, required bool) string {
	raw, ok := r.o[name]
	if !ok {
		if required {
			r.missing(name)
		}
		return ""
	}
	var s string
	if kind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		r.wrongType(name, "a string")
		return ""
	}
	return s
}

func (r *reader) boolean(name string) bool {
	raw, ok := r.o[name]
	if !ok {
		return false
	}
	var v bool
	if (kind(raw) != 't' && kind(raw) != 'f') || json.Unmarshal(raw, &v) != nil {
		r.wrongType(name, "true or false")
	}
	return v
}

// time decodes a NumericDate. cofre issues whole seconds; a fraction or a
// value outside 1..2^40 is refused.
func (r *reader) time(name string, required bool) time.Time {
	raw, ok := r.o[name]
	if !ok {
		if required {
			r.missing(name)
		}
		return time.Time{}
	}
	var n json.Number
	if kind(raw) != '0' || json.Unmarshal(raw, &n) != nil {
		r.wrongType(name, "a NumericDate")
		return time.Time{}
	}
	v, err := n.Int64()
	if err != nil || v <= 0 || v > 1<<40 {
		r.fail(refuse(ErrMalformed, r.path+name, "whole seconds since 1970", n.String()))
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

// obj returns a member that must be a JSON object.
func (r *reader) obj(name string, required bool) (json.RawMessage, bool) {
	raw, ok := r.o[name]
	if !ok {
		if required {
			r.missing(name)
		}
		return nil, false
	}
	if kind(raw) != '{' {
		r.wrongType(name, "an object")
		return nil, false
	}
	return raw, true
}

// audience decodes aud: a string or an array of strings (RFC 7519 §4.1.3).
func (r *reader) audience() []string {
	raw, ok := r.o[claimAudience]
	if !ok {
		return nil
	}
	switch kind(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []string{s}
		}
	case '[':
		var l []string
		if json.Unmarshal(raw, &l) == nil {
			if len(l) == 0 || len(l) > maxAudiences {
				r.fail(malformedf(claimAudience, "%d audiences, want 1 to %d", len(l), maxAudiences))
				return nil
			}
			return l
		}
	}
	r.wrongType(claimAudience, "a string or an array of strings")
	return nil
}

func (r *reader) submods(raw json.RawMessage) map[string]Submod {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		r.fail(malformed(claimSubmods, err))
		return nil
	}
	if len(m) == 0 || len(m) > maxSubmods {
		r.fail(malformedf(claimSubmods, "%d submodules, want 1 to %d", len(m), maxSubmods))
		return nil
	}
	if _, ok := m[PrimarySubmod]; !ok {
		r.fail(refuse(ErrMalformed, claimSubmods, "a "+PrimarySubmod+" submodule", "none"))
	}
	out := make(map[string]Submod, len(m))
	for name, sraw := range m {
		if err := checkSubmodName(name); err != nil {
			r.fail(malformed(claimSubmods, err))
			continue
		}
		sr := &reader{path: claimSubmods + "." + name + "."}
		if kind(sraw) != '{' || json.Unmarshal(sraw, &sr.o) != nil {
			r.wrongType(claimSubmods+"."+name, "an object")
			continue
		}
		s := sr.submod()
		r.errs = append(r.errs, sr.errs...)
		out[name] = s
	}
	return out
}

func checkSubmodName(name string) error {
	if len(name) > maxSubmodName || !submodNameRE.MatchString(name) {
		return fmt.Errorf("submodule name %q: want %s, at most %d bytes", clip(name), submodNameRE, maxSubmodName)
	}
	return nil
}

func (r *reader) submod() Submod {
	var s Submod
	if raw, ok := r.o[submodStatus]; !ok {
		r.missing(submodStatus)
	} else if err := json.Unmarshal(raw, &s.Status); err != nil {
		r.fail(refuse(ErrMalformed, r.path+submodStatus, "affirming, warning, contraindicated or none", strings.TrimSpace(string(raw))))
	}
	if raw, ok := r.obj(submodVector, false); ok {
		if err := decodeStrict(raw, &s.Vector); err != nil {
			r.fail(malformed(r.path+submodVector, err))
		}
	}
	s.PolicyID = r.str(submodPolicyID, false)
	if raw, ok := r.obj(submodClaims, true); ok {
		var c attest.Claims
		if err := json.Unmarshal(raw, &c); err != nil {
			r.fail(malformed(r.path+submodClaims, err))
		} else if !validTEE(c.TEE) {
			r.fail(refuse(ErrMalformed, r.path+submodClaims+".tee", "a TEE", c.TEE.String()))
		} else if c.TCBStatus == attest.TCBStatusInvalid {
			r.fail(refuse(ErrMalformed, r.path+submodClaims+".tcb_status", "a TCB status", "absent"))
		} else {
			s.Claims = &c
		}
	}
	if raw, ok := r.o[submodReasons]; ok {
		if kind(raw) != '[' || json.Unmarshal(raw, &s.Reasons) != nil {
			r.wrongType(submodReasons, "an array of reasons")
		} else if len(s.Reasons) > maxReasons {
			r.fail(malformedf(r.path+submodReasons, "%d reasons, limit %d", len(s.Reasons), maxReasons))
		}
	}
	return s
}
