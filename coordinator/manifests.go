package coordinator

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/coordinator/secrets"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/manifest"
)

// Manifest-namespace tables.
const (
	tableManifest  = "manifest"  // keyCurrent: the document; keyInfo: its ManifestInfo
	tableHistory   = "history"   // version (%020d) → ManifestInfo
	tableDocs      = "docs"      // version (%020d) → document
	tableSecrets   = "secrets"   // secret name → secrets.Value
	tableInstances = "instances" // instance ID → instanceRecord
	tableVolumes   = "volumes"   // service/volume → api.VolumeRoot
	keyCurrent     = "current"
	keyInfo        = "info"
	keyExports     = "exports" // exportPins (in tableManifest)
	keyInter       = "intermediate"
	keyMRoot       = "root" // the manifest's own root CA
)

// Public-namespace tables: what is safe in clear.
const (
	tableRecovery = "recovery" // manifest name → seal.RecoveryRecord
)

// loaded is a manifest in force, with what activation needs precomputed.
// It is immutable once installed: changes install a new *loaded.
type loaded struct {
	m        *manifest.Manifest
	doc      []byte
	hash     [32]byte
	info     api.ManifestInfo
	mroot    *pki.CA                     // the manifest's root: what its workloads trust for peers
	inter    *pki.CA                     // the current version's intermediate, under mroot
	policies map[string]*appraise.Policy // by package name
	users    map[[32]byte]string         // SHA-256 of a user's SPKI → user name
	secrets  map[string]*secrets.Value   // shared values
	// genesis is the hex SHA-256 of the manifest's version 1: its identity
	// across updates (a name can be lost and registered again; a genesis
	// cannot).
	genesis string
	// exports pins each exported secret's importers: secret → importing
	// manifest → its genesis when this version was uploaded.
	exports exportPins
}

type exportPins map[string]map[string]string

func newLoaded(m *manifest.Manifest, doc []byte, info api.ManifestInfo, mroot, inter *pki.CA, vals map[string]*secrets.Value, genesis string, exports exportPins) (*loaded, error) {
	l := &loaded{m: m, doc: doc, hash: manifest.Hash(doc), info: info, mroot: mroot, inter: inter, genesis: genesis, exports: exports,
		policies: make(map[string]*appraise.Policy, len(m.Packages)),
		users:    make(map[[32]byte]string, len(m.Users)),
		secrets:  vals,
	}
	for name := range m.Packages {
		l.policies[name] = m.AppraisalPolicy(name)
	}
	for name, u := range m.Users {
		cert, err := parseCertificatePEM(u.Certificate)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", name, err)
		}
		l.users[sha256.Sum256(cert.RawSubjectPublicKeyInfo)] = name
	}
	return l, nil
}

func versionKey(v uint64) string { return fmt.Sprintf("%020d", v) }

// loadManifests installs every manifest whose namespace key the global
// state holds; the others are locked (awaiting recovery).
func (c *Coordinator) loadManifests() error {
	namespaces, err := c.store.Namespaces()
	if err != nil {
		return fmt.Errorf("coordinator: manifests: %w", err)
	}
	keys := make(map[string][]byte)
	err = c.store.View(func(tx *store.Tx) error {
		// The sealed key table says which manifests this state holds; a
		// manifest namespace without a key awaits recovery.
		if err := tx.ForEach(store.Global, tableNSKeys, func(name string, key []byte) error {
			keys[name] = key
			return nil
		}); err != nil {
			return err
		}
		for _, ns := range namespaces {
			if name, ok := ns.ManifestName(); ok {
				if _, known := keys[name]; !known {
					c.locked[name] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("coordinator: manifests: %w", err)
	}
	// Store methods may not run inside a transaction: unlock after it.
	for name, key := range keys {
		err := c.store.Unlock(store.Manifest(name), key)
		clear(key)
		if err != nil {
			return fmt.Errorf("coordinator: manifest %q (tampered?): %w", name, err)
		}
	}
	return c.store.View(func(tx *store.Tx) error {
		for name := range keys {
			l, err := c.readLoaded(tx, name)
			if err != nil {
				return fmt.Errorf("coordinator: manifest %q: %w", name, err)
			}
			c.manifests[name] = l
		}
		return nil
	})
}

// readLoaded reads a manifest's current state from its (unlocked) namespace.
func (c *Coordinator) readLoaded(tx *store.Tx, name string) (*loaded, error) {
	ns := store.Manifest(name)
	doc, err := tx.Get(ns, tableManifest, keyCurrent)
	if err != nil {
		return nil, err
	}
	m, err := manifest.Parse(name, doc)
	if err != nil {
		return nil, err
	}
	var info api.ManifestInfo
	b, err := tx.Get(ns, tableManifest, keyInfo)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	b, err = tx.Get(ns, tableCA, keyInter)
	if err != nil {
		return nil, err
	}
	inter, err := pki.ParseCA(b)
	if err != nil {
		return nil, fmt.Errorf("intermediate CA: %w", err)
	}
	if b, err = tx.Get(ns, tableCA, keyMRoot); err != nil {
		return nil, err
	}
	mroot, err := pki.ParseCA(b)
	if err != nil {
		return nil, fmt.Errorf("manifest root CA: %w", err)
	}
	if mroot.Manifest() != name || inter.Manifest() != name || inter.Certificate().CheckSignatureFrom(mroot.Certificate()) != nil {
		return nil, fmt.Errorf("the CAs stored for %q do not belong to it", name)
	}
	vals := make(map[string]*secrets.Value)
	if err := tx.ForEach(ns, tableSecrets, func(k string, v []byte) error {
		val, err := secrets.UnmarshalValue(v)
		if err != nil {
			return fmt.Errorf("secret %q: %w", k, err)
		}
		vals[k] = val
		return nil
	}); err != nil {
		return nil, err
	}
	b, err = tx.Get(ns, tableHistory, versionKey(1))
	if err != nil {
		return nil, fmt.Errorf("version 1: %w", err)
	}
	var first api.ManifestInfo
	if err := json.Unmarshal(b, &first); err != nil {
		return nil, fmt.Errorf("version 1: %w", err)
	}
	var exports exportPins
	if b, err = tx.Get(ns, tableManifest, keyExports); err != nil {
		return nil, fmt.Errorf("exports: %w", err)
	}
	if err := json.Unmarshal(b, &exports); err != nil {
		return nil, fmt.Errorf("exports: %w", err)
	}
	return newLoaded(m, doc, info, mroot, inter, vals, first.SHA256, exports)
}

// manifest returns the manifest in force named name, or an API error.
func (c *Coordinator) manifest(name string) (*loaded, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if l, ok := c.manifests[name]; ok {
		return l, nil
	}
	if c.locked[name] {
		return nil, locked(name)
	}
	return nil, notFound("no manifest %q", name)
}

// SetManifest installs the first version of a manifest or updates one.
//
// The first version must be signed by update_threshold of its own owners;
// an update must name the hash of the manifest in force as its
// predecessor, carry the next version number, and be signed by
// update_threshold of the owners of the manifest it replaces: the old
// owners authorize the new owner set. Every template is rendered with
// placeholder values first (a dry run), so a manifest that could never
// configure its workloads is refused at upload, not at activation.
//
// name is the manifest name the caller addressed; the document must carry
// the same name.
func (c *Coordinator) SetManifest(ctx context.Context, name string, up *api.ManifestUpload) (*api.ManifestInfo, error) {
	ev := &Event{Kind: EventManifestSet, Manifest: clipName(name)}
	info, err := c.setManifest(name, up, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	return info, err
}

func (c *Coordinator) setManifest(name string, up *api.ManifestUpload, ev *Event) (*api.ManifestInfo, error) {
	if len(up.Document) == 0 {
		return nil, badRequest("document is empty")
	}
	hash := manifest.Hash(up.Document)
	ev.ManifestSHA256 = hex.EncodeToString(hash[:])
	m, err := manifest.Parse(name, up.Document)
	if err != nil {
		return nil, badRequest("%s", clip(err.Error()))
	}
	if m.Name != name {
		return nil, badRequest("the request names manifest %q but the document is %q", name, m.Name)
	}
	ev.Version = m.Version
	if err := m.DryRun(); err != nil {
		return nil, badRequest("%s", clip(err.Error()))
	}
	sigs := make([]manifest.Signature, 0, len(up.Signatures))
	for i, b := range up.Signatures {
		s, signed, err := manifest.ParseSignature(b)
		if err != nil {
			return nil, badRequest("signatures[%d]: %s", i, clip(err.Error()))
		}
		if signed != hash {
			return nil, badRequest("signatures[%d] (owner %q) signs another document", i, s.Owner)
		}
		sigs = append(sigs, s)
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	prev, err := c.manifest(m.Name)
	var nf *Error
	switch {
	case err == nil:
		if err := manifest.CheckUpdate(prev.m, prev.hash, m); err != nil {
			return nil, conflict("%s", clip(err.Error()))
		}
		ev.Kind = EventManifestUpdate
		if err := manifest.VerifySignatures(prev.m, hash, sigs); err != nil {
			return nil, forbidden("update of %q: %s", m.Name, clip(err.Error()))
		}
	case errors.As(err, &nf) && nf.Code == api.CodeNotFound:
		if m.Version != 1 || m.Predecessor != "" {
			return nil, conflict("no manifest %q is in force: the first version must be 1 and name no predecessor", m.Name)
		}
		if err := manifest.VerifySignatures(m, hash, sigs); err != nil {
			return nil, forbidden("manifest %q: %s", m.Name, clip(err.Error()))
		}
		if !c.admitted(m, signerNames(sigs)) {
			return nil, forbidden("manifest %q: no signer is an owner this coordinator admits to create manifests", m.Name)
		}
	default:
		return nil, err
	}
	ev.Signers = signerNames(sigs)
	exports, err := c.pinExports(m)
	if err != nil {
		return nil, err
	}

	now := c.now()
	var prevVals map[string]*secrets.Value
	var prevM *manifest.Manifest
	var mroot *pki.CA
	if prev != nil {
		prevVals, prevM, mroot = prev.secrets, prev.m, prev.mroot
	} else if mroot, err = pki.NewManifestRoot(c.cfg.TrustDomain, m.Name, now); err != nil {
		c.log.Error("new manifest root CA", "manifest", m.Name, "err", err)
		return nil, errInternal
	}
	inter, err := mroot.NewIntermediate(m.Name, m.Version, now)
	if err != nil {
		c.log.Error("new intermediate CA", "manifest", m.Name, "err", err)
		return nil, errInternal
	}
	vals, err := sharedSecrets(m, prevM, prevVals, inter, now)
	if err != nil {
		return nil, err
	}
	info := api.ManifestInfo{Name: m.Name, Version: m.Version, SHA256: hex.EncodeToString(hash[:]),
		Predecessor: m.Predecessor, Time: now.UTC(), Signers: ev.Signers}
	genesis := info.SHA256
	if prev != nil {
		genesis = prev.genesis
	}
	if err := c.commitManifest(m, up.Document, info, mroot, inter, vals, exports, prev == nil); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, conflict("manifest %q exists in this coordinator's state (locked, awaiting recovery): its name cannot be taken", m.Name)
		}
		c.log.Error("store manifest", "manifest", m.Name, "err", err)
		return nil, errInternal
	}
	l, err := newLoaded(m, up.Document, info, mroot, inter, vals, genesis, exports)
	if err != nil {
		c.log.Error("install manifest", "manifest", m.Name, "err", err)
		return nil, errInternal
	}
	c.mu.Lock()
	c.manifests[m.Name] = l
	c.mu.Unlock()
	c.log.Info("manifest in force", "manifest", m.Name, "version", m.Version, "sha256", info.SHA256)
	return &info, nil
}

// pinExports binds every export_to name of m to that manifest's genesis
// now. An export names a manifest that must already be in force: a name
// that does not exist yet, or that is later lost and registered again by
// someone else, never receives the secret.
func (c *Coordinator) pinExports(m *manifest.Manifest) (exportPins, error) {
	pins := exportPins{}
	for name, s := range m.Secrets {
		for _, to := range s.ExportTo {
			imp, err := c.manifest(to)
			if err != nil {
				return nil, conflict("secret %q is exported to manifest %q, which is not in force here: create that manifest first", name, to)
			}
			if pins[name] == nil {
				pins[name] = make(map[string]string)
			}
			pins[name][to] = imp.genesis
		}
	}
	return pins, nil
}

// admitted reports whether one of the named owners of m holds a key of
// the coordinator's admission list (or the list is empty).
func (c *Coordinator) admitted(m *manifest.Manifest, owners []string) bool {
	if len(c.cfg.Admission) == 0 {
		return true
	}
	for _, name := range owners {
		o, ok := m.Owners[name]
		if !ok {
			continue
		}
		pub, err := parsePublicKeyPEM(o.PublicKey)
		if err != nil {
			continue
		}
		for _, k := range c.cfg.Admission {
			if eq, ok := k.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub) {
				return true
			}
		}
	}
	return false
}

func parsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	return x509.ParsePKIXPublicKey(b.Bytes)
}

func signerNames(sigs []manifest.Signature) []string {
	var out []string
	for _, s := range sigs {
		if !slices.Contains(out, s.Owner) {
			out = append(out, s.Owner)
		}
	}
	sort.Strings(out)
	return out
}

// sharedSecrets makes the shared secret values of m. A secret whose
// declaration did not change keeps its value across an update (workloads
// and data encrypted under it stay valid); a changed declaration gets a
// new value — except a Parquet master key, whose loss would make every
// file encrypted under it unreadable: changing one is refused.
func sharedSecrets(m, prev *manifest.Manifest, prevVals map[string]*secrets.Value, inter *pki.CA, now time.Time) (map[string]*secrets.Value, error) {
	vals := make(map[string]*secrets.Value)
	keep := func(name string, s manifest.Secret) bool {
		if prev == nil {
			return false
		}
		old, ok := prev.Secrets[name]
		if !ok || !reflect.DeepEqual(old, s) {
			return false
		}
		v, ok := prevVals[name]
		if ok {
			vals[name] = v
		}
		return ok
	}
	// Certificate authorities first: x509 secrets name them as issuers.
	names := make([]string, 0, len(m.Secrets))
	for name := range m.Secrets {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		ci, cj := m.Secrets[names[i]].Kind == manifest.KindX509CA, m.Secrets[names[j]].Kind == manifest.KindX509CA
		if ci != cj {
			return ci
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		s := m.Secrets[name]
		if prev != nil && s.Kind == manifest.KindParquetMasterKey {
			if old, ok := prev.Secrets[name]; ok && !reflect.DeepEqual(old, s) {
				return nil, conflict("secret %q: a parquet-master-key cannot change (data encrypted under it would be lost); declare a new key instead", name)
			}
		}
		if keep(name, s) {
			continue
		}
		if s.Import != nil || s.Kind == manifest.KindUploaded || !shared(s) {
			continue // resolved at activation, set by users, or made per instance
		}
		v, err := secrets.Generate(name, s, func(issuer string) (*secrets.Value, error) {
			if v, ok := vals[issuer]; ok {
				return v, nil
			}
			return nil, fmt.Errorf("issuer %q has no value", issuer)
		}, inter, now)
		if err != nil {
			return nil, badRequest("secret %q: %s", name, clip(err.Error()))
		}
		vals[name] = v
	}
	return vals, nil
}

// shared reports whether s has one value for every instance.
func shared(s manifest.Secret) bool {
	switch s.Kind {
	case manifest.KindExplicit, manifest.KindUploaded, manifest.KindParquetMasterKey:
		return true
	}
	return s.Import != nil || s.Shared == nil || *s.Shared
}

// commitManifest writes a manifest version and everything that goes with
// it in one transaction: a crash leaves either the old version in force
// or the new one, never a mix.
func (c *Coordinator) commitManifest(m *manifest.Manifest, doc []byte, info api.ManifestInfo, mroot, inter *pki.CA, vals map[string]*secrets.Value, exports exportPins, first bool) error {
	ns := store.Manifest(m.Name)
	var nsKey []byte
	if first {
		nsKey = make([]byte, 32)
		rand.Read(nsKey)
		defer clear(nsKey)
	}
	var rec []byte
	if m.Recovery != nil {
		key := nsKey
		if key == nil {
			var err error
			if key, err = c.namespaceKey(m.Name); err != nil {
				return err
			}
			defer clear(key)
		}
		pubs, err := seal.ParseRecoveryPublicKeys(m.Recovery.Keys)
		if err != nil {
			return err
		}
		r, err := seal.NewRecoveryRecord(key, pubs, m.Recovery.Threshold, m.Name)
		if err != nil {
			return err
		}
		if rec, err = json.Marshal(r); err != nil {
			return err
		}
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return err
	}
	interBytes, err := inter.Marshal()
	if err != nil {
		return err
	}
	mrootBytes, err := mroot.Marshal()
	if err != nil {
		return err
	}
	exportsJSON, err := json.Marshal(exports)
	if err != nil {
		return err
	}
	return c.store.Update(func(tx *store.Tx) error {
		if first {
			// The namespace, its key and the first version commit
			// together. A namespace that already exists (a locked
			// manifest, or one left by an earlier state) is never reused.
			if err := tx.CreateNamespace(ns, nsKey); err != nil {
				return err
			}
			if err := tx.Put(store.Global, tableNSKeys, m.Name, nsKey); err != nil {
				return err
			}
		}
		puts := []struct {
			ns         store.Namespace
			table, key string
			val        []byte
		}{
			{ns, tableManifest, keyCurrent, doc},
			{ns, tableManifest, keyInfo, infoJSON},
			{ns, tableHistory, versionKey(m.Version), infoJSON},
			{ns, tableDocs, versionKey(m.Version), doc},
			{ns, tableCA, keyInter, interBytes},
			{ns, tableCA, keyMRoot, mrootBytes},
			{ns, tableManifest, keyExports, exportsJSON},
		}
		for _, p := range puts {
			if err := tx.Put(p.ns, p.table, p.key, p.val); err != nil {
				return err
			}
		}
		if rec != nil {
			if err := tx.Put(store.Public, tableRecovery, m.Name, rec); err != nil {
				return err
			}
		} else if err := tx.Delete(store.Public, tableRecovery, m.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// Replace the secret table: values of secrets no longer declared go.
		var stale []string
		if err := tx.ForEach(ns, tableSecrets, func(k string, _ []byte) error {
			if _, ok := vals[k]; !ok {
				stale = append(stale, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Delete(ns, tableSecrets, k); err != nil {
				return err
			}
		}
		for name, v := range vals {
			b, err := v.Marshal()
			if err != nil {
				return fmt.Errorf("secret %q: %w", name, err)
			}
			err = tx.Put(ns, tableSecrets, name, b)
			clear(b)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *Coordinator) namespaceKey(name string) ([]byte, error) {
	var key []byte
	err := c.store.View(func(tx *store.Tx) error {
		var err error
		key, err = tx.Get(store.Global, tableNSKeys, name)
		return err
	})
	return key, err
}

// Manifest returns the manifest in force named name, with its document
// if the user holds a manifest read role (or is nil: documents are never
// returned anonymously, as they may hold explicit secret values).
func (c *Coordinator) Manifest(ctx context.Context, name string, user *x509.Certificate) (*api.ManifestResponse, error) {
	l, err := c.manifest(name)
	if err != nil {
		return nil, err
	}
	resp := &api.ManifestResponse{Info: l.info}
	if user != nil {
		if who, err := c.authorize(l, user, "manifest", "", "read"); err == nil {
			// The document may hold explicit secret values: its reads are
			// recorded like secret reads.
			if err := c.record(ctx, &Event{Kind: EventManifestRead, Granted: true, Manifest: name, Version: l.m.Version, User: who}); err != nil {
				return nil, err
			}
			resp.Document = l.doc
		}
	}
	return resp, nil
}

// ManifestLog lists every version of a manifest, oldest first.
func (c *Coordinator) ManifestLog(name string) ([]api.ManifestInfo, error) {
	if _, err := c.manifest(name); err != nil {
		return nil, err
	}
	var out []api.ManifestInfo
	err := c.store.View(func(tx *store.Tx) error {
		return tx.ForEach(store.Manifest(name), tableHistory, func(_ string, v []byte) error {
			var info api.ManifestInfo
			if err := json.Unmarshal(v, &info); err != nil {
				return err
			}
			out = append(out, info)
			return nil
		})
	})
	if err != nil {
		c.log.Error("read manifest history", "manifest", name, "err", err)
		return nil, errInternal
	}
	return out, nil
}

// parseCertificatePEM parses one PEM certificate (a user's, validated with
// the manifest).
func parseCertificatePEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}
