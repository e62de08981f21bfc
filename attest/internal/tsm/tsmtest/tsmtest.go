// Package tsmtest fakes the configfs-tsm report interface for tests of
// in-guest producers: go-configfs-tsm's faketsm, with a chosen provider,
// recorded outblob and auxblob bytes, and a record of what was written.
package tsmtest

import (
	"bytes"
	"os"
	"path"
	"sync"

	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-configfs-tsm/configfs/faketsm"
)

// Fake is a configfs-tsm report subsystem whose reports are recorded
// bytes. Its zero value is not usable; set Provider and OutBlob.
type Fake struct {
	Provider string // "sev_guest", "tdx_guest", …
	OutBlob  []byte // returned as outblob, whatever was written
	AuxBlob  []byte // returned as auxblob
	// Race makes a second writer overwrite inblob right after each of
	// ours, as another process sharing the entry would.
	Race bool

	mu         sync.Mutex // guards the fields below
	inblobs    [][]byte
	privlevels [][]byte
}

// Client returns a configfsi.Client serving f.
func (f *Fake) Client() configfsi.Client {
	sub := faketsm.Report611(0)
	sub.MakeEntry = func() *faketsm.ReportEntry {
		return &faketsm.ReportEntry{
			InAttrs: map[string]*faketsm.ReportAttributeState{
				"privlevel": {Value: []byte("0\n")},
				"inblob":    {},
			},
			// The kernel answers provider before any write; faketsm
			// only from this cache.
			ROAttrs: map[string][]byte{"provider": []byte(f.Provider + "\n")},
		}
	}
	sub.ReadAttr = func(e *faketsm.ReportEntry, attr string) ([]byte, error) {
		switch attr {
		case "provider":
			return []byte(f.Provider + "\n"), nil
		case "auxblob":
			return bytes.Clone(f.AuxBlob), nil
		case "outblob":
			f.mu.Lock()
			f.inblobs = append(f.inblobs, bytes.Clone(e.InAttrs["inblob"].Value))
			f.privlevels = append(f.privlevels, bytes.Clone(e.InAttrs["privlevel"].Value))
			f.mu.Unlock()
			return bytes.Clone(f.OutBlob), nil
		}
		return nil, os.ErrNotExist
	}
	var c configfsi.Client = &faketsm.Client{Subsystems: map[string]configfsi.Client{"report": sub}}
	if f.Race {
		c = &racer{c}
	}
	return c
}

// InBlobs returns the inblob of every report f made, in order.
func (f *Fake) InBlobs() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.inblobs...)
}

// PrivLevels returns the privlevel of every report f made, in order.
func (f *Fake) PrivLevels() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.privlevels...)
}

// racer writes inblob a second time after each write of it.
type racer struct{ configfsi.Client }

func (r *racer) WriteFile(name string, contents []byte) error {
	if err := r.Client.WriteFile(name, contents); err != nil {
		return err
	}
	if path.Base(name) == "inblob" {
		return r.Client.WriteFile(name, bytes.Repeat([]byte{0xee}, 64))
	}
	return nil
}
