package sealfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, testSeg - 1, testSeg, testSeg + 1, 3*testSeg + 5} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			v := newVolume(t)
			data := pattern(size, 3)
			writeFile(t, v, "f", data)
			if got := mustRead(t, v, "f"); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes differ from %d written", len(got), len(data))
			}
			fi, err := os.Stat(diskPath(v, "f"))
			if err != nil {
				t.Fatal(err)
			}
			if want := cipherSize(int64(size), testSeg); fi.Size() != want {
				t.Errorf("ciphertext size = %d, want %d", fi.Size(), want)
			}
			st, err := v.Stat("f")
			if err != nil || st.Size() != int64(size) {
				t.Errorf("Stat size = %v, %v, want %d", st, err, size)
			}
			if bytes.Contains(mustReadDisk(t, v, "f"), pattern(min(size, 64), 3)) && size >= 16 {
				t.Error("plaintext found in ciphertext file")
			}
		})
	}
}

func mustReadDisk(t testing.TB, v *Volume, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(diskPath(v, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type op struct {
	off      int64
	n        int   // bytes to write (pattern), or
	truncate int64 // if n == 0: truncate to this size
}

func TestRandomAccessWrites(t *testing.T) {
	const s = testSeg
	tests := []struct {
		name    string
		initial int
		ops     []op
	}{
		{"overwrite inside one segment", 3 * s, []op{{off: 10, n: 100}}},
		{"overwrite across a boundary", 3 * s, []op{{off: s - 10, n: 20}}},
		{"overwrite whole segments", 3 * s, []op{{off: s, n: s}}},
		{"extend from the middle of the last segment", s + 100, []op{{off: s + 50, n: 2 * s}}},
		{"append at a boundary", 2 * s, []op{{off: 2 * s, n: 1}}},
		{"write past the end leaves zeros", 10, []op{{off: 3*s + 7, n: 9}}},
		{"write past the end of a full segment", s, []op{{off: 2*s + 1, n: 1}}},
		{"write into an empty file at an offset", 0, []op{{off: s + 3, n: 3}}},
		{"large write spanning batches", 0, []op{{off: 5, n: 3*ioBatchBytes + 11}}},
		{"truncate shrink mid-segment", 3*s + 5, []op{{truncate: s + 7}}},
		{"truncate shrink to a boundary", 3*s + 5, []op{{truncate: 2 * s}}},
		{"truncate to zero then write", 3*s + 5, []op{{truncate: 0}, {off: 1, n: 2}}},
		{"truncate grow", 5, []op{{truncate: 2*s + 3}}},
		{"many small writes", 0, []op{{off: 0, n: 100}, {off: 100, n: 4000}, {off: 4100, n: 100}, {off: 50, n: 5000}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVolume(t)
			model := pattern(tc.initial, 1)
			writeFile(t, v, "f", model)
			f, err := v.Open("f", os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range tc.ops {
				if o.n == 0 {
					if err := f.Truncate(o.truncate); err != nil {
						t.Fatal(err)
					}
					if o.truncate < int64(len(model)) {
						model = model[:o.truncate]
					} else {
						model = append(model, make([]byte, int(o.truncate)-len(model))...)
					}
					continue
				}
				p := pattern(o.n, byte(10+i))
				if _, err := f.WriteAt(p, o.off); err != nil {
					t.Fatal(err)
				}
				if end := int(o.off) + o.n; end > len(model) {
					model = append(model, make([]byte, end-len(model))...)
				}
				copy(model[o.off:], p)
			}
			if f.Size() != int64(len(model)) {
				t.Fatalf("Size = %d, want %d", f.Size(), len(model))
			}
			f.Close()
			got := mustRead(t, v, "f")
			if !bytes.Equal(got, model) {
				t.Fatalf("content differs from model (len %d, want %d)", len(got), len(model))
			}
			r, err := v.Fsck(t.Context())
			if err != nil || !r.OK() {
				t.Fatalf("Fsck = %+v, %v", r, err)
			}
		})
	}
}

func TestReadAtPartial(t *testing.T) {
	v := newVolume(t)
	data := pattern(2*testSeg+10, 2)
	writeFile(t, v, "f", data)
	f, err := v.Open("f", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		off     int64
		n       int
		wantN   int
		wantErr error
	}{
		{0, 10, 10, nil},
		{testSeg - 1, 2, 2, nil},
		{2*testSeg + 5, 10, 5, io.EOF},
		{int64(len(data)), 1, 0, io.EOF},
		{int64(len(data)) + 100, 1, 0, io.EOF},
	}
	for _, tc := range tests {
		p := make([]byte, tc.n)
		n, err := f.ReadAt(p, tc.off)
		if n != tc.wantN || !errors.Is(err, tc.wantErr) && err != tc.wantErr {
			t.Errorf("ReadAt(%d, %d) = %d, %v, want %d, %v", tc.n, tc.off, n, err, tc.wantN, tc.wantErr)
		}
		if n > 0 && !bytes.Equal(p[:n], data[tc.off:tc.off+int64(n)]) {
			t.Errorf("ReadAt(%d, %d) content differs", tc.n, tc.off)
		}
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("negative offset: %v, want EINVAL", err)
	}
}

func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	v := openVolume(t, dir, testKey(1))
	writeFile(t, v, "f", []byte("secret"))
	other := openVolume(t, dir, testKey(2))
	if _, err := other.Open("f", os.O_RDONLY); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key: %v, want ErrWrongKey", err)
	}
	if _, err := other.RootHash(); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("RootHash with another key: %v, want ErrWrongKey", err)
	}
	r, err := other.Fsck(t.Context())
	if err != nil || r.OK() || !errors.Is(r.Problems[0].Err, ErrWrongKey) {
		t.Fatalf("Fsck with another key = %+v, %v", r, err)
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	for _, seg := range []int{1, 2048, 4097, 3 << 12, 2 << 20, -4096} {
		if _, err := OpenVolume(dir, testKey(1), Options{SegmentSize: seg}); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("SegmentSize %d: %v, want ErrInvalidOptions", seg, err)
		}
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := OpenVolume(dir, make([]byte, n), Options{}); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("key of %d bytes: %v, want ErrInvalidOptions", n, err)
		}
	}
	if _, err := OpenVolume(dir+"/missing", testKey(1), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v, want ErrNotExist", err)
	}
	// Valid sizes, and files keep their own segment size.
	for _, seg := range []int{0, 1 << 12, 1 << 20} {
		v, err := OpenVolume(dir, testKey(1), Options{SegmentSize: seg})
		if err != nil {
			t.Fatalf("SegmentSize %d: %v", seg, err)
		}
		writeFile(t, v, "f"+strconv.Itoa(seg), pattern(70000, 1))
		v.Close()
	}
	v := openVolume(t, dir, testKey(1))
	for _, seg := range []int{0, 1 << 12, 1 << 20} {
		if got := mustRead(t, v, "f"+strconv.Itoa(seg)); !bytes.Equal(got, pattern(70000, 1)) {
			t.Errorf("segment size %d: content differs", seg)
		}
	}
}

func TestInvalidNames(t *testing.T) {
	v := newVolume(t)
	long := strings.Repeat("a", MaxNameLen+1)
	for _, name := range []string{"", ".", "..", "../x", "/abs", "a/../b", "a//b", "a/", "./a", "a\x00b", long} {
		if _, err := v.Create(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Create(%q): %v, want ErrInvalidName", name, err)
		}
		if err := v.Rename("ok", name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Rename to %q: %v, want ErrInvalidName", name, err)
		}
		if err := v.Remove(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Remove(%q): %v, want ErrInvalidName", name, err)
		}
		if err := v.Mkdir(name, 0o700); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Mkdir(%q): %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := v.ReadDir("../x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("ReadDir(../x): %v, want ErrInvalidName", err)
	}
	// A symlink out of the volume is not followed.
	if err := os.Symlink("/etc", diskPath(v, "esc")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open("esc/passwd", os.O_RDONLY); err == nil {
		t.Error("opened a file through a symlink leaving the volume")
	}
}

func TestOpenFlags(t *testing.T) {
	v := newVolume(t)
	writeFile(t, v, "f", []byte("hello"))
	tests := []struct {
		name    string
		flag    int
		wantErr error
	}{
		{"excl on existing", os.O_RDWR | os.O_CREATE | os.O_EXCL, fs.ErrExist},
		{"missing without create", os.O_RDONLY, fs.ErrNotExist},
		{"trunc without write", os.O_RDONLY | os.O_TRUNC, fs.ErrPermission},
		{"unsupported flag", os.O_RDWR | os.O_SYNC, ErrInvalidOptions},
	}
	for _, tc := range tests {
		name := "f"
		if tc.wantErr == fs.ErrNotExist {
			name = "missing"
		}
		if _, err := v.Open(name, tc.flag); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	ro, err := v.Open("f", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Errorf("write on O_RDONLY: %v, want EBADF", err)
	}
	if err := ro.Truncate(0); !errors.Is(err, syscall.EBADF) {
		t.Errorf("truncate on O_RDONLY: %v, want EBADF", err)
	}
	wo, err := v.Open("f", os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wo.Read(make([]byte, 1)); !errors.Is(err, syscall.EBADF) {
		t.Errorf("read on O_WRONLY: %v, want EBADF", err)
	}
	if _, err := wo.Write([]byte(" world")); err != nil {
		t.Fatal(err)
	}
	// The read-only File shares the state and sees the append.
	got := make([]byte, 11)
	if _, err := ro.ReadAt(got, 0); err != nil || string(got) != "hello world" {
		t.Errorf("ReadAt through another File = %q, %v", got, err)
	}
	wo.Close()
	ro.Close()
	if _, err := ro.Read(got); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
	if err := ro.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("double close: %v, want ErrClosed", err)
	}
	tr, err := v.Open("f", os.O_RDWR|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Size() != 0 {
		t.Errorf("O_TRUNC size = %d", tr.Size())
	}
	tr.Close()
	nf, err := v.Open("new", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	nf.Close()
	if got := mustRead(t, v, "new"); len(got) != 0 {
		t.Errorf("new file has %d bytes", len(got))
	}
}

func TestSeek(t *testing.T) {
	v := newVolume(t)
	f, err := v.Create("f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("0123456789"))
	for _, tc := range []struct {
		off    int64
		whence int
		want   int64
	}{{2, io.SeekStart, 2}, {3, io.SeekCurrent, 5}, {-1, io.SeekEnd, 9}} {
		if got, err := f.Seek(tc.off, tc.whence); err != nil || got != tc.want {
			t.Errorf("Seek(%d, %d) = %d, %v, want %d", tc.off, tc.whence, got, err, tc.want)
		}
	}
	b := make([]byte, 5)
	if n, err := f.Read(b); n != 1 || err != nil || b[0] != '9' {
		t.Errorf("Read after seek = %d %v %q", n, err, b[:n])
	}
	if _, err := f.Read(b); err != io.EOF {
		t.Errorf("Read at end: %v, want EOF", err)
	}
	for _, tc := range []struct {
		off    int64
		whence int
	}{{-1, io.SeekStart}, {-11, io.SeekEnd}, {0, 7}} {
		if _, err := f.Seek(tc.off, tc.whence); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("Seek(%d, %d): %v, want EINVAL", tc.off, tc.whence, err)
		}
	}
}

func TestNamespace(t *testing.T) {
	v := newVolume(t)
	if err := v.Mkdir("d", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := v.Mkdir("d/e", 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, v, "d/a", pattern(100, 1))
	writeFile(t, v, "d/e/b", pattern(5000, 2))
	open, err := v.Open("d/e/b", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := v.ReadDir("d")
	if err != nil || len(ents) != 2 || ents[0].Name() != "a" || ents[1].Name() != "e" {
		t.Fatalf("ReadDir = %v, %v", ents, err)
	}
	if fi, err := ents[0].Info(); err != nil || fi.Size() != 100 {
		t.Errorf("Info size = %v, %v, want 100", fi, err)
	}
	// Renaming a directory rebinds every file below it, open ones included.
	if err := v.Rename("d", "renamed/../x"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Rename to unclean: %v", err)
	}
	if err := v.Rename("d", "dir2"); err != nil {
		t.Fatal(err)
	}
	if open.Name() != "dir2/e/b" {
		t.Errorf("open file Name = %q", open.Name())
	}
	if _, err := open.WriteAt([]byte("xyz"), 0); err != nil {
		t.Fatal(err)
	}
	open.Close()
	if got := mustRead(t, v, "dir2/a"); !bytes.Equal(got, pattern(100, 1)) {
		t.Error("dir2/a differs")
	}
	want := pattern(5000, 2)
	copy(want, "xyz")
	if got := mustRead(t, v, "dir2/e/b"); !bytes.Equal(got, want) {
		t.Error("dir2/e/b differs")
	}
	// Rename a file over another.
	writeFile(t, v, "c", []byte("c"))
	if err := v.Rename("dir2/a", "c"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, v, "c"); !bytes.Equal(got, pattern(100, 1)) {
		t.Error("c is not the renamed file")
	}
	if err := v.Rename("dir2", "dir2/sub"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("rename into itself: %v, want EINVAL", err)
	}
	if err := v.Rename("nope", "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rename missing: %v, want ErrNotExist", err)
	}
	// Remove while open: the open File keeps working.
	f, err := v.Open("c", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Remove("c"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Stat("c"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat removed: %v", err)
	}
	if _, err := f.WriteAt([]byte("q"), 0); err != nil {
		t.Error(err)
	}
	f.Close()
	if err := v.Remove("dir2"); err == nil {
		t.Error("removed a non-empty directory")
	}
	r, err := v.Fsck(t.Context())
	if err != nil || !r.OK() || r.Files != 1 {
		t.Fatalf("Fsck = %+v, %v", r, err)
	}
}

func TestStatNotSealfs(t *testing.T) {
	v := newVolume(t)
	if err := os.WriteFile(diskPath(v, "plain"), []byte("not sealed at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Stat("plain"); !errors.Is(err, ErrNotSealfs) {
		t.Errorf("Stat: %v, want ErrNotSealfs", err)
	}
	if _, err := v.Open("plain", os.O_RDONLY); !errors.Is(err, ErrNotSealfs) {
		t.Errorf("Open: %v, want ErrNotSealfs", err)
	}
	if fi, err := v.Stat("."); err != nil || !fi.IsDir() {
		t.Errorf("Stat(.) = %v, %v", fi, err)
	}
}
