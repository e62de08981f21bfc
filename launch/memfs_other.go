//go:build !linux

package launch

import "fmt"

// checkMemoryBacked cannot tell on this system: it refuses.
func checkMemoryBacked(dir string) error {
	return fmt.Errorf("%w: %s (cannot check on this operating system)", ErrNotMemoryBacked, dir)
}

func closeDir(dir string) error { return checkMemoryBacked(dir) }
