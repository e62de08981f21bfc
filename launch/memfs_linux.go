package launch

import (
	"fmt"
	"syscall"
)

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
