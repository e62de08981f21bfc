package coordinator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/manifest"
	"github.com/cofre-cc/cofre/token"
)

// KMS operations (Event.Op).
const (
	OpWrap     = "wrap"
	OpUnwrap   = "unwrap"
	OpGenerate = "generate-data-key"
)

// wrappedPrefix starts every wrapped key: it names the format, so a
// future format (a master key rotation) can live beside this one.
//
//	"cofre-kms-v1." base64url(nonce[12] ‖ AES-256-GCM(master, plaintext, aad))
//	aad = "cofre-kms-v1" 0x00 manifest 0x00 key-name
//
// The associated data binds the wrapped key to its manifest and master
// key name, so a wrapped key cannot be replayed under another grant.
const wrappedPrefix = "cofre-kms-v1."

// workload authenticates a workload by its certificate chain (leaf first):
// it must chain to the root through the manifest's CURRENT intermediate
// (after an update, workloads re-activate), and name a live instance.
func (c *Coordinator) workload(chain []*x509.Certificate) (*loaded, pki.SPIFFEID, *instanceRecord, error) {
	if len(chain) == 0 {
		return nil, pki.SPIFFEID{}, nil, unauthorized("a workload client certificate is required")
	}
	now := c.now()
	// The leaf names its manifest; the chain is then verified against
	// that manifest's root, so a name it claims is only a lookup key.
	claimed, err := leafSPIFFEID(chain[0])
	if err != nil {
		return nil, pki.SPIFFEID{}, nil, unauthorized("workload certificate: %s", clip(err.Error()))
	}
	l, err := c.manifest(claimed.Manifest)
	if err != nil {
		return nil, pki.SPIFFEID{}, nil, unauthorized("workload certificate: %s", clip(err.Error()))
	}
	id, err := pki.VerifyWorkload(chain, l.mroot.Certificate(), now)
	if err != nil {
		return nil, pki.SPIFFEID{}, nil, unauthorized("workload certificate: %s", clip(err.Error()))
	}
	// The leaf itself must be signed by the manifest's current
	// intermediate: what the chain presents next to it proves nothing (a
	// client may send any certificates), and after an update only the
	// new version's workloads are admitted.
	if err := chain[0].CheckSignatureFrom(l.inter.Certificate()); err != nil {
		return nil, id, nil, unauthorized("workload certificate: not issued under manifest %q version %d: activate again", id.Manifest, l.m.Version)
	}
	var rec instanceRecord
	err = c.store.View(func(tx *store.Tx) error {
		b, err := tx.Get(store.Manifest(id.Manifest), tableInstances, id.Instance)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, id, nil, unauthorized("instance %s is not admitted", id.Instance)
	case err != nil:
		c.log.Error("read instance", "err", err)
		return nil, id, nil, errInternal
	}
	switch {
	case rec.Service != id.Service, rec.Version != l.m.Version:
		return nil, id, nil, unauthorized("instance %s was not admitted under manifest %q version %d: activate again", id.Instance, id.Manifest, l.m.Version)
	case rec.Serial != chain[0].SerialNumber.Text(16):
		return nil, id, nil, unauthorized("instance %s: this certificate was superseded by a renewal", id.Instance)
	case !rec.Expires.After(now):
		return nil, id, nil, unauthorized("instance %s is not live", id.Instance)
	}
	return l, id, &rec, nil
}

func leafSPIFFEID(leaf *x509.Certificate) (pki.SPIFFEID, error) {
	if len(leaf.URIs) != 1 {
		return pki.SPIFFEID{}, fmt.Errorf("%d URI SANs, want 1", len(leaf.URIs))
	}
	return pki.ParseSPIFFEID(leaf.URIs[0].String())
}

// KMS performs a wrap, unwrap or generate-data-key for a workload whose
// service is granted the master key.
func (c *Coordinator) KMS(ctx context.Context, op string, req *api.KMSRequest, chain []*x509.Certificate) (*api.KMSResponse, error) {
	ev := &Event{Kind: EventKMS, Op: op, Key: clipName(req.Key)}
	resp, err := c.kms(op, req, chain, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return resp, err
}

func (c *Coordinator) kms(op string, req *api.KMSRequest, chain []*x509.Certificate, ev *Event) (*api.KMSResponse, error) {
	l, id, _, err := c.workload(chain)
	ev.Manifest, ev.Service, ev.Instance = id.Manifest, id.Service, id.Instance
	if err != nil {
		return nil, err
	}
	svc := l.m.Services[id.Service]
	if !slices.Contains(svc.KMSGrants, req.Key) {
		return nil, forbidden("service %q has no grant for master key %q", id.Service, clip(req.Key))
	}
	s := l.m.Secrets[req.Key]
	if s.Kind != manifest.KindParquetMasterKey && s.Kind != manifest.KindSymmetric || !shared(s) {
		return nil, forbidden("secret %q is not a shared master key", req.Key)
	}
	master, err := c.secretValue(l, req.Key, nil)
	if err != nil {
		return nil, err
	}
	if n := len(master.Bytes); n != 16 && n != 24 && n != 32 {
		return nil, forbidden("secret %q is not an AES key", req.Key)
	}
	block, err := aes.NewCipher(master.Bytes)
	if err != nil {
		return nil, forbidden("secret %q is not an AES key", req.Key)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errInternal
	}
	aad := []byte("cofre-kms-v1\x00" + l.m.Name + "\x00" + req.Key)
	wrap := func(pt []byte) string {
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pt)+aead.Overhead())
		rand.Read(nonce)
		return wrappedPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, pt, aad))
	}
	switch op {
	case OpWrap:
		if len(req.Plaintext) == 0 || len(req.Plaintext) > maxKMSPlaintext {
			return nil, badRequest("plaintext: %d bytes, want 1 to %d", len(req.Plaintext), maxKMSPlaintext)
		}
		return &api.KMSResponse{Wrapped: wrap(req.Plaintext), KeyVersion: 1}, nil
	case OpGenerate:
		size := req.Size
		if size == 0 {
			size = 32
		}
		if size != 16 && size != 24 && size != 32 {
			return nil, badRequest("size: %d, want 16, 24 or 32", size)
		}
		dk := make([]byte, size)
		rand.Read(dk)
		return &api.KMSResponse{Plaintext: dk, Wrapped: wrap(dk), KeyVersion: 1}, nil
	case OpUnwrap:
		rest, ok := strings.CutPrefix(req.Wrapped, wrappedPrefix)
		if !ok || len(req.Wrapped) > maxWrapped {
			return nil, badRequest("wrapped: not a cofre-kms-v1 wrapped key")
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
			return nil, badRequest("wrapped: not a cofre-kms-v1 wrapped key")
		}
		pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad)
		if err != nil {
			return nil, forbidden("wrapped key does not open under master key %q of manifest %q (another key, another manifest, or altered)", req.Key, l.m.Name)
		}
		return &api.KMSResponse{Plaintext: pt, KeyVersion: 1}, nil
	}
	return nil, notFound("no KMS operation %q", op)
}

// Renew issues a new certificate to a live instance, before its current
// one expires, for the key in the CSR.
func (c *Coordinator) Renew(ctx context.Context, req *api.RenewRequest, chain []*x509.Certificate) (*api.RenewResponse, error) {
	ev := &Event{Kind: EventRenew}
	resp, err := c.renew(req, chain, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return resp, err
}

func (c *Coordinator) renew(req *api.RenewRequest, chain []*x509.Certificate, ev *Event) (*api.RenewResponse, error) {
	l, id, rec, err := c.workload(chain)
	ev.Manifest, ev.Service, ev.Instance, ev.SPIFFEID = id.Manifest, id.Service, id.Instance, id.String()
	if err != nil {
		return nil, err
	}
	now := c.now()
	if !rec.Deadline.After(now) {
		return nil, unauthorized("instance %s reached its renewal deadline (%s): activate again with fresh evidence", id.Instance, rec.Deadline.UTC().Format(time.RFC3339))
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, badRequest("csr: %s", clip(err.Error()))
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, badRequest("csr: signature: %s", clip(err.Error()))
	}
	// The evidence bound one key: renewal certifies that key and no other.
	if !bytes.Equal(csr.RawSubjectPublicKeyInfo, chain[0].RawSubjectPublicKeyInfo) {
		return nil, badRequest("csr: a renewal keeps the attested key; activate again for a new one")
	}
	leaf, err := l.inter.IssueWorkload(csr, id, nil, nil, now, min(c.cfg.CertLifetime, rec.Deadline.Sub(now)))
	if err != nil {
		return nil, badRequest("csr: %s", clip(err.Error()))
	}
	ev.Serial = leaf.SerialNumber.Text(16)
	// Issued before the record changes: a failure leaves the current
	// certificate in force.
	tok, tokExp, err := c.renewToken(id, rec, leaf, now)
	if err != nil {
		return nil, err
	}
	next := *rec
	next.Expires, next.Serial = leaf.NotAfter, ev.Serial
	b, err := json.Marshal(next)
	if err != nil {
		return nil, errInternal
	}
	if err := c.store.Batch(func(tx *store.Tx) error {
		return tx.Put(store.Manifest(id.Manifest), tableInstances, id.Instance, b)
	}); err != nil {
		c.log.Error("store instance", "err", err)
		return nil, errInternal
	}
	return &api.RenewResponse{Certificate: leaf.Raw, Chain: [][]byte{l.inter.Certificate().Raw}, Expires: leaf.NotAfter, Token: tok, TokenExpires: tokExp}, nil
}

// renewToken issues the token that comes with a renewed certificate: the
// activation's appraisal (the submods kept in the instance record), cnf
// the certificate's key, as activation does.
//
// Why: the activation token expires after TokenLifetime while the
// certificate is renewed for as long as the instance's deadline allows;
// without a fresh token a long-running workload would keep a certificate
// relying parties accept and a token they refuse. Sound without new
// evidence for the reasons WorkloadToken gives: only the attested
// instance holds the key the renewal certified.
//
// An instance activated before records kept the appraisal gets no token
// (it renews as before), nor does a certificate that expires within the
// second: the zero values, no error.
func (c *Coordinator) renewToken(id pki.SPIFFEID, rec *instanceRecord, leaf *x509.Certificate, now time.Time) (string, time.Time, error) {
	if len(rec.Submods) == 0 {
		return "", time.Time{}, nil
	}
	subs, err := token.ParseSubmods(rec.Submods)
	if err != nil {
		// The record came from the sealed store, written at activation.
		c.log.Error("read instance appraisal", "instance", id.Instance, "err", err)
		return "", time.Time{}, errInternal
	}
	exp := tokenExpiry(now, c.cfg.TokenLifetime, leaf.NotAfter, rec.Deadline)
	if exp.Unix() <= now.Unix() {
		return "", time.Time{}, nil
	}
	cnf, err := token.ConfirmationForKey(leaf.PublicKey)
	if err != nil {
		// Activation accepted this key for a token already.
		c.log.Error("renewal token key", "instance", id.Instance, "err", err)
		return "", time.Time{}, errInternal
	}
	tc := &token.Claims{
		Issuer: c.cfg.Issuer, IssuedAt: now, Expiry: exp, VerifierID: c.cfg.VerifierID,
		Submods: subs, Confirmation: cnf,
	}
	tok, err := c.issuer.Issue(tc)
	if err != nil {
		c.log.Error("issue renewal token", "instance", id.Instance, "err", err)
		return "", time.Time{}, errInternal
	}
	return tok, time.Unix(exp.Unix(), 0).UTC(), nil
}

// tokenExpiry is the earliest of now+lifetime and the given ends: a token
// never outlives the identity it was issued on.
func tokenExpiry(now time.Time, lifetime time.Duration, ends ...time.Time) time.Time {
	exp := now.Add(lifetime)
	for _, t := range ends {
		if t.Before(exp) {
			exp = t
		}
	}
	return exp
}

// VolumeRoot returns the root hash last reported for a volume of the
// calling workload's service.
func (c *Coordinator) VolumeRoot(ctx context.Context, volume string, chain []*x509.Certificate) (*api.VolumeRoot, error) {
	l, id, _, err := c.workload(chain)
	if err != nil {
		return nil, err
	}
	if err := volumeOf(l, id, volume); err != nil {
		return nil, err
	}
	var vr api.VolumeRoot
	err = c.store.View(func(tx *store.Tx) error {
		b, err := tx.Get(store.Manifest(id.Manifest), tableVolumes, id.Service+"/"+volume)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &vr)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &api.VolumeRoot{}, nil
	case err != nil:
		c.log.Error("read volume root", "err", err)
		return nil, errInternal
	}
	return &vr, nil
}

// SetVolumeRoot records the root hash a workload reports for a volume of
// its service (at unmount). It is what the next mount is held to.
func (c *Coordinator) SetVolumeRoot(ctx context.Context, volume string, root *api.VolumeRoot, chain []*x509.Certificate) error {
	ev := &Event{Kind: EventVolumeRoot, Key: clipName(volume)}
	err := c.setVolumeRoot(volume, root, chain, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return rerr
	}
	return err
}

func (c *Coordinator) setVolumeRoot(volume string, root *api.VolumeRoot, chain []*x509.Certificate, ev *Event) error {
	l, id, _, err := c.workload(chain)
	ev.Manifest, ev.Service, ev.Instance = id.Manifest, id.Service, id.Instance
	if err != nil {
		return err
	}
	if err := volumeOf(l, id, volume); err != nil {
		return err
	}
	if !validVolumeRoot(root.Root, id.Instance) {
		return badRequest("root: want 64 hex digits, or dirty:%s", id.Instance)
	}
	b, err := json.Marshal(api.VolumeRoot{Root: root.Root, Time: c.now().UTC(), Instance: id.Instance})
	if err != nil {
		return errInternal
	}
	key := id.Service + "/" + volume
	var stale *Error
	if err := c.store.Update(func(tx *store.Tx) error {
		var cur api.VolumeRoot
		prev, err := tx.Get(store.Manifest(id.Manifest), tableVolumes, key)
		switch {
		case err == nil:
			if err := json.Unmarshal(prev, &cur); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		// Compare and swap: the caller's view must be the record's.
		if cur.Root != root.Previous {
			stale = conflict("volume %q changed since it was read (now %q, by instance %s)", volume, clipName(cur.Root), cur.Instance)
			return nil
		}
		return tx.Put(store.Manifest(id.Manifest), tableVolumes, key, b)
	}); err != nil {
		c.log.Error("store volume root", "err", err)
		return errInternal
	}
	if stale != nil {
		return stale
	}
	return nil
}

// validVolumeRoot accepts a root hash, or the dirty marker of the caller.
func validVolumeRoot(root, instance string) bool {
	if root == "dirty:"+instance {
		return true
	}
	b, err := hex.DecodeString(root)
	return err == nil && len(b) == 32
}

// volumeOf checks that the workload's service declares volume, with
// rollback protection (scratch volumes have none to keep).
func volumeOf(l *loaded, id pki.SPIFFEID, volume string) error {
	v, ok := l.m.Services[id.Service].Volumes[volume]
	if !ok {
		return forbidden("service %q has no volume %q", id.Service, clipName(volume))
	}
	if v.Scratch {
		return conflict("volume %q is scratch: it keeps no root hash", volume)
	}
	return nil
}
