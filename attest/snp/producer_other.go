//go:build !linux

package snp

import (
	"fmt"

	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/google/go-sev-guest/client"
)

// openDevice fails: SEV-SNP guests run Linux.
func openDevice(path string) (client.Device, error) {
	return nil, fmt.Errorf("%w: %s needs Linux", tsm.ErrUnavailable, path)
}
