package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

func newKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

type fixture struct {
	path       string
	s          *Store
	dk, ka, kb []byte
}

// newFixture opens a store with Global, manifest "a" and manifest "b"
// created, and a value in each plus one in Public.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "state.db"), dk: newKey(), ka: newKey(), kb: newKey()}
	f.s = mustOpen(t, f.path)
	for _, c := range []struct {
		ns  Namespace
		key []byte
	}{{Global, f.dk}, {Manifest("a"), f.ka}, {Manifest("b"), f.kb}} {
		if err := f.s.CreateNamespace(c.ns, c.key); err != nil {
			t.Fatal(err)
		}
	}
	err := f.s.Update(func(tx *Tx) error {
		return errors.Join(
			tx.Put(Global, "ca", "root", []byte("root key")),
			tx.Put(Manifest("a"), "secrets", "db", []byte("password-a")),
			tx.Put(Manifest("a"), "secrets", "api", []byte("token-a")),
			tx.Put(Manifest("b"), "secrets", "db", []byte("password-b")),
			tx.Put(Public, "index", "a", []byte("summary a")),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes the store and opens it again with every namespace locked.
func (f *fixture) reopen(t *testing.T) {
	t.Helper()
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	f.s = mustOpen(t, f.path)
}

func (f *fixture) unlockAll(t *testing.T) {
	t.Helper()
	for ns, k := range map[Namespace][]byte{Global: f.dk, Manifest("a"): f.ka, Manifest("b"): f.kb} {
		if err := f.s.Unlock(ns, k); err != nil {
			t.Fatalf("Unlock(%s): %v", ns, err)
		}
	}
}

func get(s *Store, ns Namespace, table, key string) ([]byte, error) {
	var v []byte
	err := s.View(func(tx *Tx) error {
		var err error
		v, err = tx.Get(ns, table, key)
		return err
	})
	return v, err
}

// raw edits the file underneath a closed store, as the host can.
func (f *fixture) raw(t *testing.T, edit func(tx *bolt.Tx) error) {
	t.Helper()
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(f.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	f.s = mustOpen(t, f.path)
}

func TestRoundTripAndReopen(t *testing.T) {
	f := newFixture(t)
	want := map[[3]string]string{
		{"global", "ca", "root"}:         "root key",
		{"manifest/a", "secrets", "db"}:  "password-a",
		{"manifest/a", "secrets", "api"}: "token-a",
		{"manifest/b", "secrets", "db"}:  "password-b",
		{"public", "index", "a"}:         "summary a",
	}
	check := func() {
		t.Helper()
		for k, v := range want {
			got, err := get(f.s, Namespace(k[0]), k[1], k[2])
			if err != nil || string(got) != v {
				t.Errorf("%v = %q, %v; want %q", k, got, err, v)
			}
		}
	}
	check()
	f.reopen(t)
	for _, ns := range []Namespace{Global, Manifest("a"), Manifest("b")} {
		if !f.s.Locked(ns) {
			t.Errorf("%s unlocked after reopen", ns)
		}
	}
	if f.s.Locked(Public) {
		t.Error("Public is locked")
	}
	// Public reads need no key.
	if got, err := get(f.s, Public, "index", "a"); err != nil || string(got) != "summary a" {
		t.Errorf("public read while locked = %q, %v", got, err)
	}
	f.unlockAll(t)
	check()

	nss, err := f.s.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	if wantNS := []Namespace{Global, Manifest("a"), Manifest("b"), Public}; !slices.Equal(nss, wantNS) {
		t.Errorf("Namespaces() = %v, want %v", nss, wantNS)
	}
}

func TestValuesSealedOnDisk(t *testing.T) {
	f := newFixture(t)
	f.raw(t, func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return walk(b, func(k, v []byte) {
				if Namespace(name) != Public && (bytes.Contains(v, []byte("password")) || bytes.Contains(v, []byte("root key")) || bytes.Contains(v, []byte("token"))) {
					t.Errorf("%s/%s stored in clear", name, k)
				}
			})
		})
	})
}

func walk(b *bolt.Bucket, fn func(k, v []byte)) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return walk(b.Bucket(k), fn)
		}
		fn(k, v)
		return nil
	})
}

func TestForEachDeleteNext(t *testing.T) {
	f := newFixture(t)
	var keys []string
	err := f.s.View(func(tx *Tx) error {
		return tx.ForEach(Manifest("a"), "secrets", func(k string, v []byte) error {
			keys = append(keys, k+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"api=token-a", "db=password-a"}; !slices.Equal(keys, want) {
		t.Errorf("ForEach = %v, want %v", keys, want)
	}
	// A missing table has no keys.
	err = f.s.View(func(tx *Tx) error {
		return tx.ForEach(Manifest("a"), "nothing", func(string, []byte) error { return errors.New("called") })
	})
	if err != nil {
		t.Errorf("ForEach of missing table: %v", err)
	}
	// fn's error stops ForEach and comes back.
	stop := errors.New("stop")
	if err := f.s.View(func(tx *Tx) error {
		return tx.ForEach(Manifest("a"), "secrets", func(string, []byte) error { return stop })
	}); !errors.Is(err, stop) {
		t.Errorf("ForEach error = %v, want stop", err)
	}

	err = f.s.Update(func(tx *Tx) error { return tx.Delete(Manifest("a"), "secrets", "db") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(f.s, Manifest("a"), "secrets", "db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Delete: err = %v, want ErrNotFound", err)
	}
	err = f.s.Update(func(tx *Tx) error { return tx.Delete(Manifest("a"), "secrets", "db") })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}

	for _, ns := range []Namespace{Global, Public} {
		for want := uint64(1); want <= 3; want++ {
			var got uint64
			if err := f.s.Update(func(tx *Tx) error {
				var err error
				got, err = tx.Next(ns, "serial")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s Next = %d, want %d", ns, got, want)
			}
		}
	}
	f.reopen(t)
	f.unlockAll(t)
	var n uint64
	if err := f.s.Update(func(tx *Tx) error {
		var err error
		n, err = tx.Next(Global, "serial")
		return err
	}); err != nil || n != 4 {
		t.Errorf("Next after reopen = %d, %v; want 4", n, err)
	}
}

func TestLocked(t *testing.T) {
	f := newFixture(t)
	f.reopen(t)
	if err := f.s.Unlock(Manifest("b"), f.kb); err != nil {
		t.Fatal(err)
	}
	a := Manifest("a")
	ops := map[string]func(tx *Tx) error{
		"Get":     func(tx *Tx) error { _, err := tx.Get(a, "secrets", "db"); return err },
		"Put":     func(tx *Tx) error { return tx.Put(a, "secrets", "db", []byte("x")) },
		"Delete":  func(tx *Tx) error { return tx.Delete(a, "secrets", "db") },
		"ForEach": func(tx *Tx) error { return tx.ForEach(a, "secrets", func(string, []byte) error { return nil }) },
		"Next":    func(tx *Tx) error { _, err := tx.Next(a, "n"); return err },
		"Global":  func(tx *Tx) error { _, err := tx.Get(Global, "ca", "root"); return err },
		"unknown": func(tx *Tx) error { _, err := tx.Get(Manifest("zzz"), "t", "k"); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := f.s.Update(op); !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", err)
			}
		})
	}
	// Manifest b, unlocked, works while a is locked.
	if got, err := get(f.s, Manifest("b"), "secrets", "db"); err != nil || string(got) != "password-b" {
		t.Fatalf("b = %q, %v", got, err)
	}
}

func TestUnlockErrors(t *testing.T) {
	f := newFixture(t)
	f.reopen(t)
	tests := []struct {
		name string
		ns   Namespace
		key  []byte
		want error
	}{
		{"wrong key", Manifest("a"), f.kb, ErrWrongKey},
		{"data key for manifest", Manifest("a"), f.dk, ErrWrongKey},
		{"manifest key for global", Global, f.ka, ErrWrongKey},
		{"short key", Manifest("a"), f.ka[:16], ErrInvalid},
		{"no such namespace", Manifest("c"), f.ka, ErrNotFound},
		{"public", Public, f.ka, ErrInvalid},
		{"invalid namespace", Namespace("other"), f.ka, ErrInvalid},
		{"empty manifest name", Manifest(""), f.ka, ErrInvalid},
		{"control character", Manifest("a\n"), f.ka, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.s.Unlock(tt.ns, tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !f.s.Locked(tt.ns) && tt.ns != Public {
				t.Fatal("namespace unlocked by a refused key")
			}
		})
	}
}

func TestCreateAndReset(t *testing.T) {
	f := newFixture(t)
	if err := f.s.CreateNamespace(Manifest("a"), newKey()); !errors.Is(err, ErrExists) {
		t.Fatalf("create existing: err = %v, want ErrExists", err)
	}
	// The failed create left a's key in place.
	if _, err := get(f.s, Manifest("a"), "secrets", "db"); err != nil {
		t.Fatalf("after failed create: %v", err)
	}
	k2 := newKey()
	if err := f.s.ResetNamespace(Manifest("a"), k2); err != nil {
		t.Fatal(err)
	}
	if _, err := get(f.s, Manifest("a"), "secrets", "db"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after reset: err = %v, want ErrNotFound", err)
	}
	f.reopen(t)
	if err := f.s.Unlock(Manifest("a"), f.ka); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key after reset: err = %v, want ErrWrongKey", err)
	}
	if err := f.s.Unlock(Manifest("a"), k2); err != nil {
		t.Fatal(err)
	}
	// Other namespaces are untouched.
	if err := f.s.Unlock(Manifest("b"), f.kb); err != nil {
		t.Fatal(err)
	}
	if got, err := get(f.s, Manifest("b"), "secrets", "db"); err != nil || string(got) != "password-b" {
		t.Fatalf("b = %q, %v", got, err)
	}
	if err := f.s.CreateNamespace(Public, newKey()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("create public: err = %v, want ErrInvalid", err)
	}
}

// TestTamper edits the file as the host can and expects each change to be
// refused with ErrTampered naming the place.
func TestTamper(t *testing.T) {
	bucket := func(tx *bolt.Tx, ns, table string) *bolt.Bucket {
		return tx.Bucket([]byte(ns)).Bucket([]byte(table))
	}
	tests := []struct {
		name  string
		edit  func(tx *bolt.Tx) error
		ns    Namespace
		table string
		key   string
	}{
		{"value moved to another key", func(tx *bolt.Tx) error {
			b := bucket(tx, "manifest/a", "secrets")
			return b.Put([]byte("api"), bytes.Clone(b.Get([]byte("db"))))
		}, Manifest("a"), "secrets", "api"},
		{"value moved to another table", func(tx *bolt.Tx) error {
			v := bytes.Clone(bucket(tx, "manifest/a", "secrets").Get([]byte("db")))
			b, err := tx.Bucket([]byte("manifest/a")).CreateBucketIfNotExists([]byte("other"))
			if err != nil {
				return err
			}
			return b.Put([]byte("db"), v)
		}, Manifest("a"), "other", "db"},
		{"value moved to another namespace", func(tx *bolt.Tx) error {
			// Same table and key, other manifest: even under one key
			// (if a and b shared it) the AAD would refuse it.
			v := bytes.Clone(bucket(tx, "manifest/b", "secrets").Get([]byte("db")))
			return bucket(tx, "manifest/a", "secrets").Put([]byte("db"), v)
		}, Manifest("a"), "secrets", "db"},
		{"bit flipped", func(tx *bolt.Tx) error {
			b := bucket(tx, "global", "ca")
			v := bytes.Clone(b.Get([]byte("root")))
			v[len(v)/2] ^= 0x10
			return b.Put([]byte("root"), v)
		}, Global, "ca", "root"},
		{"version byte changed", func(tx *bolt.Tx) error {
			b := bucket(tx, "global", "ca")
			v := bytes.Clone(b.Get([]byte("root")))
			v[0] = 2
			return b.Put([]byte("root"), v)
		}, Global, "ca", "root"},
		{"truncated", func(tx *bolt.Tx) error {
			b := bucket(tx, "global", "ca")
			return b.Put([]byte("root"), bytes.Clone(b.Get([]byte("root"))[:10]))
		}, Global, "ca", "root"},
		{"empty", func(tx *bolt.Tx) error {
			return bucket(tx, "global", "ca").Put([]byte("root"), []byte{})
		}, Global, "ca", "root"},
		{"key-check record moved into a table", func(tx *bolt.Tx) error {
			v := bytes.Clone(tx.Bucket([]byte("global")).Get([]byte(keyCheck)))
			return bucket(tx, "global", "ca").Put([]byte(keyCheck), v)
		}, Global, "ca", keyCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.raw(t, tt.edit)
			f.unlockAll(t)
			_, err := get(f.s, tt.ns, tt.table, tt.key)
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("Get: err = %v, want ErrTampered", err)
			}
			place := fmt.Sprintf("%s/%s/%q", tt.ns, tt.table, tt.key)
			if !strings.Contains(err.Error(), place) {
				t.Errorf("error %q does not name %s", err, place)
			}
			err = f.s.View(func(tx *Tx) error {
				return tx.ForEach(tt.ns, tt.table, func(string, []byte) error { return nil })
			})
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("ForEach: err = %v, want ErrTampered", err)
			}
		})
	}
}

func TestTamperKeyCheck(t *testing.T) {
	f := newFixture(t)
	f.raw(t, func(tx *bolt.Tx) error {
		// Manifest b's key-check record copied over a's: a's key no
		// longer opens it, and b's key must not either (the AAD names a).
		v := bytes.Clone(tx.Bucket([]byte("manifest/b")).Get([]byte(keyCheck)))
		return tx.Bucket([]byte("manifest/a")).Put([]byte(keyCheck), v)
	})
	for _, k := range [][]byte{f.ka, f.kb} {
		if err := f.s.Unlock(Manifest("a"), k); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("err = %v, want ErrWrongKey", err)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	f := newFixture(t)
	a := Manifest("a")
	ops := map[string]func(tx *Tx) error{
		"empty table":           func(tx *Tx) error { return tx.Put(a, "", "k", nil) },
		"long table":            func(tx *Tx) error { return tx.Put(a, strings.Repeat("t", MaxNameLen+1), "k", nil) },
		"reserved table":        func(tx *Tx) error { return tx.Put(a, tableCounter, "k", nil) },
		"empty key":             func(tx *Tx) error { return tx.Put(a, "t", "", nil) },
		"long key":              func(tx *Tx) error { return tx.Put(a, "t", strings.Repeat("k", MaxKeyLen+1), nil) },
		"huge value":            func(tx *Tx) error { return tx.Put(a, "t", "k", make([]byte, MaxValueSize+1)) },
		"huge public value":     func(tx *Tx) error { return tx.Put(Public, "t", "k", make([]byte, MaxValueSize+1)) },
		"zero namespace":        func(tx *Tx) error { return tx.Put("", "t", "k", nil) },
		"unknown namespace":     func(tx *Tx) error { _, err := tx.Get("secrets", "t", "k"); return err },
		"manifest/ prefix only": func(tx *Tx) error { _, err := tx.Get("manifest/", "t", "k"); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := f.s.Update(op); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	// The largest value is fine, and an empty one too.
	err := f.s.Update(func(tx *Tx) error {
		return errors.Join(tx.Put(a, "t", "big", make([]byte, MaxValueSize)), tx.Put(a, "t", "empty", nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := get(f.s, a, "t", "empty"); err != nil || len(v) != 0 {
		t.Fatalf("empty value = %q, %v", v, err)
	}
}

// TestRolledBackUpdate: an Update whose function fails or panics commits
// nothing, and everything committed before it survives a reopen.
func TestRolledBackUpdate(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	err := f.s.Update(func(tx *Tx) error {
		if err := tx.Put(Manifest("a"), "secrets", "db", []byte("overwritten")); err != nil {
			return err
		}
		if err := tx.Put(Manifest("a"), "secrets", "new", []byte("new")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Update swallowed a panic")
			}
		}()
		_ = f.s.Update(func(tx *Tx) error {
			if err := tx.Put(Global, "ca", "root", []byte("overwritten")); err != nil {
				return err
			}
			panic("crash in the middle of a transaction")
		})
	}()
	f.reopen(t)
	f.unlockAll(t)
	for _, c := range []struct {
		ns         Namespace
		table, key string
		want       string
	}{
		{Manifest("a"), "secrets", "db", "password-a"},
		{Global, "ca", "root", "root key"},
	} {
		if got, err := get(f.s, c.ns, c.table, c.key); err != nil || string(got) != c.want {
			t.Errorf("%s/%s/%s = %q, %v; want %q", c.ns, c.table, c.key, got, err, c.want)
		}
	}
	if _, err := get(f.s, Manifest("a"), "secrets", "new"); !errors.Is(err, ErrNotFound) {
		t.Errorf("uncommitted key: err = %v, want ErrNotFound", err)
	}
}

func TestConcurrentBatch(t *testing.T) {
	f := newFixture(t)
	const n = 64
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = f.s.Batch(func(tx *Tx) error {
				v, err := tx.Next(Manifest("a"), "instance")
				if err != nil {
					return err
				}
				seqs[i] = v // reset on every run: Batch may rerun fn
				return tx.Put(Manifest("a"), "instances", fmt.Sprint(i), []byte(fmt.Sprint(v)))
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	f.reopen(t)
	f.unlockAll(t)
	got := map[string]string{}
	err := f.s.View(func(tx *Tx) error {
		return tx.ForEach(Manifest("a"), "instances", func(k string, v []byte) error {
			got[k] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d instances stored, want %d", len(got), n)
	}
	slices.Sort(seqs)
	for i, v := range seqs {
		if v != uint64(i+1) {
			t.Fatalf("counter values %v are not 1..%d", seqs, n)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := mustOpen(t, path)
	// A second opener (another coordinator) times out on the file lock.
	_, err := Open(path, Options{LockTimeout: 1})
	if err == nil {
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, berrors.ErrTimeout) {
		t.Fatalf("err = %v, want a lock timeout", err)
	}
	s.Close()

	// A bbolt file that is not a cofre store.
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte(Public))
		if err != nil {
			return err
		}
		return b.Put([]byte(keyFormat), []byte("cofre-store-v0"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(other, Options{}); !errors.Is(err, ErrFormat) {
		t.Fatalf("wrong format: err = %v, want ErrFormat", err)
	}
}

func TestNamespaceNames(t *testing.T) {
	tests := []struct {
		ns       Namespace
		name     string
		manifest bool
	}{
		{Manifest("analytics"), "analytics", true},
		{Manifest("a/b"), "a/b", true},
		{Global, "", false},
		{Public, "", false},
		{Manifest(""), "", false},
		{Namespace("manifest"), "", false},
	}
	for _, tt := range tests {
		name, ok := tt.ns.ManifestName()
		if name != tt.name || ok != tt.manifest {
			t.Errorf("%q.ManifestName() = %q, %v", tt.ns, name, ok)
		}
	}
}

func TestTxCreateNamespace(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := bytes.Repeat([]byte{7}, KeySize)
	ns := Manifest("ward")
	// A failed transaction leaves no namespace behind.
	boom := errors.New("boom")
	if err := s.Update(func(tx *Tx) error {
		if err := tx.CreateNamespace(ns, key); err != nil {
			return err
		}
		if err := tx.Put(ns, "t", "k", []byte("v")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if !s.Locked(ns) {
		t.Fatal("a rolled-back namespace is usable")
	}
	if err := s.Update(func(tx *Tx) error {
		if err := tx.CreateNamespace(ns, key); err != nil {
			return err
		}
		return tx.Put(ns, "t", "k", []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if s.Locked(ns) {
		t.Fatal("a committed namespace is locked")
	}
	// Names are never reused silently.
	if err := s.Update(func(tx *Tx) error { return tx.CreateNamespace(ns, key) }); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if err := s.Batch(func(tx *Tx) error { return tx.CreateNamespace(Manifest("other"), key) }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("create in a batch: %v, want ErrInvalid", err)
	}
}
