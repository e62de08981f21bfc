package fuse

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOnVolume(t *testing.T) {
	_, _, mnt, _ := mountT(t, nil)
	sub := filepath.Join(mnt, "spill")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{mnt, sub} {
		got, err := OnVolume(p)
		if err != nil || got != mnt {
			t.Errorf("OnVolume(%s) = %q, %v; want %s", p, got, err, mnt)
		}
	}
	// A plain directory, and a symbolic link from it into the volume
	// (resolved: the link's target is what gets written).
	plain := t.TempDir()
	if _, err := OnVolume(plain); !errors.Is(err, ErrNotOnVolume) {
		t.Errorf("plain directory: %v, want ErrNotOnVolume", err)
	}
	link := filepath.Join(plain, "link")
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	if got, err := OnVolume(link); err != nil || got != mnt {
		t.Errorf("link into the volume: %q, %v", got, err)
	}
	if _, err := OnVolume(filepath.Join(plain, "missing")); err == nil {
		t.Error("a missing path was accepted")
	}
}

func TestParseMountinfo(t *testing.T) {
	good := "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - fuse.cofre-sealfs /dev/x rw\n" +
		"37 35 98:0 / / rw - ext4 /dev/root rw\n"
	ms, err := parseMountinfo([]byte(good))
	if err != nil || len(ms) != 2 || ms[0].point != "/mnt/with space" || ms[0].fsType != fsType || ms[1].fsType != "ext4" {
		t.Fatalf("parse: %+v, %v", ms, err)
	}
	for _, bad := range []string{
		"36 35 98:0 / /mnt rw master:1 fuse /dev/x rw\n", // no separator
		"36 35 98:0 / /mnt rw -\n",                       // no type
		"36 35 98:0 / /mnt\\04 rw - ext4 x rw\n",         // truncated escape
		"36 35 98:0 / /mnt\\999 rw - ext4 x rw\n",        // not octal
	} {
		if _, err := parseMountinfo([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
