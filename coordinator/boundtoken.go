package coordinator

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/token"
)

// WorkloadToken issues a live instance a further token: the appraisal of
// its activation (the same submods), bound (cnf) to another public key the
// instance holds, with runtime claims it reports (token.Claims.Runtime).
//
// Why: the activation token binds the instance's TLS certificate key, an
// ECDSA signing key. Relying parties also encrypt to the instance (HPKE,
// X25519 or P-256 ECDH), and one key must not serve both signing and key
// agreement. An instance makes that second key inside its TEE and asks
// here for a token naming it.
//
// Why this is sound without new evidence: the caller authenticates with
// the certificate activation issued (mutual TLS), whose private key never
// left the attested instance; the same checks as the KMS apply (a live
// instance, its current certificate, the manifest version it was admitted
// under, c.workload), and the renewal deadline too. So whoever asks is the
// attested code, and the key it names is one that code chose. The runtime
// claims are what that code says of itself, checked for bounds only: the
// token marks them as self-reported (cofre.runtime), and they are worth
// what the measured code that reports them is worth.
//
// The token expires at the earliest of TokenLifetime, the certificate's
// expiry and the instance's deadline: it never outlives the identity it
// was issued on.
func (c *Coordinator) WorkloadToken(ctx context.Context, req *api.WorkloadTokenRequest, chain []*x509.Certificate) (*api.WorkloadTokenResponse, error) {
	ev := &Event{Kind: EventWorkloadToken}
	resp, err := c.workloadToken(req, chain, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return resp, err
}

func (c *Coordinator) workloadToken(req *api.WorkloadTokenRequest, chain []*x509.Certificate, ev *Event) (*api.WorkloadTokenResponse, error) {
	l, id, rec, err := c.workload(chain)
	ev.Manifest, ev.Service, ev.Instance = id.Manifest, id.Service, id.Instance
	if err != nil {
		return nil, err
	}
	ev.SPIFFEID, ev.Version, ev.ManifestSHA256 = id.String(), l.m.Version, l.info.SHA256
	now := c.now()
	if !rec.Deadline.After(now) {
		return nil, unauthorized("instance %s reached its deadline (%s): activate again with fresh evidence", id.Instance, rec.Deadline.UTC().Format(time.RFC3339))
	}
	if len(rec.Submods) == 0 {
		return nil, conflict("instance %s was activated before workload tokens existed: activate again", id.Instance)
	}

	// The request: every problem, each named.
	var reasons []api.Reason
	cnf, err := token.ParseConfirmationJWK(req.PublicKey)
	var pub crypto.PublicKey
	if err == nil {
		pub, err = cnf.PublicKey()
	}
	switch {
	case len(req.PublicKey) == 0:
		reasons = append(reasons, api.Reason{Check: "public_key", Expected: "a public JWK", Actual: "absent"})
	case err != nil:
		reasons = append(reasons, api.Reason{Check: "public_key", Expected: "a public JWK of an allowed type and size", Actual: clip(err.Error())})
	case sameKey(pub, chain[0].PublicKey):
		// A relying party would then encrypt to the TLS signing key:
		// key reuse across signing and key agreement, which this
		// endpoint exists to avoid. The activation token binds it already.
		reasons = append(reasons, api.Reason{Check: "public_key", Expected: "a key other than the certificate's", Actual: "the certificate's key"})
	}
	for _, e := range flatten(token.CheckRuntime(req.Runtime)) {
		reasons = append(reasons, api.Reason{Check: "runtime", Actual: clip(e.Error())})
	}
	if n := len(req.Nonce); n != 0 && (n < minTokenNonce || n > maxTokenNonce) {
		reasons = append(reasons, api.Reason{Check: "nonce", Expected: fmt.Sprintf("%d to %d bytes", minTokenNonce, maxTokenNonce), Actual: fmt.Sprintf("%d bytes", n)})
	}
	if len(reasons) > 0 {
		return nil, invalid(reasons, "workload token request refused")
	}

	subs, err := token.ParseSubmods(rec.Submods)
	if err != nil {
		// The record came from the sealed store, written at activation.
		c.log.Error("read instance appraisal", "instance", id.Instance, "err", err)
		return nil, errInternal
	}
	exp := tokenExpiry(now, c.cfg.TokenLifetime, chain[0].NotAfter, rec.Deadline)
	if exp.Unix() <= now.Unix() {
		// Tokens count whole seconds: one that expires within the second
		// it is issued in cannot be written.
		return nil, unauthorized("instance %s: its certificate expires within a second: renew first", id.Instance)
	}
	tc := &token.Claims{
		Issuer: c.cfg.Issuer, IssuedAt: now, Expiry: exp, Nonce: req.Nonce, VerifierID: c.cfg.VerifierID,
		Submods: subs, Confirmation: cnf, Runtime: req.Runtime, EncryptionKey: true,
	}
	ev.Status, ev.Simulation = tc.Status().String(), tc.Simulation()
	if cpu := subs[token.PrimarySubmod].Claims; cpu != nil {
		ev.TEE, ev.Measurement, ev.Format = cpu.TEE.String(), cpu.Measurement.String(), cpu.Format
	}
	if spki, err := x509.MarshalPKIXPublicKey(pub); err == nil {
		sum := sha256.Sum256(spki)
		ev.KeySHA256 = hex.EncodeToString(sum[:])
	}
	if len(req.Runtime) > 0 {
		b, err := json.Marshal(req.Runtime) // names sorted: the same claims give the same hash
		if err != nil {
			return nil, errInternal
		}
		sum := sha256.Sum256(b)
		ev.RuntimeSHA256 = hex.EncodeToString(sum[:])
	}
	tok, err := c.issuer.Issue(tc)
	if err != nil {
		c.log.Error("issue workload token", "instance", id.Instance, "err", err)
		return nil, errInternal
	}
	return &api.WorkloadTokenResponse{Token: tok, Expires: time.Unix(exp.Unix(), 0).UTC()}, nil
}

// sameKey reports whether two public keys are equal.
func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// invalid is a bad request with one reason per problem.
func invalid(reasons []api.Reason, format string, args ...any) *Error {
	e := badRequest(format, args...)
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons:maxReasons], api.Reason{Check: fmt.Sprintf("and %d more", len(reasons)-maxReasons)})
	}
	e.Reasons = reasons
	return e
}

// flatten returns the errors joined in err (errors.Join), or err alone.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
