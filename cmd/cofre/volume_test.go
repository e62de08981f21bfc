package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/cofre-cc/cofre/internal/fusetest"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/sealfs"
)

// newTestVolume makes a volume with two files and returns its directory,
// a raw key file and a hex key file for the same key.
func newTestVolume(t *testing.T) (dir, rawKey, hexKey string, v *sealfs.Volume) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "vol")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, volumeKeyLen)
	rand.Read(key)
	rawKey, hexKey = filepath.Join(tmp, "key.raw"), filepath.Join(tmp, "key.hex")
	if err := os.WriteFile(rawKey, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hexKey, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := sealfs.OpenVolume(dir, key, sealfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		f, err := v.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(bytes.Repeat([]byte(n), 100000)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir, rawKey, hexKey, v
}

func rootHex(t *testing.T, v *sealfs.Volume) string {
	t.Helper()
	r, err := v.RootHash()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(r[:])
}

func TestVolumeRootAndFsck(t *testing.T) {
	dir, rawKey, hexKey, v := newTestVolume(t)
	root := rootHex(t, v)
	otherKey := filepath.Join(t.TempDir(), "other")
	os.WriteFile(otherKey, bytes.Repeat([]byte{7}, volumeKeyLen), 0o600)
	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut string
	}{
		{"root raw key", []string{"volume", "root", "--key-file", rawKey, dir}, exitOK, root + "\n"},
		{"root hex key", []string{"volume", "root", "--key-file", hexKey, dir}, exitOK, root + "\n"},
		{"root wrong key", []string{"volume", "root", "--key-file", otherKey, dir}, exitRefused, "REFUSED"},
		{"fsck clean", []string{"volume", "fsck", "--key-file", rawKey, dir}, exitOK, ""},
		{"fsck expected root", []string{"volume", "fsck", "--key-file", rawKey, "--expect-root", root, dir}, exitOK, "root hash: as expected"},
		{"fsck other root", []string{"volume", "fsck", "--key-file", rawKey, "--expect-root", strings.Repeat("00", 32), dir}, exitRefused, "rolled back"},
		{"fsck wrong key", []string{"volume", "fsck", "--key-file", otherKey, dir}, exitRefused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != tt.code || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("exit %d, want %d; stdout %q (want %q); stderr %q", code, tt.code, out.String(), tt.wantOut, errb.String())
			}
		})
	}

	// Tamper with one file: fsck names it and exits 1; the root hash still
	// computes (it reads headers and tags only) but fsck refuses.
	p := filepath.Join(dir, "b")
	b, _ := os.ReadFile(p)
	b[len(b)-20] ^= 1
	os.WriteFile(p, b, 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"volume", "fsck", "--key-file", rawKey, dir}, &out, &errb); code != exitRefused || !strings.Contains(out.String(), "b") {
		t.Fatalf("fsck of tampered volume: exit %d; stdout %q; stderr %q", code, out.String(), errb.String())
	}
}

func TestVolumeUsage(t *testing.T) {
	dir, rawKey, _, _ := newTestVolume(t)
	tmp := t.TempDir()
	loose := filepath.Join(tmp, "loose")
	os.WriteFile(loose, make([]byte, volumeKeyLen), 0o644)
	short := filepath.Join(tmp, "short")
	os.WriteFile(short, make([]byte, 16), 0o600)
	badHex := filepath.Join(tmp, "badhex")
	os.WriteFile(badHex, []byte(strings.Repeat("zz", 32)), 0o600)
	mnt := t.TempDir()
	tests := []struct {
		name, wantErr string
		args          []string
	}{
		{"no key file", "--key-file is required", []string{"volume", "root", dir}},
		{"key readable by others", "want 0600", []string{"volume", "root", "--key-file", loose, dir}},
		{"short key", "16 bytes", []string{"volume", "root", "--key-file", short, dir}},
		{"non-hex key", "64 hex", []string{"volume", "root", "--key-file", badHex, dir}},
		{"missing key file", "no such file", []string{"volume", "root", "--key-file", filepath.Join(tmp, "none"), dir}},
		{"missing volume", "no such file", []string{"volume", "root", "--key-file", rawKey, filepath.Join(tmp, "none")}},
		{"bad expect-root", "64 hex", []string{"volume", "fsck", "--key-file", rawKey, "--expect-root", "abc", dir}},
		{"fsck two dirs", "accepts 1 arg", []string{"volume", "fsck", "--key-file", rawKey, dir, dir}},
		{"mount one arg", "accepts 2 arg", []string{"volume", "mount", "--key-file", rawKey, dir}},
		{"scratch with expect-root", "exactly one of", []string{"volume", "mount", "--key-file", rawKey, "--scratch", "--expect-root", strings.Repeat("00", 32), dir, mnt}},
		{"no freshness mode", "exactly one of", []string{"volume", "mount", "--key-file", rawKey, dir, mnt}},
		{"init on a used volume", "not empty", []string{"volume", "mount", "--key-file", rawKey, "--init", dir, mnt}},
		{"bad segment size", "invalid options", []string{"volume", "mount", "--key-file", rawKey, "--scratch", "--segment-size", "1000", dir, mnt}},
		{"unknown subcommand", "unknown command", []string{"volume", "mnt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), tt.wantErr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to contain %q", code, exitUsage, errb.String(), tt.wantErr)
			}
		})
	}
}

func TestVolumeMountRefusesRollback(t *testing.T) {
	dir, rawKey, _, v := newTestVolume(t)
	old := rootHex(t, v)
	f, err := v.Open("a", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("new"), 0)
	f.Close()
	var out, errb bytes.Buffer
	// The volume changed since "old" was recorded: refused before mounting.
	code := run([]string{"volume", "mount", "--key-file", rawKey, "--expect-root", old, dir, t.TempDir()}, &out, &errb)
	if code != exitRefused || !strings.Contains(out.String(), "rolled back") {
		t.Fatalf("exit %d; stdout %q; stderr %q", code, out.String(), errb.String())
	}
}

// TestVolumeMount mounts through the command (real FUSE, as root), writes a
// file, stops it as SIGTERM would, and checks the reported root hash.
func TestVolumeMount(t *testing.T) {
	fusetest.Require(t)
	dir, rawKey, _, v := newTestVolume(t)
	mnt := t.TempDir()
	rootFile := filepath.Join(t.TempDir(), "root")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	cmd := newRoot(pw, &errb)
	cmd.SetArgs([]string{"volume", "mount", "--key-file", rawKey, "--expect-root", rootHex(t, v), "--root-file", rootFile, dir, mnt})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()

	lines := bufio.NewScanner(pr)
	if !lines.Scan() || !strings.Contains(lines.Text(), "mounted at") {
		cancel()
		t.Fatalf("no mount line: %q; err %v; stderr %q", lines.Text(), <-done, errb.String())
	}
	if err := os.WriteFile(filepath.Join(mnt, "c"), []byte("through the command"), 0o600); err != nil {
		cancel()
		<-done
		t.Fatal(err)
	}
	cancel()
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if err := <-done; err != nil {
		t.Fatalf("mount: %v; stderr %q", err, errb.String())
	}
	// The command was another Volume on dir: v saw "c" appear behind its
	// back and refuses it, as it would a file planted by the host. Check
	// as the next mount would, with a fresh Volume.
	key, err := os.ReadFile(rawKey)
	if err != nil {
		t.Fatal(err)
	}
	if v, err = sealfs.OpenVolume(dir, key, sealfs.Options{}); err != nil {
		t.Fatal(err)
	}
	want := rootHex(t, v)
	if got := strings.Join(rest, "\n"); !strings.Contains(got, "root hash: "+want) {
		t.Errorf("output after unmount %q, want root hash %s", got, want)
	}
	if b, err := os.ReadFile(rootFile); err != nil || string(b) != want+"\n" {
		t.Errorf("--root-file: %q, %v", b, err)
	}
	f, err := v.Open("c", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "through the command" {
		t.Errorf("file written through the mount reads %q", b)
	}
}
