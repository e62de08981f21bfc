package launch

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cofre-cc/cofre/coordinator/api"
)

// ErrRolledBack: an encrypted volume's root hash is not the one its
// workload last reported to the coordinator: an older copy of the volume,
// or state written after the last report (a crash).
var ErrRolledBack = errors.New("the volume is not in the state last reported to the coordinator")

// VolumeMount is one mounted encrypted volume.
type VolumeMount interface {
	// Unmount stops serving the mount point.
	Unmount() error
	// RootHash is the volume's root hash (sealfs.Volume.RootHash), read
	// after Unmount so nothing changes it any more.
	RootHash() ([32]byte, error)
	// Close releases the volume, after Unmount.
	Close() error
}

// Mounter opens the sealfs volume in backing with key and mounts it at
// mountpoint (sealfs/fuse through cmd/cofre).
type Mounter func(backing string, key []byte, mountpoint string) (VolumeMount, error)

// VolumeRoots keeps root hashes at the coordinator (*client.Client, built
// with the workload's certificate).
type VolumeRoots interface {
	VolumeRoot(ctx context.Context, volume string) (*api.VolumeRoot, error)
	// SetVolumeRoot replaces previous with root, or fails if the record
	// is no longer previous (compare and swap).
	SetVolumeRoot(ctx context.Context, volume, previous, root string) error
}

// Volumes are the workload's mounted volumes.
type Volumes struct {
	roots   VolumeRoots
	dirty   string // this instance's marker, "dirty:<instance>"
	mounted map[string]VolumeMount
	scratch map[string]bool
}

// MountVolumes mounts every volume of the configuration: its ciphertext in
// backing(name) (created 0700), its plaintext at the volume's path (below
// filesRoot, if set). A volume that is not scratch must be in the state
// its service last reported (ErrRolledBack otherwise); a new volume must
// be empty. On failure nothing stays mounted.
//
// While mounted, the coordinator's record says "dirty:<instance>" (set by
// compare and swap from the state checked): a second instance mounting a
// copy of the same state, or a next run after a crash that never reported,
// finds the marker and refuses, rather than silently losing or forking
// the volume's history. Clearing a marker after a crash is an operator's
// decision (not built yet).
func (w *Workload) MountVolumes(ctx context.Context, filesRoot string, backing func(name string) string, mount Mounter, roots VolumeRoots) (*Volumes, error) {
	vs := &Volumes{roots: roots, dirty: "dirty:" + w.Activation.Instance, mounted: make(map[string]VolumeMount), scratch: make(map[string]bool)}
	for _, name := range slices.Sorted(maps.Keys(w.Activation.Config.Volumes)) {
		v := w.Activation.Config.Volumes[name]
		dir := backing(name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			vs.unmountAll()
			return nil, fmt.Errorf("launch: volume %s: %w", name, err)
		}
		mp := v.Path
		if filesRoot != "" {
			mp = filepath.Join(filesRoot, filepath.Clean("/"+v.Path))
		}
		if err := os.MkdirAll(mp, 0o700); err != nil {
			vs.unmountAll()
			return nil, fmt.Errorf("launch: volume %s: %w", name, err)
		}
		key, err := vs.volumeKey(w, name, v, dir)
		if err != nil {
			vs.unmountAll()
			return nil, fmt.Errorf("launch: volume %s: %w", name, err)
		}
		m, err := mount(dir, key, mp)
		clear(key)
		if err != nil {
			vs.unmountAll()
			return nil, fmt.Errorf("launch: volume %s: %w", name, err)
		}
		vs.mounted[name], vs.scratch[name] = m, v.Scratch
		if v.Scratch {
			continue
		}
		if err := vs.checkRoot(ctx, name, m, dir); err != nil {
			vs.unmountAll()
			return nil, err
		}
	}
	return vs, nil
}

func (vs *Volumes) checkRoot(ctx context.Context, name string, m VolumeMount, dir string) error {
	want, err := vs.roots.VolumeRoot(ctx, name)
	if err != nil {
		return fmt.Errorf("launch: volume %s: the coordinator's root hash: %w", name, err)
	}
	got, err := m.RootHash()
	if err != nil {
		return fmt.Errorf("launch: volume %s: %w", name, err)
	}
	switch {
	case strings.HasPrefix(want.Root, "dirty:"):
		return fmt.Errorf("launch: volume %s: %w: instance %s mounted it and never reported its state (a crash, or another instance has it now)", name, ErrRolledBack, strings.TrimPrefix(want.Root, "dirty:"))
	case want.Root == "":
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("launch: volume %s: %w", name, err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("launch: volume %s: %w: none was ever reported, but %s is not empty", name, ErrRolledBack, dir)
		}
	case hex.EncodeToString(got[:]) != want.Root:
		return fmt.Errorf("launch: volume %s: %w (root %x, last reported %s by instance %s)", name, ErrRolledBack, got, want.Root, want.Instance)
	}
	if err := vs.roots.SetVolumeRoot(ctx, name, want.Root, vs.dirty); err != nil {
		return fmt.Errorf("launch: volume %s: %w: %w", name, ErrRolledBack, err)
	}
	return nil
}

// Close unmounts every volume and reports the root hash of each that is
// not scratch to the coordinator, for the next mount to check.
func (vs *Volumes) Close(ctx context.Context) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(vs.mounted)) {
		m := vs.mounted[name]
		if err := m.Unmount(); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", name, err))
			continue
		}
		if !vs.scratch[name] {
			root, err := m.RootHash()
			if err == nil {
				err = vs.roots.SetVolumeRoot(ctx, name, vs.dirty, hex.EncodeToString(root[:]))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("volume %s: report the root hash: %w", name, err))
			}
		}
		if err := m.Close(); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", name, err))
		}
	}
	clear(vs.mounted)
	return errors.Join(errs...)
}

func (vs *Volumes) unmountAll() {
	for _, m := range vs.mounted {
		m.Unmount()
		m.Close()
	}
	clear(vs.mounted)
}

// volumeKey is the key a volume is sealed under. A persistent volume's is
// derived from the manifest's secret and the volume's identity (manifest,
// service, volume name), so two volumes that name the same secret cannot
// exchange files. A scratch volume gets a fresh random key and an emptied
// directory on every mount: nothing a previous run (or another instance)
// left there can be read back as this run's data.
func (vs *Volumes) volumeKey(w *Workload, name string, v api.Volume, dir string) ([]byte, error) {
	if v.Scratch {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		}
		key := make([]byte, 32)
		rand.Read(key)
		return key, nil
	}
	// spiffe://<trust-domain>/<manifest>/<service>/<instance>
	segs := strings.Split(strings.TrimPrefix(w.Activation.SPIFFEID, "spiffe://"), "/")
	if len(segs) != 4 {
		return nil, fmt.Errorf("unexpected SPIFFE ID %q", w.Activation.SPIFFEID)
	}
	info := "cofre sealfs volume v1\x00" + segs[1] + "\x00" + segs[2] + "\x00" + name
	return hkdf.Key(sha256.New, v.Key, nil, info, 32)
}
