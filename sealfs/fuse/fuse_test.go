package fuse

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/internal/fusetest"
	"github.com/cofre-cc/cofre/sealfs"
)

const seg = 64 << 10

// mountT mounts a fresh volume and unmounts it at cleanup. The tests need
// /dev/fuse and root (or fusermount3); fusetest.Require skips them, with
// the reason, on a machine without (fails with COFRE_REQUIRE_FUSE=1).
func mountT(t *testing.T, logw io.Writer) (v *sealfs.Volume, backing, mnt string, srv *Server) {
	t.Helper()
	return mountWith(t, logw, Options{})
}

func mountWith(t *testing.T, logw io.Writer, opts Options) (v *sealfs.Volume, backing, mnt string, srv *Server) {
	t.Helper()
	fusetest.Require(t)
	backing, mnt = t.TempDir(), t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	v, err := sealfs.OpenVolume(backing, key, sealfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var log *slog.Logger
	if logw != nil {
		log = slog.New(slog.NewTextHandler(logw, nil))
	}
	opts.Logger = log
	srv, err = Mount(v, mnt, opts)
	if err != nil {
		t.Fatalf("mount (needs root or fusermount3, and /dev/fuse): %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return v, backing, mnt, srv
}

// plaintext is recognisable in ciphertext: every 64 bytes hold the marker.
func plaintext(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "PLAINTEXT-MARKER-%046d", i)
	}
	return b.Bytes()[:n]
}

// assertNoPlaintext fails if any backing file holds a plaintext marker.
func assertNoPlaintext(t *testing.T, backing string) {
	t.Helper()
	filepath.WalkDir(backing, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		if bytes.Contains(b, []byte("PLAINTEXT-MARKER")) {
			t.Errorf("backing file %s holds plaintext", p)
		}
		return nil
	})
}

func TestRoundTrip(t *testing.T) {
	v, backing, mnt, _ := mountT(t, nil)
	for _, n := range []int{0, 1, seg - 1, seg, seg + 1, 3*seg + 5, 1<<20 + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			name := fmt.Sprintf("f%d", n)
			want := plaintext(n)
			if err := os.WriteFile(filepath.Join(mnt, name), want, 0o640); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(mnt, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(want))
			}
			fi, err := os.Stat(filepath.Join(mnt, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != int64(n) || fi.Mode().Perm() != 0o640 {
				t.Errorf("stat: size %d mode %v, want %d -rw-r-----", fi.Size(), fi.Mode(), n)
			}
			// The library reads what the mount wrote.
			f, err := v.Open(name, os.O_RDONLY)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lib, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(lib, want) {
				t.Fatalf("library read: %d bytes, %v", len(lib), err)
			}
		})
	}
	assertNoPlaintext(t, backing)
}

func TestRandomAccess(t *testing.T) {
	_, backing, mnt, _ := mountT(t, nil)
	p := filepath.Join(mnt, "r")
	want := plaintext(3*seg + 100)
	if err := os.WriteFile(p, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		off int64
		n   int
	}{{0, 1}, {seg - 3, 7}, {2*seg + 10, seg}, {int64(len(want)) - 1, 50}, {5 * seg, 10}} {
		b := bytes.Repeat([]byte{'x'}, w.n)
		if _, err := f.WriteAt(b, w.off); err != nil {
			t.Fatal(err)
		}
		if end := w.off + int64(w.n); end > int64(len(want)) {
			want = append(want, make([]byte, end-int64(len(want)))...)
		}
		copy(want[w.off:], b)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{4*seg + 3, seg, 0, 2*seg + 1} {
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		if size <= int64(len(want)) {
			want = want[:size]
		} else {
			want = append(want, make([]byte, size-int64(len(want)))...)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after truncate to %d: %d bytes, %v; differ", size, len(got), err)
		}
	}
	// O_APPEND through the kernel's idea of the size.
	a, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	a.Close()
	want = append(want, "tail"...)
	if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
		t.Fatal("append: content differs")
	}
	assertNoPlaintext(t, backing)
}

func TestDirectories(t *testing.T) {
	_, backing, mnt, _ := mountT(t, nil)
	j := func(s ...string) string { return filepath.Join(append([]string{mnt}, s...)...) }
	if err := os.MkdirAll(j("a", "b"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a/x", "a/b/y", "z"} {
		if err := os.WriteFile(j(f), plaintext(len(f)*1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	des, err := os.ReadDir(j("a"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		fi, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s:%v:%d", de.Name(), de.IsDir(), map[bool]int64{true: 0, false: fi.Size()}[de.IsDir()]))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "b:true:0 x:false:3000" {
		t.Errorf("readdir a = %v", got)
	}

	steps := []struct {
		name string
		op   func() error
		want error // nil, or a syscall.Errno
	}{
		{"rename in dir", func() error { return os.Rename(j("a", "x"), j("a", "x2")) }, nil},
		{"rename across dirs", func() error { return os.Rename(j("a", "x2"), j("a", "b", "x3")) }, nil},
		{"rename over existing", func() error { return os.Rename(j("z"), j("a", "b", "y")) }, nil},
		{"old name gone", func() error { _, err := os.Stat(j("a", "x")); return err }, syscall.ENOENT},
		{"rename dir", func() error { return os.Rename(j("a", "b"), j("c")) }, nil},
		{"rmdir non-empty", func() error { return os.Remove(j("c")) }, syscall.ENOTEMPTY},
		{"remove file", func() error { return os.Remove(j("c", "x3")) }, nil},
		{"remove missing", func() error { return os.Remove(j("c", "x3")) }, syscall.ENOENT},
		{"symlink refused", func() error { return os.Symlink("z", j("l")) }, syscall.ENOTSUP},
	}
	for _, s := range steps {
		err := s.op()
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.want)
		}
	}
	// y was replaced by z's content (4 bytes name "z" → 1000 bytes).
	if b, err := os.ReadFile(j("c", "y")); err != nil || !bytes.Equal(b, plaintext(1000)) {
		t.Fatalf("renamed-over file: %d bytes, %v", len(b), err)
	}
	if b, err := os.ReadFile(j("c", "x3")); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("removed file read: %d bytes, %v", len(b), err)
	}
	assertNoPlaintext(t, backing)
}

func TestConcurrent(t *testing.T) {
	_, backing, mnt, _ := mountT(t, nil)
	const workers = 6
	shared := filepath.Join(mnt, "shared")
	if err := os.WriteFile(shared, make([]byte, (workers+1)*seg), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Add(2)
		go func() { // own file, written then read back
			defer wg.Done()
			p := filepath.Join(mnt, fmt.Sprintf("own%d", w))
			want := plaintext(seg*2 + w*1000)
			for range 5 {
				if err := os.WriteFile(p, want, 0o600); err != nil {
					errs <- err
					return
				}
				if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("worker %d: read back %d bytes, %v", w, len(got), err)
					return
				}
			}
		}()
		go func() { // a region of the shared file, overlapping segments with neighbours
			defer wg.Done()
			f, err := os.OpenFile(shared, os.O_RDWR, 0)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			// Disjoint regions that straddle a segment boundary and share
			// each segment with a neighbour: read-modify-write must not
			// lose a neighbour's bytes.
			b := bytes.Repeat([]byte{byte('A' + w)}, seg/2)
			off := int64(w*seg + 3*seg/4)
			got := make([]byte, seg/2)
			for range 5 {
				if _, err := f.WriteAt(b, off); err != nil {
					errs <- err
					return
				}
				if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, b) {
					errs <- fmt.Errorf("shared region %d: %v or content differs", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		off := w*seg + 3*seg/4
		if !bytes.Equal(b[off:off+seg/2], bytes.Repeat([]byte{byte('A' + w)}, seg/2)) {
			t.Errorf("shared region %d lost bytes", w)
		}
	}
	assertNoPlaintext(t, backing)
}

func TestTampered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, backing string)
	}{
		{"flipped ciphertext byte", func(t *testing.T, backing string) {
			flip(t, filepath.Join(backing, "victim"), -100)
		}},
		{"flipped header byte", func(t *testing.T, backing string) {
			flip(t, filepath.Join(backing, "victim"), 30)
		}},
		{"file swapped with another", func(t *testing.T, backing string) {
			b, err := os.ReadFile(filepath.Join(backing, "other"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(backing, "victim"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, backing string) {
			p := filepath.Join(backing, "victim")
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, fi.Size()-10); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log syncBuffer
			_, backing, mnt, _ := mountT(t, &log)
			for _, n := range []string{"victim", "other"} {
				if err := os.WriteFile(filepath.Join(mnt, n), plaintext(2*seg+7), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tt.tamper(t, backing)
			got, err := os.ReadFile(filepath.Join(mnt, "victim"))
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("read of tampered file: %d bytes, err %v; want EIO", len(got), err)
			}
			if !strings.Contains(log.String(), "integrity failure") {
				t.Errorf("no integrity failure logged; log: %s", log.String())
			}
			// The other file is unaffected.
			if b, err := os.ReadFile(filepath.Join(mnt, "other")); err != nil || !bytes.Equal(b, plaintext(2*seg+7)) {
				t.Errorf("untouched file: %d bytes, %v", len(b), err)
			}
		})
	}
}

func flip(t *testing.T, p string, off int64) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x01
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUnmountThenRootHash(t *testing.T) {
	v, _, mnt, srv := mountT(t, nil)
	before, err := v.RootHash()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Unmount(); err != nil {
		t.Fatal(err)
	}
	after, err := v.RootHash()
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("root hash unchanged by a write through the mount")
	}
	if _, err := os.Stat(filepath.Join(mnt, "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("mountpoint still serves the volume after Unmount: %v", err)
	}
	if err := srv.Unmount(); err != nil { // idempotent, for the cleanup
		t.Errorf("second Unmount: %v", err)
	}
}

func TestMountErrors(t *testing.T) {
	key := make([]byte, 32)
	v, err := sealfs.OpenVolume(t.TempDir(), key, sealfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Mount(nil, t.TempDir(), Options{}); err == nil {
		t.Error("nil volume mounted")
	}
	if _, err := Mount(v, filepath.Join(t.TempDir(), "missing"), Options{}); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("missing mountpoint: %v, want ENOENT", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSymlinkEscape: the host replaces a backing file, or a parent
// directory, by a symlink to something outside the volume. Metadata
// operations through the mount (run as root) must fail and leave the
// outside target untouched.
func TestSymlinkEscape(t *testing.T) {
	_, backing, mnt, _ := mountT(t, nil)
	outside := t.TempDir()
	target := filepath.Join(outside, "g")
	if err := os.WriteFile(target, []byte("host file"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(target, old, old); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		fi, err := os.Lstat(target)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		ents, err := os.ReadDir(outside)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("mode %v uid %d gid %d mtime %v atime %v entries %d", fi.Mode(), st.Uid, st.Gid, fi.ModTime().UTC(), time.Unix(st.Atim.Unix()).UTC(), len(ents))
	}
	before := snapshot()

	// Create through the mount (so the kernel knows the inodes), then swap
	// the backing entries for symlinks behind its back.
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"f", "d/g"} {
		if err := os.WriteFile(filepath.Join(mnt, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(backing, "f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(backing, "f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(backing, "d"), filepath.Join(backing, "d.orig")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(backing, "d")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		op   func() error
		ok   bool // may succeed: it changes the symlink itself, inside the volume
	}{
		{name: "chmod file", op: func() error { return os.Chmod(filepath.Join(mnt, "f"), 0o666) }},
		{name: "chown file", op: func() error { return os.Chown(filepath.Join(mnt, "f"), 1234, 1234) }, ok: true},
		{name: "utimens file", op: func() error { return os.Chtimes(filepath.Join(mnt, "f"), now, now) }},
		{name: "truncate file", op: func() error { return os.Truncate(filepath.Join(mnt, "f"), 0) }},
		{name: "create over file", op: func() error { return os.WriteFile(filepath.Join(mnt, "f"), []byte("y"), 0o644) }},
		{name: "chmod in dir", op: func() error { return os.Chmod(filepath.Join(mnt, "d", "g"), 0o666) }},
		{name: "chown in dir", op: func() error { return os.Chown(filepath.Join(mnt, "d", "g"), 1234, 1234) }},
		{name: "utimens in dir", op: func() error { return os.Chtimes(filepath.Join(mnt, "d", "g"), now, now) }},
		{name: "create in dir", op: func() error { return os.WriteFile(filepath.Join(mnt, "d", "new"), []byte("y"), 0o644) }},
		{name: "mkdir in dir", op: func() error { return os.Mkdir(filepath.Join(mnt, "d", "newdir"), 0o755) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); err == nil && !tc.ok {
				t.Errorf("%s through a planted symlink succeeded, want an error", tc.name)
			}
			if after := snapshot(); after != before {
				t.Errorf("outside file changed:\n before %s\n after  %s", before, after)
			}
		})
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "host file" {
		t.Errorf("outside content = %q, %v", b, err)
	}
}

// TestKernelCache: a file read once through the mount stays in the kernel's
// page cache across opens (the default), so a later change to the backing
// file may go unseen, but what is read is always the authenticated content
// — never the attacker's bytes. With NoKernelCache every open goes back to
// the backing file and the change is refused.
func TestKernelCache(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoKernelCache=%v", noCache), func(t *testing.T) {
			_, backing, mnt, _ := mountWith(t, nil, Options{NoKernelCache: noCache})
			want := plaintext(2*seg + 7)
			p := filepath.Join(mnt, "f")
			if err := os.WriteFile(p, want, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("first read: %d bytes, %v", len(got), err)
			}
			flip(t, filepath.Join(backing, "f"), 200) // first segment
			got, err := os.ReadFile(p)
			switch {
			case err == nil && !bytes.Equal(got, want):
				t.Fatal("read returned bytes that are neither the written content nor an error")
			case noCache && !errors.Is(err, syscall.EIO):
				t.Fatalf("NoKernelCache: read of a tampered file: %d bytes, err %v; want EIO", len(got), err)
			case !noCache && err != nil && !errors.Is(err, syscall.EIO):
				t.Fatalf("read: %v", err)
			}
		})
	}
}
