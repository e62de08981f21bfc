//go:build !linux

package tdx

import (
	"fmt"

	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/google/go-tdx-guest/client"
)

// openDevice fails: TDX guests run Linux.
func openDevice(path string) (client.Device, error) {
	return nil, fmt.Errorf("%w: %s needs Linux", tsm.ErrUnavailable, path)
}
