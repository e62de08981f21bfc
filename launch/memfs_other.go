//go:build !linux

package launch

import "fmt"

// checkMemoryBacked cannot tell on this system: it refuses.
func checkMemoryBacked(dir string) error {
	return fmt.Errorf("%w: %s (cannot check on this operating system)", ErrNotMemoryBacked, dir)
}
