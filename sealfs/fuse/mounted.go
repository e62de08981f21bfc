package fuse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fsType is how the kernel lists a sealfs mount in /proc/self/mountinfo:
// "fuse." and the Name Mount gives go-fuse.
const fsType = "fuse.cofre-sealfs"

// ErrNotOnVolume means a path is not inside a mounted sealfs volume.
var ErrNotOnVolume = errors.New("sealfs/fuse: not on a mounted sealfs volume")

// OnVolume reports the mountpoint of the sealfs volume path lies on, or
// ErrNotOnVolume. Programs that must never write plaintext to disk (a SQL
// engine's spill directory) check their scratch directory with it.
//
// It trusts the kernel's mount table, not the volume: whoever can mount
// can also mount something else under the same name, so this guards
// against configuration mistakes, not against root on the host (which a
// TEE's attestation, not this check, keeps out).
func OnVolume(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", err
	}
	table, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("sealfs/fuse: mount table: %w", err)
	}
	mounts, err := parseMountinfo(table)
	if err != nil {
		return "", err
	}
	// The mount that holds path is the last one listed whose mountpoint
	// is path or a parent: later mounts hide earlier ones.
	best := -1
	for i, m := range mounts {
		if within(abs, m.point) {
			best = i
		}
	}
	if best < 0 || mounts[best].fsType != fsType {
		return "", fmt.Errorf("%w: %s", ErrNotOnVolume, abs)
	}
	return mounts[best].point, nil
}

type mount struct{ point, fsType string }

// parseMountinfo reads proc(5)'s mountinfo lines: ID, parent, major:minor,
// root, mountpoint, options, optional fields up to "-", then the file
// system type.
func parseMountinfo(b []byte) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
			return nil, fmt.Errorf("sealfs/fuse: mountinfo line %d: malformed", n)
		}
		point, err := unescapeOctal(f[4])
		if err != nil {
			return nil, fmt.Errorf("sealfs/fuse: mountinfo line %d: %w", n, err)
		}
		out = append(out, mount{point: point, fsType: f[sep+1]})
	}
	return out, sc.Err()
}

// unescapeOctal undoes the kernel's \ooo escapes of space, tab, newline
// and backslash in mount points.
func unescapeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", errors.New("truncated escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape %q", s[i:i+4])
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}
