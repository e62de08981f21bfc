package attestd

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/cofre-cc/cofre/appraise"
)

// ErrPolicyNotFound is returned by a PolicyStore for a name it does not
// hold.
var ErrPolicyNotFound = errors.New("policy not found")

// StoredPolicy is a policy as the service keeps it: parsed for appraisal,
// and the document as uploaded, for GET.
type StoredPolicy struct {
	Policy   *appraise.Policy // parsed and validated; read-only once stored
	Document []byte           // the YAML or JSON as uploaded
	SHA256   [sha256.Size]byte
}

// NewStoredPolicy parses and validates doc (appraise.ParsePolicy).
func NewStoredPolicy(doc []byte) (*StoredPolicy, error) {
	p, err := appraise.ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	if !validPolicyName(p.Name) {
		return nil, fmt.Errorf("%w: name %q: want 1 to %d characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit", appraise.ErrInvalidPolicy, p.Name, maxPolicyName)
	}
	return &StoredPolicy{Policy: p, Document: doc, SHA256: sha256.Sum256(doc)}, nil
}

// PolicyStore holds the named appraisal policies. Implementations are safe
// for concurrent use; Policy is on every attestation's path and must be
// fast.
type PolicyStore interface {
	// Policy returns the named policy, or an error wrapping
	// ErrPolicyNotFound.
	Policy(ctx context.Context, name string) (*StoredPolicy, error)
	// PutPolicy stores sp under sp.Policy.Name, replacing any policy of
	// that name.
	PutPolicy(ctx context.Context, sp *StoredPolicy) error
	// DeletePolicy removes the named policy, or returns an error wrapping
	// ErrPolicyNotFound.
	DeletePolicy(ctx context.Context, name string) error
}

var policyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// validPolicyName reports whether name may name a policy: it appears in
// URLs, file names, tokens and logs, so it is short and plain.
func validPolicyName(name string) bool {
	return len(name) <= maxPolicyName && policyNameRE.MatchString(name) && !strings.Contains(name, "..")
}

// MemPolicies is an in-memory PolicyStore (tests, and a cache for
// DirPolicies).
type MemPolicies struct {
	mu sync.RWMutex // guards m
	m  map[string]*StoredPolicy
}

var _ PolicyStore = (*MemPolicies)(nil)

// NewMemPolicies returns a store holding ps.
func NewMemPolicies(ps ...*StoredPolicy) *MemPolicies {
	m := &MemPolicies{m: make(map[string]*StoredPolicy)}
	for _, p := range ps {
		m.m[p.Policy.Name] = p
	}
	return m
}

func (m *MemPolicies) Policy(_ context.Context, name string) (*StoredPolicy, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p, ok := m.m[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("attestd: %w: %q", ErrPolicyNotFound, name)
}

func (m *MemPolicies) PutPolicy(_ context.Context, sp *StoredPolicy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[sp.Policy.Name] = sp
	return nil
}

func (m *MemPolicies) DeletePolicy(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[name]; !ok {
		return fmt.Errorf("attestd: %w: %q", ErrPolicyNotFound, name)
	}
	delete(m.m, name)
	return nil
}

// policyFileExt names policy files in a DirPolicies directory.
const policyFileExt = ".policy"

// DirPolicies is a PolicyStore backed by one file per policy
// (NAME.policy, the document as uploaded) in a directory, with every
// policy also held in memory. Files are replaced atomically.
//
// Policies are not secret, but they decide what is trusted: whoever can
// write the directory can admit any workload. Keep it owned by the
// service, mode 0700.
type DirPolicies struct {
	dir string
	mu  sync.Mutex // serializes writers, so file and memory agree
	mem *MemPolicies
}

var _ PolicyStore = (*DirPolicies)(nil)

// OpenDirPolicies creates dir if needed (0700) and loads every policy in
// it. A file that does not parse, or whose policy name differs from its
// file name, is an error: the service must not start with a policy it
// silently skipped.
func OpenDirPolicies(dir string) (*DirPolicies, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attestd: policies: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("attestd: policies: %w", err)
	}
	d := &DirPolicies{dir: dir, mem: NewMemPolicies()}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), policyFileExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("attestd: policies: %w", err)
		}
		sp, err := NewStoredPolicy(b)
		if err != nil {
			return nil, fmt.Errorf("attestd: policy file %s: %w", e.Name(), err)
		}
		if sp.Policy.Name != name {
			return nil, fmt.Errorf("attestd: policy file %s holds policy %q", e.Name(), sp.Policy.Name)
		}
		d.mem.m[name] = sp
	}
	return d, nil
}

func (d *DirPolicies) path(name string) string { return filepath.Join(d.dir, name+policyFileExt) }

func (d *DirPolicies) Policy(ctx context.Context, name string) (*StoredPolicy, error) {
	return d.mem.Policy(ctx, name)
}

func (d *DirPolicies) PutPolicy(ctx context.Context, sp *StoredPolicy) error {
	if !validPolicyName(sp.Policy.Name) {
		return fmt.Errorf("%w: name %q", appraise.ErrInvalidPolicy, sp.Policy.Name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := writeFileAtomic(d.path(sp.Policy.Name), sp.Document, 0o600); err != nil {
		return err
	}
	return d.mem.PutPolicy(ctx, sp)
}

func (d *DirPolicies) DeletePolicy(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.mem.Policy(ctx, name); err != nil {
		return err
	}
	if !validPolicyName(name) {
		return fmt.Errorf("attestd: %w: %q", ErrPolicyNotFound, name)
	}
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("attestd: delete policy: %w", err)
	}
	return d.mem.DeletePolicy(ctx, name)
}
