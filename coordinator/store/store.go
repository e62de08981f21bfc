package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Namespace names a part of the state with its own key. The zero value is
// invalid; use Global, Public or Manifest.
type Namespace string

const (
	// Global holds the coordinator's own state, under the data key.
	Global Namespace = "global"
	// Public holds data safe in clear; it has no key and is never locked.
	Public Namespace = "public"

	manifestPrefix = "manifest/"
)

// Manifest returns the namespace of the manifest called name. A name that
// is empty, longer than MaxNameLen or not printable UTF-8 gives a
// namespace that every method refuses with ErrInvalid.
func Manifest(name string) Namespace { return Namespace(manifestPrefix + name) }

// ManifestName returns the manifest name of a Manifest namespace, and
// false for Global, Public and invalid namespaces.
func (n Namespace) ManifestName() (string, bool) {
	name, ok := strings.CutPrefix(string(n), manifestPrefix)
	if !ok || checkName(name) != nil {
		return "", false
	}
	return name, true
}

func (n Namespace) String() string { return string(n) }

func (n Namespace) check() error {
	if n == Global || n == Public {
		return nil
	}
	if _, ok := n.ManifestName(); !ok {
		return fmt.Errorf("%w: namespace %q", ErrInvalid, string(n))
	}
	return nil
}

// checkName accepts 1..MaxNameLen bytes of printable UTF-8: names are
// visible in the file and in errors.
func checkName(s string) error {
	if s == "" || len(s) > MaxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: name must be 1..%d bytes of UTF-8", ErrInvalid, MaxNameLen)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("%w: name %q has a non-printable character", ErrInvalid, s)
		}
	}
	return nil
}

// Reserved entries. Tables are nested buckets inside a namespace's
// bucket; the key check and the format marker are plain keys there, and
// counters live in a table whose name checkName refuses, so none can
// collide with caller data.
const (
	keyCheck     = "keycheck"     // in every keyed namespace's bucket
	keyFormat    = "format"       // in the Public bucket
	tableCounter = "\x00counters" // Next's counters
	formatV1     = "cofre-store-v1"
	checkValue   = "cofre-store-keycheck-v1"
	sealedV1     = 1 // first byte of a sealed value
)

// Options configure Open.
type Options struct {
	// LockTimeout is how long Open waits for the exclusive file lock that
	// another process (a second coordinator) may hold. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// BatchDelay is the longest Batch waits to group concurrent calls into
	// one commit. Zero means DefaultBatchDelay.
	BatchDelay time.Duration
}

// Store is an open state file. Its methods are safe for concurrent use.
// Do not call Store methods (Unlock, CreateNamespace, ResetNamespace,
// View, Update, Batch) from inside a transaction's function: bbolt
// transactions in one goroutine can deadlock against each other.
type Store struct {
	db *bolt.DB

	mu   sync.RWMutex        // guards keys
	keys map[Namespace]*xaes // unlocked namespaces
}

// Open opens or creates the store at path (mode 0600).
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = DefaultBatchDelay
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.MaxBatchDelay = opts.BatchDelay
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(Public))
		if b == nil {
			if tx.Bucket([]byte(Global)) != nil {
				return fmt.Errorf("%w: global namespace without public", ErrFormat)
			}
			b, err := tx.CreateBucket([]byte(Public))
			if err != nil {
				return err
			}
			return b.Put([]byte(keyFormat), []byte(formatV1))
		}
		if f := b.Get([]byte(keyFormat)); string(f) != formatV1 {
			return fmt.Errorf("%w: %q", ErrFormat, f)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return &Store{db: db, keys: make(map[Namespace]*xaes)}, nil
}

// Close forgets every namespace key and closes the file. It waits for
// open transactions to finish.
func (s *Store) Close() error {
	s.mu.Lock()
	clear(s.keys)
	s.mu.Unlock()
	return s.db.Close()
}

// Namespaces lists the namespaces in the file, sorted, locked or not.
func (s *Store) Namespaces() ([]Namespace, error) {
	var out []Namespace
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if ns := Namespace(name); ns.check() == nil {
				out = append(out, ns)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// Locked reports whether ns's key is missing. Public is never locked.
func (s *Store) Locked(ns Namespace) bool {
	if ns == Public {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[ns] == nil
}

// Unlock checks key against ns's key-check record and, if it opens it,
// keeps it for ns. Errors: ErrNotFound (no such namespace), ErrWrongKey,
// ErrInvalid. Unlocking an unlocked namespace with its key again is fine.
func (s *Store) Unlock(ns Namespace, key []byte) error {
	x, err := keyedNamespace(ns, key)
	if err != nil {
		return err
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(ns))
		if b == nil {
			return fmt.Errorf("%w: namespace %q", ErrNotFound, string(ns))
		}
		v, err := x.openValue(b.Get([]byte(keyCheck)), checkAAD(ns))
		if err != nil || string(v) != checkValue {
			return fmt.Errorf("%w for %q", ErrWrongKey, string(ns))
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.keys[ns] = x
	s.mu.Unlock()
	return nil
}

// CreateNamespace creates ns with key (KeySize bytes), writing its
// key-check record, and leaves it unlocked. It fails with ErrExists if ns
// is already in the file.
func (s *Store) CreateNamespace(ns Namespace, key []byte) error {
	return s.create(ns, key, false)
}

// ResetNamespace deletes everything in ns, if it exists, and creates it
// afresh under key, unlocked. It is how the coordinator starts over a
// namespace whose key is gone for good (a global state whose data key was
// lost with no recovery, a manifest name reused): the old data is
// unreadable anyway, and leaving it would only trip ErrTampered.
func (s *Store) ResetNamespace(ns Namespace, key []byte) error {
	return s.create(ns, key, true)
}

func (s *Store) create(ns Namespace, key []byte, reset bool) error {
	x, err := keyedNamespace(ns, key)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(ns)) != nil {
			if !reset {
				return fmt.Errorf("%w: %q", ErrExists, string(ns))
			}
			if err := tx.DeleteBucket([]byte(ns)); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket([]byte(ns))
		if err != nil {
			return err
		}
		sealed, err := x.sealValue([]byte(checkValue), checkAAD(ns))
		if err != nil {
			return err
		}
		return b.Put([]byte(keyCheck), sealed)
	})
	if err != nil {
		return fmt.Errorf("store: create namespace: %w", err)
	}
	s.mu.Lock()
	s.keys[ns] = x
	s.mu.Unlock()
	return nil
}

func keyedNamespace(ns Namespace, key []byte) (*xaes, error) {
	if err := ns.check(); err != nil {
		return nil, err
	}
	if ns == Public {
		return nil, fmt.Errorf("%w: the public namespace has no key", ErrInvalid)
	}
	return newXAES(key)
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&Tx{s: s, tx: tx}) })
}

// Update runs fn in a read-write transaction, committed (and fsynced) if
// fn returns nil and rolled back otherwise, or if fn panics.
func (s *Store) Update(fn func(*Tx) error) error {
	var created map[Namespace]*xaes
	err := s.db.Update(func(tx *bolt.Tx) error {
		t := &Tx{s: s, tx: tx, create: true}
		if err := fn(t); err != nil {
			return err
		}
		created = t.created
		return nil
	})
	if err != nil {
		return err
	}
	// Namespaces made in the transaction exist, and are usable, only once
	// it has committed.
	s.mu.Lock()
	for ns, x := range created {
		s.keys[ns] = x
	}
	s.mu.Unlock()
	return nil
}

// Batch is Update for many concurrent callers: their functions run in a
// shared transaction with one commit, so concurrent activations share an
// fsync. It returns once the commit is durable. fn may run more than once
// (bbolt retries the batch without a failing function), so it must have
// no effects outside the transaction, or reset them when it starts.
func (s *Store) Batch(fn func(*Tx) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return fn(&Tx{s: s, tx: tx}) })
}

// Tx is a transaction, valid only inside the function given to View,
// Update or Batch. Values it returns are copies, valid after it ends.
type Tx struct {
	s  *Store
	tx *bolt.Tx
	// create allows CreateNamespace (Update only: a Batch may run its
	// function more than once). created holds the namespaces it made.
	create  bool
	created map[Namespace]*xaes
}

// CreateNamespace creates ns under key inside an Update transaction, so
// that a namespace and its first values commit together, or not at all.
// It fails with ErrExists if ns exists: a name is never silently reused.
func (t *Tx) CreateNamespace(ns Namespace, key []byte) error {
	if !t.create {
		return fmt.Errorf("%w: CreateNamespace needs an Update transaction", ErrInvalid)
	}
	x, err := keyedNamespace(ns, key)
	if err != nil {
		return err
	}
	if t.tx.Bucket([]byte(ns)) != nil {
		return fmt.Errorf("store: create namespace: %w: %q", ErrExists, string(ns))
	}
	b, err := t.tx.CreateBucket([]byte(ns))
	if err != nil {
		return fmt.Errorf("store: create namespace: %w", err)
	}
	sealed, err := x.sealValue([]byte(checkValue), checkAAD(ns))
	if err != nil {
		return err
	}
	if err := b.Put([]byte(keyCheck), sealed); err != nil {
		return err
	}
	if t.created == nil {
		t.created = make(map[Namespace]*xaes)
	}
	t.created[ns] = x
	return nil
}

// access is Store.access, seeing namespaces created in this transaction.
func (t *Tx) access(ns Namespace, table, key string, hasKey bool) (*xaes, error) {
	if x, ok := t.created[ns]; ok {
		if _, err := t.s.access(Public, table, key, hasKey); err != nil {
			return nil, err
		}
		return x, nil
	}
	return t.s.access(ns, table, key, hasKey)
}

// Get returns the value at ns/table/key. Errors: ErrNotFound, ErrLocked,
// ErrTampered, ErrInvalid.
func (t *Tx) Get(ns Namespace, table, key string) ([]byte, error) {
	x, err := t.access(ns, table, key, true)
	if err != nil {
		return nil, err
	}
	b := t.table(ns, table)
	if b == nil {
		return nil, fmt.Errorf("%w: %s/%s/%q", ErrNotFound, ns, table, key)
	}
	v := b.Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("%w: %s/%s/%q", ErrNotFound, ns, table, key)
	}
	return open(x, ns, table, key, v)
}

// Put stores value (at most MaxValueSize bytes) at ns/table/key, creating
// the table if needed. Errors: ErrLocked, ErrInvalid, and bbolt's for a
// read-only transaction.
func (t *Tx) Put(ns Namespace, table, key string, value []byte) error {
	x, err := t.access(ns, table, key, true)
	if err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: value of %d bytes at %s/%s/%q, limit %d", ErrInvalid, len(value), ns, table, key, MaxValueSize)
	}
	nb := t.tx.Bucket([]byte(ns))
	if nb == nil {
		return fmt.Errorf("%w: namespace %q", ErrNotFound, string(ns))
	}
	b, err := nb.CreateBucketIfNotExists([]byte(table))
	if err != nil {
		return fmt.Errorf("store: %s/%s: %w", ns, table, err)
	}
	stored := value
	if x != nil {
		if stored, err = x.sealValue(value, valueAAD(ns, table, key)); err != nil {
			return err
		}
	} else {
		stored = bytes.Clone(value) // bbolt keeps the slice until commit
	}
	if err := b.Put([]byte(key), stored); err != nil {
		return fmt.Errorf("store: %s/%s/%q: %w", ns, table, key, err)
	}
	return nil
}

// Delete removes ns/table/key. Errors: ErrNotFound if it is absent,
// ErrLocked, ErrInvalid.
func (t *Tx) Delete(ns Namespace, table, key string) error {
	if _, err := t.access(ns, table, key, true); err != nil {
		return err
	}
	b := t.table(ns, table)
	if b == nil || b.Get([]byte(key)) == nil {
		return fmt.Errorf("%w: %s/%s/%q", ErrNotFound, ns, table, key)
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("store: %s/%s/%q: %w", ns, table, key, err)
	}
	return nil
}

// ForEach calls fn with every key of ns/table and its value, in key
// order, stopping at the first error, which it returns. A missing table
// has no keys. fn must not modify the table; collect keys and change them
// after ForEach returns. value is a copy fn may keep.
func (t *Tx) ForEach(ns Namespace, table string, fn func(key string, value []byte) error) error {
	x, err := t.access(ns, table, "", false)
	if err != nil {
		return err
	}
	b := t.table(ns, table)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return fmt.Errorf("%w: unexpected bucket %s/%s/%q", ErrTampered, ns, table, k)
		}
		pt, err := open(x, ns, table, string(k), v)
		if err != nil {
			return err
		}
		return fn(string(k), pt)
	})
}

// Next increments the counter seq of ns and returns its new value: 1 the
// first time. The counter commits with the transaction (so Next needs a
// read-write one) and is sealed like any value.
func (t *Tx) Next(ns Namespace, seq string) (uint64, error) {
	// "counters" stands in for the reserved table, to check ns and seq.
	x, err := t.access(ns, "counters", seq, true)
	if err != nil {
		return 0, err
	}
	var n uint64
	if b := t.table(ns, tableCounter); b != nil {
		if v := b.Get([]byte(seq)); v != nil {
			pt, err := open(x, ns, tableCounter, seq, v)
			if err != nil {
				return 0, err
			}
			if len(pt) != 8 {
				return 0, fmt.Errorf("%w: counter %s/%q of %d bytes", ErrTampered, ns, seq, len(pt))
			}
			n = binary.BigEndian.Uint64(pt)
		}
	}
	n++
	if err := t.putRaw(x, ns, tableCounter, seq, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return 0, err
	}
	return n, nil
}

func (t *Tx) putRaw(x *xaes, ns Namespace, table, key string, value []byte) error {
	nb := t.tx.Bucket([]byte(ns))
	if nb == nil {
		return fmt.Errorf("%w: namespace %q", ErrNotFound, string(ns))
	}
	b, err := nb.CreateBucketIfNotExists([]byte(table))
	if err != nil {
		return fmt.Errorf("store: %s: %w", ns, err)
	}
	if x != nil {
		if value, err = x.sealValue(value, valueAAD(ns, table, key)); err != nil {
			return err
		}
	}
	return b.Put([]byte(key), value)
}

func (t *Tx) table(ns Namespace, table string) *bolt.Bucket {
	nb := t.tx.Bucket([]byte(ns))
	if nb == nil {
		return nil
	}
	return nb.Bucket([]byte(table))
}

// access checks the namespace and table names, and the key if hasKey,
// and returns ns's sealing state: nil for Public.
func (s *Store) access(ns Namespace, table, key string, hasKey bool) (*xaes, error) {
	if err := ns.check(); err != nil {
		return nil, err
	}
	if err := checkName(table); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	if hasKey && (key == "" || len(key) > MaxKeyLen) {
		return nil, fmt.Errorf("%w: key of %d bytes, want 1..%d", ErrInvalid, len(key), MaxKeyLen)
	}
	if ns == Public {
		return nil, nil
	}
	s.mu.RLock()
	x := s.keys[ns]
	s.mu.RUnlock()
	if x == nil {
		return nil, fmt.Errorf("%w: %q", ErrLocked, string(ns))
	}
	return x, nil
}

// open returns the plaintext of a stored value: a copy of a Public value,
// or the opened sealed value.
func open(x *xaes, ns Namespace, table, key string, v []byte) ([]byte, error) {
	if x == nil {
		if len(v) > MaxValueSize {
			return nil, fmt.Errorf("%w: %s/%s/%q of %d bytes, limit %d", ErrTampered, ns, table, key, len(v), MaxValueSize)
		}
		return bytes.Clone(v), nil
	}
	pt, err := x.openValue(v, valueAAD(ns, table, key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s/%q", ErrTampered, ns, table, key)
	}
	return pt, nil
}

var errShort = errors.New("sealed value too short")

// sealValue returns version ‖ nonce ‖ ciphertext ‖ tag.
func (x *xaes) sealValue(pt, aad []byte) ([]byte, error) {
	nonce := make([]byte, xaesNonceSize)
	rand.Read(nonce)
	out := make([]byte, 1, 1+xaesOverhead+len(pt))
	out[0] = sealedV1
	return x.seal(out, nonce, pt, aad)
}

func (x *xaes) openValue(v, aad []byte) ([]byte, error) {
	if len(v) < 1+xaesOverhead || v[0] != sealedV1 || len(v) > 1+xaesOverhead+MaxValueSize {
		return nil, errShort
	}
	return x.open(v[1:], aad)
}

// valueAAD binds a value to its place: "cofre-store-v1" and the
// namespace, table and key, each preceded by its length (4 bytes
// big-endian), so that no two places give the same associated data.
func valueAAD(ns Namespace, table, key string) []byte {
	b := []byte(formatV1)
	for _, s := range []string{string(ns), table, key} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// checkAAD is the key-check record's place; its empty table name is one
// no caller value can have.
func checkAAD(ns Namespace) []byte { return valueAAD(ns, "", keyCheck) }
