package launch

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

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
	SetVolumeRoot(ctx context.Context, volume, root string) error
}

// Volumes are the workload's mounted volumes.
type Volumes struct {
	roots   VolumeRoots
	mounted map[string]VolumeMount
	scratch map[string]bool
}

// MountVolumes mounts every volume of the configuration: its ciphertext in
// backing(name) (created 0700), its plaintext at the volume's path (below
// filesRoot, if set). A volume that is not scratch must be in the state
// its service last reported (ErrRolledBack otherwise); a new volume must
// be empty. On failure nothing stays mounted.
func (w *Workload) MountVolumes(ctx context.Context, filesRoot string, backing func(name string) string, mount Mounter, roots VolumeRoots) (*Volumes, error) {
	vs := &Volumes{roots: roots, mounted: make(map[string]VolumeMount), scratch: make(map[string]bool)}
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
		m, err := mount(dir, v.Key, mp)
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
	if want.Root == "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("launch: volume %s: %w", name, err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("launch: volume %s: %w: none was ever reported, but %s is not empty", name, ErrRolledBack, dir)
		}
		return nil
	}
	if hex.EncodeToString(got[:]) != want.Root {
		return fmt.Errorf("launch: volume %s: %w (root %x, last reported %s by instance %s)", name, ErrRolledBack, got, want.Root, want.Instance)
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
				err = vs.roots.SetVolumeRoot(ctx, name, hex.EncodeToString(root[:]))
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
