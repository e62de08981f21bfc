package coordinator

import (
	"fmt"
	"slices"
	"time"

	"github.com/cofre-cc/cofre/coordinator/secrets"
	"github.com/cofre-cc/cofre/manifest"
)

// renderValues resolves templates for one activation. Per-instance
// secrets are generated on first use and kept for the activation, so a
// file and an env var naming the same secret get the same value.
type renderValues struct {
	c        *Coordinator
	l        *loaded
	now      time.Time
	host     map[string]string
	workload manifest.WorkloadValues
	instance map[string]*secrets.Value
}

var _ manifest.Values = (*renderValues)(nil)

func (v *renderValues) Secret(name string) (manifest.SecretValue, error) {
	if v.instance == nil {
		v.instance = make(map[string]*secrets.Value)
	}
	val, err := v.c.secretValue(v.l, name, v.instance)
	if err != nil {
		return manifest.SecretValue{}, err
	}
	return manifest.SecretValue{Kind: val.Kind, Bytes: val.Bytes, Cert: val.Cert, Chain: val.Chain, Key: val.Key}, nil
}

func (v *renderValues) Workload() manifest.WorkloadValues { return v.workload }

func (v *renderValues) Host(name string) (string, bool) {
	s, ok := v.host[name]
	return s, ok
}

// secretValue resolves a secret of l: a shared value, an import from
// another manifest (which must list l's manifest in export_to), an
// uploaded value (which must have been uploaded), or a per-instance value
// generated now (kept in instance, when non-nil).
func (c *Coordinator) secretValue(l *loaded, name string, instance map[string]*secrets.Value) (*secrets.Value, error) {
	s, ok := l.m.Secrets[name]
	if !ok {
		return nil, fmt.Errorf("secret %q is not declared", name)
	}
	if s.Import != nil {
		src, err := c.manifest(s.Import.Manifest)
		if err != nil {
			return nil, fmt.Errorf("secret %q imports from manifest %q: %w", name, s.Import.Manifest, err)
		}
		exp, ok := src.m.Secrets[s.Import.Secret]
		if !ok || !slices.Contains(exp.ExportTo, l.m.Name) {
			return nil, forbidden("secret %q: manifest %q does not export %q to %q", name, s.Import.Manifest, s.Import.Secret, l.m.Name)
		}
		if pin := src.exports[s.Import.Secret][l.m.Name]; pin == "" || pin != l.genesis {
			return nil, forbidden("secret %q: manifest %q exported %q to another manifest named %q (its genesis differs)", name, s.Import.Manifest, s.Import.Secret, l.m.Name)
		}
		if exp.Import != nil {
			return nil, forbidden("secret %q: %s/%s is itself imported; imports do not chain", name, s.Import.Manifest, s.Import.Secret)
		}
		return c.secretValue(src, s.Import.Secret, nil)
	}
	if val, ok := l.secrets[name]; ok {
		return val, nil
	}
	if s.Kind == manifest.KindUploaded {
		return nil, conflict("secret %q has not been uploaded yet", name)
	}
	if shared(s) {
		return nil, fmt.Errorf("secret %q has no value", name)
	}
	if val, ok := instance[name]; ok {
		return val, nil
	}
	val, err := secrets.Generate(name, s, func(issuer string) (*secrets.Value, error) {
		return c.secretValue(l, issuer, instance)
	}, l.inter, c.now())
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	if instance != nil {
		instance[name] = val
	}
	return val, nil
}
