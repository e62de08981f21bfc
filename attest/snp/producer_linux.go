//go:build linux

package snp

import "github.com/google/go-sev-guest/client"

// openDevice opens the sev-guest device at path. go-sev-guest's
// LinuxDevice spaces its commands at least 2 s apart (its
// self_throttle_duration flag), to stay clear of the throttling of older
// kernels; an extended report takes two commands.
func openDevice(path string) (client.Device, error) {
	d := new(client.LinuxDevice)
	if err := d.Open(path); err != nil {
		return nil, err
	}
	return d, nil
}
