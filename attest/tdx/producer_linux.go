//go:build linux

package tdx

import "github.com/google/go-tdx-guest/client"

// openDevice opens the tdx-guest device at path.
func openDevice(path string) (client.Device, error) {
	d := new(client.LinuxDevice)
	if err := d.Open(path); err != nil {
		return nil, err
	}
	return d, nil
}
