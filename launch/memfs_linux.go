package launch

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrDirectory: a secret file's directory is open to others and not ours
// to close.
var ErrDirectory = errors.New("directory open to group or others")

// closeDir makes dir 0700 if this process owns it, and refuses it if
// another user owns it and group or others may write it.
func closeDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", dir)
	}
	if int(st.Uid) == os.Geteuid() {
		if fi.Mode().Perm() != 0o700 {
			return os.Chmod(dir, 0o700)
		}
		return nil
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s (%v, owner %d)", ErrDirectory, dir, fi.Mode().Perm(), st.Uid)
	}
	return nil
}

// Magic numbers of memory-backed file systems (linux/magic.h).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// checkMemoryBacked refuses a directory whose file system keeps data on a
// disk: a secret written there would outlive the workload in plaintext.
func checkMemoryBacked(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err
	}
	switch uint32(st.Type) {
	case tmpfsMagic, ramfsMagic:
		return nil
	}
	return fmt.Errorf("%w: %s (file system type %#x)", ErrNotMemoryBacked, dir, st.Type)
}
