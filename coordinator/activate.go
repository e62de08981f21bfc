package coordinator

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/internal/challenge"
	"github.com/cofre-cc/cofre/manifest"
	"github.com/cofre-cc/cofre/token"
)

// instanceRecord is what the coordinator keeps of an admitted instance:
// enough to count live instances and to renew its certificate.
type instanceRecord struct {
	Service string    `json:"service"`
	Version uint64    `json:"version"` // manifest version it was admitted under
	Expires time.Time `json:"expires"` // of its latest certificate
	Serial  string    `json:"serial"`  // of its latest certificate, hex
	// Deadline ends renewals: the instance must activate again, with fresh
	// evidence, by then (MaxInstanceLife, or earlier if its appraisal
	// leaned on a toleration that expires sooner).
	Deadline time.Time `json:"deadline"`
	// Submods is the appraisal of its activation, as the activation
	// token's submods claim (token.MarshalSubmods): further tokens for the
	// instance (WorkloadToken) carry it unchanged. Bounded by
	// token.MaxTokenSize, since the activation token holding it was; in
	// practice 1–8 KiB. Absent in records of instances activated before
	// workload tokens existed: those activate again.
	Submods json.RawMessage `json:"submods,omitempty"`
}

// workloadTEEs are the TEEs whose evidence may be an activation's main
// piece.
var workloadTEEs = []attest.TEE{attest.TEESEVSNP, attest.TEETDX, attest.TEESGX, attest.TEESim}

// toleratedUntil returns the earlier of deadline and the expiry of every
// toleration res relied on: an admission that needed a toleration lasts
// no longer than the toleration.
func toleratedUntil(p *appraise.Policy, res *appraise.Result, deadline time.Time) time.Time {
	for _, r := range res.Reasons {
		if r.Toleration == "" {
			continue
		}
		for _, t := range p.Tolerations {
			if t.Field == r.Field && (t.Value == "" || t.Value == r.Actual) && t.Expires.Before(deadline) {
				deadline = t.Expires.Time
			}
		}
	}
	return deadline
}

// Challenge returns a fresh activation nonce.
func (c *Coordinator) Challenge() api.Challenge {
	n, exp := c.challenges.Issue(c.now())
	return api.Challenge{Nonce: n[:], Expires: exp}
}

// Activate admits one instance of a service, or refuses it with every
// reason: the nonce must be fresh and unused, the evidence genuine and
// bound to (nonce, CSR key, workload digest), its appraisal against the
// service's package accepted, the workload digest listed (if the service
// lists digests), and the service below its instance cap.
func (c *Coordinator) Activate(ctx context.Context, req *api.ActivateRequest) (*api.ActivateResponse, error) {
	ev := &Event{Kind: EventActivate, Manifest: clipName(req.Manifest), Service: clipName(req.Service), Format: clipName(req.Evidence.Format)}
	if len(req.WorkloadDigest) == sha256.Size {
		ev.WorkloadDigest = hex.EncodeToString(req.WorkloadDigest)
	}
	resp, err := c.activate(ctx, req, ev)
	ev.fail(err)
	c.metrics.activation(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return resp, err
}

func (c *Coordinator) activate(ctx context.Context, req *api.ActivateRequest, ev *Event) (*api.ActivateResponse, error) {
	now := c.now()
	l, err := c.manifest(req.Manifest)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == api.CodeNotFound {
			return nil, refused([]api.Reason{{Check: "manifest", Actual: clip(req.Manifest)}}, "unknown manifest %q", clip(req.Manifest))
		}
		return nil, err
	}
	ev.Version, ev.ManifestSHA256 = l.m.Version, l.info.SHA256
	svc, ok := l.m.Services[req.Service]
	if !ok {
		return nil, refused([]api.Reason{{Check: "service", Actual: clip(req.Service)}}, "manifest %q has no service %q", l.m.Name, clip(req.Service))
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, badRequest("csr: %s", clip(err.Error()))
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, badRequest("csr: signature: %s", clip(err.Error()))
	}
	if token.SubmodKind(req.Evidence.Format) == "gpu" {
		return nil, badRequest("%s evidence attests a GPU: send it in parts, next to the CPU TEE's evidence", clip(req.Evidence.Format))
	}
	if len(req.Parts) > maxParts {
		return nil, badRequest("%d parts, limit %d", len(req.Parts), maxParts)
	}
	if len(req.WorkloadDigest) != sha256.Size {
		return nil, badRequest("workload_digest: %d bytes, want %d", len(req.WorkloadDigest), sha256.Size)
	}

	// Genuineness and binding of every piece of evidence.
	opts := attest.Options{Now: now, Collateral: c.cfg.Collateral}
	pieces := append([]api.Evidence{req.Evidence}, req.Parts...)
	partFormats := make([]string, len(req.Parts))
	for i, p := range req.Parts {
		partFormats[i] = p.Format
	}
	names := token.SubmodNames(partFormats)
	submodName := func(i int) string { return names[i] }
	claims := make([]*attest.Claims, len(pieces))
	var reasons []api.Reason
	for i, p := range pieces {
		sub := submodName(i)
		cl, err := c.cfg.Registry.Verify(ctx, attest.Evidence{Format: p.Format, Payload: p.Data}, opts)
		if err != nil {
			reasons = append(reasons, checkReasons(sub+": ", err)...)
			continue
		}
		claims[i] = cl
		// The workload digest is bound by the CPU evidence; a part (a GPU)
		// binds the nonce and key only.
		digest := []byte(req.WorkloadDigest)
		if i > 0 {
			digest = nil
		}
		if err := attest.CheckBinding(cl, req.Nonce, csr.RawSubjectPublicKeyInfo, digest); err != nil {
			reasons = append(reasons, checkReasons(sub+": ", err)...)
		}
	}
	if len(reasons) > 0 {
		return nil, refused(reasons, "evidence refused")
	}
	// The nonce is spent only by evidence that binds it: spending it
	// first would let anyone fill the used-nonce memory with bare
	// requests and lock every workload out.
	if err := c.challenges.Consume(req.Nonce, now); err != nil {
		if errors.Is(err, challenge.ErrTooMany) {
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: api.CodeInternal, Message: "too many activations in flight; retry shortly"}
		}
		reason := "unknown, forged or already used"
		if errors.Is(err, challenge.ErrExpired) {
			reason = "expired"
		}
		return nil, refused([]api.Reason{{Check: "nonce", Actual: reason}}, "the activation nonce is %s: ask for a new challenge", reason)
	}
	primary := claims[0]
	ev.TEE, ev.Measurement = primary.TEE.String(), primary.Measurement.String()
	for _, cl := range claims {
		ev.Simulation = ev.Simulation || cl.TEE == attest.TEESim
	}
	// The main evidence must come from a CPU TEE that isolates the
	// workload: a GPU or a (hypervisor-run) vTPM alone does not.
	if !slices.Contains(workloadTEEs, primary.TEE) {
		return nil, refused([]api.Reason{{Check: "cpu0: tee", Field: "tee", Expected: "sevsnp, tdx, sgx or sim", Actual: primary.TEE.String()}}, "the main evidence does not attest a workload TEE")
	}

	// Appraisal under the service's package.
	policy := l.policies[svc.Package]
	submods := make(map[string]token.Submod, len(claims))
	deadline := now.Add(c.cfg.MaxInstanceLife)
	for i, cl := range claims {
		res := appraise.Appraise(cl, policy, now)
		submods[submodName(i)] = token.NewSubmod(cl, res)
		deadline = toleratedUntil(policy, res, deadline)
		if !res.Accepted() {
			for _, r := range res.Reasons {
				if r.Tier == ear.TrustTierContraindicated || r.Tier == ear.TrustTierNone {
					reasons = append(reasons, api.Reason{Check: submodName(i) + ": appraisal", Field: r.Field, Expected: r.Expected, Actual: r.Actual})
				}
			}
			if len(reasons) == 0 {
				reasons = append(reasons, api.Reason{Check: submodName(i) + ": appraisal", Actual: res.Status.String()})
			}
		}
	}
	if len(svc.WorkloadDigests) > 0 && !slices.ContainsFunc(svc.WorkloadDigests, func(h attest.Hex) bool { return bytes.Equal(h, req.WorkloadDigest) }) {
		reasons = append(reasons, api.Reason{Check: "workload digest", Field: "workload_digest", Expected: "one of services." + req.Service + ".workload_digests", Actual: hex.EncodeToString(req.WorkloadDigest)})
	}
	if len(reasons) > 0 {
		return nil, refused(reasons, "appraisal under policy %q refused the evidence", policy.Name)
	}
	tc := &token.Claims{Submods: submods}
	status := tc.Status()
	ev.Status = status.String()

	// Identity, secrets, configuration.
	instance := newInstanceID()
	id := pki.SPIFFEID{TrustDomain: c.cfg.TrustDomain, Manifest: l.m.Name, Service: req.Service, Instance: instance}
	ev.Instance, ev.SPIFFEID = instance, id.String()
	leaf, err := l.inter.IssueWorkload(csr, id, nil, nil, now, min(c.cfg.CertLifetime, deadline.Sub(now)))
	if err != nil {
		var ke *pki.KeyError
		if errors.As(err, &ke) {
			return nil, badRequest("csr: %s", clip(err.Error()))
		}
		c.log.Error("issue workload certificate", "err", err)
		return nil, errInternal
	}
	ev.Serial = leaf.SerialNumber.Text(16)
	vals := &renderValues{c: c, l: l, now: now, host: req.HostParams,
		workload: manifest.WorkloadValues{Cert: leaf, Chain: []*x509.Certificate{l.inter.Certificate()}, Roots: []*x509.Certificate{l.mroot.Certificate()}, SPIFFEID: id.String()}}
	rendered, err := l.m.Render(req.Service, vals)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, badRequest("configuration: %s", clip(err.Error()))
	}
	volumes, err := c.volumes(l, svc)
	if err != nil {
		return nil, err
	}
	pub := csr.PublicKey
	cnf, err := token.ConfirmationForKey(pub)
	if err != nil {
		return nil, badRequest("csr key: %s", clip(err.Error()))
	}
	tc.Issuer, tc.IssuedAt, tc.Expiry = c.cfg.Issuer, now, now.Add(c.cfg.TokenLifetime)
	tc.Nonce, tc.VerifierID, tc.Confirmation = req.Nonce, c.cfg.VerifierID, cnf
	tok, err := c.issuer.Issue(tc)
	if err != nil {
		c.log.Error("issue workload token", "err", err)
		return nil, errInternal
	}
	storedSubmods, err := token.MarshalSubmods(submods)
	if err != nil {
		c.log.Error("encode workload appraisal", "err", err)
		return nil, errInternal
	}

	// Last, the instance slot: counted and taken in one transaction.
	rec := instanceRecord{Service: req.Service, Version: l.m.Version, Expires: leaf.NotAfter, Serial: ev.Serial, Deadline: deadline, Submods: storedSubmods}
	if err := c.admit(l.m.Name, instance, rec, svc.MaxInstances, now); err != nil {
		return nil, err
	}
	return &api.ActivateResponse{
		Instance:    instance,
		SPIFFEID:    id.String(),
		Certificate: leaf.Raw,
		Chain:       [][]byte{l.inter.Certificate().Raw},
		Root:        l.mroot.Certificate().Raw,
		Expires:     leaf.NotAfter,
		Config: api.Config{
			Command:   rendered.Command,
			Env:       rendered.Env,
			Files:     rendered.Files,
			KeyFiles:  rendered.KeyFiles,
			Volumes:   volumes,
			KMSGrants: slices.Clone(svc.KMSGrants),
		},
		Token:      tok,
		Status:     status.String(),
		Simulation: ev.Simulation,
	}, nil
}

func newInstanceID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// admit takes an instance slot. Instances whose certificate expired no
// longer count: a crashed workload frees its slot when its certificate
// lapses (CertLifetime), not never.
func (c *Coordinator) admit(manifestName, instance string, rec instanceRecord, max int, now time.Time) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ns := store.Manifest(manifestName)
	var capErr *Error
	err = c.store.Batch(func(tx *store.Tx) error {
		capErr = nil
		if max > 0 {
			live := 0
			var expired []string
			if err := tx.ForEach(ns, tableInstances, func(k string, v []byte) error {
				var r instanceRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("instance %s: %w", k, err)
				}
				switch {
				case !r.Expires.After(now):
					expired = append(expired, k)
				case r.Service == rec.Service:
					live++
				}
				return nil
			}); err != nil {
				return err
			}
			for _, k := range expired {
				if err := tx.Delete(ns, tableInstances, k); err != nil {
					return err
				}
			}
			if live >= max {
				capErr = refused([]api.Reason{{Check: "max instances", Field: "services." + rec.Service + ".max_instances", Expected: "< " + strconv.Itoa(max), Actual: strconv.Itoa(live)}},
					"service %q already runs %d of %d instances", rec.Service, live, max)
				return nil
			}
		}
		return tx.Put(ns, tableInstances, instance, b)
	})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return locked(manifestName)
		}
		c.log.Error("store instance", "err", err)
		return errInternal
	}
	if capErr != nil {
		return capErr
	}
	return nil
}

// volumes returns the keys of the service's encrypted volumes.
func (c *Coordinator) volumes(l *loaded, svc manifest.Service) (map[string]api.Volume, error) {
	if len(svc.Volumes) == 0 {
		return nil, nil
	}
	out := make(map[string]api.Volume, len(svc.Volumes))
	for _, name := range slices.Sorted(maps.Keys(svc.Volumes)) {
		v := svc.Volumes[name]
		val, err := c.secretValue(l, v.Key, nil)
		if err != nil {
			return nil, err
		}
		if len(val.Bytes) != 32 {
			return nil, forbidden("volume %q: key secret %q is %d bytes, want 32", name, v.Key, len(val.Bytes))
		}
		out[name] = api.Volume{Path: v.Path, Key: slices.Clone(val.Bytes), Scratch: v.Scratch}
	}
	return out, nil
}
