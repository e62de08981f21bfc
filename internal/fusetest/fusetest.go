// Package fusetest tells tests whether this machine can mount FUSE file
// systems, so that tests of the sealfs mount run wherever they can and
// say plainly where they cannot.
package fusetest

import (
	"os"
	"os/exec"
	"testing"
)

// Require skips t, with the reason, on a machine without /dev/fuse, or
// where this process is not root and has no fusermount3. Where FUSE is
// there, the test runs, and a mount that fails is the test's failure.
// COFRE_REQUIRE_FUSE=1 turns the skip into a failure (CI machines that
// must test the mount).
func Require(t testing.TB) {
	t.Helper()
	reason := ""
	if _, err := os.Stat("/dev/fuse"); err != nil {
		reason = "no /dev/fuse on this machine"
	} else if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			reason = "not root and no fusermount3"
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("COFRE_REQUIRE_FUSE") == "1" {
		t.Fatalf("FUSE is required (COFRE_REQUIRE_FUSE=1) but unavailable: %s", reason)
	}
	t.Skipf("FUSE mount not testable here: %s", reason)
}
