package sealfs

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

func TestRootHashChanges(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "a", pattern(3*testSeg, 1))
	writeFile(t, v, "b", pattern(10, 2))
	hash := func() [32]byte {
		t.Helper()
		h, err := v.RootHash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := hash()
	if hash() != h0 {
		t.Fatal("root hash not stable without changes")
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"write one byte", func() error {
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{0}, testSeg+1)
			return err
		}},
		{"rewrite the same bytes", func() error {
			f, err := v.Open("b", os.O_RDWR)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(pattern(10, 2), 0)
			return err
		}},
		{"truncate", func() error {
			f, err := v.Open("a", os.O_RDWR)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(5)
		}},
		{"create", func() error { writeFile(t, v, "c", nil); return nil }},
		{"rename", func() error { return v.Rename("c", "d") }},
		{"mkdir and move", func() error {
			if err := v.Mkdir("dir", 0o700); err != nil {
				return err
			}
			return v.Rename("d", "dir/d")
		}},
		{"remove", func() error { return v.Remove("b") }},
	}
	seen := map[[32]byte]string{h0: "initial"}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		h := hash()
		if prev, ok := seen[h]; ok {
			t.Errorf("%s: root hash equals the one after %s", s.name, prev)
		}
		seen[h] = s.name
	}
	r, err := v.Fsck(t.Context())
	if err != nil || !r.OK() || r.RootHash != hash() {
		t.Errorf("Fsck root hash differs from RootHash: %+v, %v", r, err)
	}
}

// TestRootHashRollback rolls one file back to an older copy of its
// ciphertext: the file itself authenticates (it is a genuine old version)
// but the root hash a new process computes differs from the one reported
// after the last write; the process that wrote it refuses it outright.
func TestRootHashRollback(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "a", pattern(2*testSeg, 1))
	writeFile(t, v, "b", pattern(10, 2))
	oldA, oldB := mustReadDisk(t, v, "a"), mustReadDisk(t, v, "b")
	h1, _ := v.RootHash()
	writeFile(t, v, "a", pattern(2*testSeg, 5))
	writeFile(t, v, "b", pattern(10, 6))
	h2, err := v.RootHash() // what the coordinator stores at unmount
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		restore func()
	}{
		{"one file rolled back", func() { writeDisk(t, v, "a", oldA) }},
		{"whole volume rolled back", func() { writeDisk(t, v, "a", oldA); writeDisk(t, v, "b", oldB) }},
		{"file removed", func() { os.Remove(diskPath(v, "b")) }},
		{"file added", func() { writeDisk(t, v, "a2", mustReadDisk(t, v, "a")) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := map[string][]byte{"a": mustReadDisk(t, v, "a"), "b": mustReadDisk(t, v, "b")}
			t.Cleanup(func() {
				os.Remove(diskPath(v, "a2"))
				for k, b := range cur {
					writeDisk(t, v, k, b)
				}
			})
			tc.restore()
			if _, err := v.RootHash(); !errors.Is(err, ErrTampered) {
				t.Errorf("RootHash of the writing volume: %v, want ErrTampered", err)
			}
			h, err := openVolume(t, v.Dir(), testKey(1)).RootHash()
			if err != nil {
				// An added copy is bound to another path.
				if tc.name == "file added" && errors.Is(err, ErrTampered) {
					return
				}
				t.Fatal(err)
			}
			if h == h2 {
				t.Fatal("rollback not visible in the root hash")
			}
		})
	}
	writeDisk(t, v, "a", oldA)
	writeDisk(t, v, "b", oldB)
	if _, err := v.RootHash(); !errors.Is(err, ErrTampered) {
		t.Errorf("RootHash of the writing volume after a full rollback: %v, want ErrTampered", err)
	}
	v = openVolume(t, v.Dir(), testKey(1))
	if h, _ := v.RootHash(); h != h1 {
		t.Error("full rollback should reproduce the old root hash (the caller compares with the latest)")
	}
	if !bytes.Equal(mustRead(t, v, "a"), pattern(2*testSeg, 1)) {
		t.Error("rolled-back file should still authenticate: only the root hash detects it")
	}
}

func TestRootHashKey(t *testing.T) {
	dir := t.TempDir()
	v := openVolume(t, dir, testKey(1))
	writeFile(t, v, "a", []byte("x"))
	h, _ := v.RootHash()
	// Same files, hashed under another volume's key, cannot match: the
	// files are unreadable there (ErrWrongKey). An empty volume's hash is
	// keyed too.
	e1, _ := openVolume(t, t.TempDir(), testKey(1)).RootHash()
	e2, _ := openVolume(t, t.TempDir(), testKey(2)).RootHash()
	if e1 == e2 || e1 == h {
		t.Error("root hash of an empty volume does not depend on the key")
	}
}

// TestConcurrent runs writers through two Files on one path and readers
// through others; run with -race. Each writer owns a region and writes
// whole versions of it; a reader must see, per WriteAt, a whole version.
func TestConcurrent(t *testing.T) {
	v := newVolume(t)
	const region = testSeg + 300 // regions straddle segment boundaries
	const writers, versions = 4, 20
	writeFile(t, v, "f", make([]byte, writers*region))
	fill := func(w, ver int) []byte { return bytes.Repeat([]byte{byte(w*versions + ver + 1)}, region) }
	var files []*File
	for range 4 {
		f, err := v.Open("f", os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range writers {
		wg.Go(func() {
			for ver := range versions {
				if _, err := files[w%2].WriteAt(fill(w, ver), int64(w*region)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			buf := make([]byte, region)
			for range 50 {
				w := rng.IntN(writers)
				if _, err := files[2+r%2].ReadAt(buf, int64(w*region)); err != nil {
					errs <- err
					return
				}
				first := buf[0]
				if bytes.Count(buf, []byte{first}) != region {
					errs <- fmt.Errorf("reader saw a torn region %d", w)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := v.RootHash(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustRead(t, v, "f")
	for w := range writers {
		if !bytes.Equal(got[w*region:(w+1)*region], fill(w, versions-1)) {
			t.Errorf("region %d does not hold the last version", w)
		}
	}
}
