package launch

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ErrNotMemoryBacked: a secret file's directory is on a disk-backed file
// system. The launcher never writes secrets to disk in plaintext: mount a
// tmpfs there (Kubernetes: an emptyDir with medium: Memory), or set
// FilesRoot to a memory-backed directory.
var ErrNotMemoryBacked = errors.New("not on a memory-backed file system")

// ErrVolumes: the service declares encrypted volumes, which only a
// supervising launcher serves (the FUSE server lives in its process).
var ErrVolumes = errors.New("encrypted volumes need cofre run --supervise")

// Installed is what Install wrote: the workload's files, by the path the
// program reads (FilesRoot prepended).
type Installed struct {
	root  string
	files map[string][]byte // path → content, for renewals
}

// Install writes the workload's files and its private key (to the
// configuration's key files), each 0600 in a 0700 directory that must be
// memory-backed, replacing any earlier file atomically. With root set,
// every path is taken below root (for running outside a container).
func (w *Workload) Install(root string) (*Installed, error) {
	cfg := w.Activation.Config
	in := &Installed{root: root, files: make(map[string][]byte)}
	keyDER, err := x509.MarshalPKCS8PrivateKey(w.Key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	clear(keyDER)
	defer clear(keyPEM)
	paths := make([]string, 0, len(cfg.Files))
	for p := range cfg.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if err := in.write(p, cfg.Files[p]); err != nil {
			in.Remove()
			return nil, err
		}
	}
	for _, p := range cfg.KeyFiles {
		if err := in.write(p, keyPEM); err != nil {
			in.Remove()
			return nil, err
		}
		in.files[in.path(p)] = nil // the key is not kept in memory twice
	}
	return in, nil
}

// Remove deletes every file Install wrote: after a failure, no secret is
// left behind for whatever runs next in the pod.
func (in *Installed) Remove() {
	for p := range in.files {
		os.Remove(p)
	}
	clear(in.files)
}

// Holds reports whether path is one of the installed files.
func (in *Installed) Holds(path string) bool {
	_, ok := in.files[filepath.Clean(path)]
	return ok
}

// path maps a configuration path to where it is written.
func (in *Installed) path(p string) string {
	if in.root == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(in.root, filepath.Clean("/"+p))
}

func (in *Installed) write(p string, content []byte) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("launch: file %q: not an absolute path", p)
	}
	target := in.path(p)
	if err := WriteSecretFile(target, content); err != nil {
		return err
	}
	in.files[target] = bytes.Clone(content)
	return nil
}

// WriteSecretFile writes content to path (0600; its directory created
// 0700), atomically, and only if the directory is memory-backed and
// closed to group and others (a directory this process owns is closed
// first: an emptyDir is born 0777, and anyone in the pod could swap files
// in it).
func WriteSecretFile(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("launch: file %s: %w", path, err)
	}
	if err := checkMemoryBacked(dir); err != nil {
		return fmt.Errorf("launch: file %s: %w", path, err)
	}
	if err := closeDir(dir); err != nil {
		return fmt.Errorf("launch: file %s: %w", path, err)
	}
	if err := writeAtomic(path, content); err != nil {
		return fmt.Errorf("launch: file %s: %w", path, err)
	}
	return nil
}

// writeAtomic replaces path with content through a temporary file in the
// same directory, so a reader sees the old content or the new, never half.
func writeAtomic(path string, content []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".cofre-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, nothing is there
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Paths lists the files written, sorted.
func (in *Installed) Paths() []string {
	out := make([]string, 0, len(in.files))
	for p := range in.files {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Replace rewrites every file holding old (a PEM block: the certificate a
// renewal replaced) with new in its place, atomically, and returns how
// many it rewrote.
func (in *Installed) Replace(old, new []byte) (int, error) {
	n := 0
	for _, p := range in.Paths() {
		content := in.files[p]
		if content == nil || !bytes.Contains(content, old) {
			continue
		}
		next := bytes.ReplaceAll(content, old, new)
		if err := writeAtomic(p, next); err != nil {
			return n, fmt.Errorf("launch: file %s: %w", p, err)
		}
		in.files[p] = next
		n++
	}
	return n, nil
}
