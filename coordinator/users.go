package coordinator

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"slices"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/secrets"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/manifest"
)

// authorize returns the name of the user of l whose certificate key is
// cert's, if one of the user's roles grants action on resource (and name,
// for secrets). Users are identified by public key: the TLS handshake has
// proven possession of the private key, and the manifest's owners vouched
// for the certificate.
func (c *Coordinator) authorize(l *loaded, cert *x509.Certificate, resource, name, action string) (string, error) {
	if cert == nil {
		return "", unauthorized("a client certificate is required")
	}
	user, ok := l.users[sha256.Sum256(cert.RawSubjectPublicKeyInfo)]
	if !ok {
		return "", unauthorized("the client certificate is not a user of manifest %q", l.m.Name)
	}
	for _, rn := range l.m.Users[user].Roles {
		r := l.m.Roles[rn]
		if r.Resource != resource || !slices.Contains(r.Actions, action) {
			continue
		}
		if resource == "secrets" && len(r.Names) > 0 && !slices.Contains(r.Names, name) {
			continue
		}
		return user, nil
	}
	return user, forbidden("user %q of manifest %q has no role to %s %s %s", user, l.m.Name, action, resource, name)
}

// SetSecret stores the value of an uploaded secret, for a user whose role
// allows writing it.
func (c *Coordinator) SetSecret(ctx context.Context, manifestName, name string, value []byte, user *x509.Certificate) error {
	ev := &Event{Kind: EventSecretWrite, Manifest: clipName(manifestName), Secret: clipName(name)}
	err := c.setSecret(manifestName, name, value, user, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return rerr
	}
	return err
}

func (c *Coordinator) setSecret(manifestName, name string, value []byte, user *x509.Certificate, ev *Event) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	l, err := c.manifest(manifestName)
	if err != nil {
		return err
	}
	ev.Version = l.m.Version
	if ev.User, err = c.authorize(l, user, "secrets", name, "write"); err != nil {
		return err
	}
	s, ok := l.m.Secrets[name]
	if !ok {
		return notFound("manifest %q declares no secret %q", manifestName, name)
	}
	if s.Kind != manifest.KindUploaded {
		return conflict("secret %q is of kind %s: only uploaded secrets are set by users", name, s.Kind)
	}
	if len(value) == 0 || len(value) > maxUploadedSecret {
		return badRequest("secret %q: %d bytes, want 1 to %d", name, len(value), maxUploadedSecret)
	}
	val := &secrets.Value{Kind: manifest.KindUploaded, Bytes: append([]byte(nil), value...)}
	b, err := val.Marshal()
	if err != nil {
		return err
	}
	defer clear(b)
	if err := c.store.Update(func(tx *store.Tx) error {
		return tx.Put(store.Manifest(manifestName), tableSecrets, name, b)
	}); err != nil {
		c.log.Error("store uploaded secret", "manifest", manifestName, "secret", name, "err", err)
		return errInternal
	}
	// Install a copy of l with the new value: readers of l never see it change.
	vals := make(map[string]*secrets.Value, len(l.secrets)+1)
	for k, v := range l.secrets {
		vals[k] = v
	}
	vals[name] = val
	nl := *l
	nl.secrets = vals
	c.mu.Lock()
	c.manifests[manifestName] = &nl
	c.mu.Unlock()
	return nil
}

// Secret returns a secret's value to a user whose role allows reading it.
// Parquet master keys never leave the coordinator: the KMS uses them.
func (c *Coordinator) Secret(ctx context.Context, manifestName, name string, user *x509.Certificate) (*api.SecretResponse, error) {
	ev := &Event{Kind: EventSecretRead, Manifest: clipName(manifestName), Secret: clipName(name)}
	resp, err := c.secret(manifestName, name, user, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return resp, err
}

func (c *Coordinator) secret(manifestName, name string, user *x509.Certificate, ev *Event) (*api.SecretResponse, error) {
	l, err := c.manifest(manifestName)
	if err != nil {
		return nil, err
	}
	if ev.User, err = c.authorize(l, user, "secrets", name, "read"); err != nil {
		return nil, err
	}
	s, ok := l.m.Secrets[name]
	if !ok {
		return nil, notFound("manifest %q declares no secret %q", manifestName, name)
	}
	if s.Kind == manifest.KindParquetMasterKey {
		return nil, forbidden("secret %q is a parquet-master-key: it never leaves the coordinator", name)
	}
	if s.Import != nil {
		// The exporter released it to the importer's attested workloads,
		// not to the importer's people.
		return nil, forbidden("secret %q is imported from manifest %q: only attested workloads receive it", name, s.Import.Manifest)
	}
	if !shared(s) {
		return nil, conflict("secret %q is per instance: it has no single value", name)
	}
	val, err := c.secretValue(l, name, nil)
	if err != nil {
		return nil, err
	}
	resp := &api.SecretResponse{Kind: string(val.Kind), Value: val.Bytes}
	if val.Cert != nil {
		resp.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: val.Cert.Raw}))
		for _, ch := range val.Chain {
			resp.Chain += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ch.Raw}))
		}
	}
	if val.Key != nil {
		b, err := val.Part("key-pem")
		if err != nil {
			return nil, err
		}
		resp.PrivateKey = string(b)
	}
	return resp, nil
}
