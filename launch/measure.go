package launch

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// digestContext separates workload digests from every other SHA-256 cofre
// computes.
const digestContext = "cofre-workload-v2\x00"

// Measurement is what the workload digest covers: files by absolute path
// and content, the executable first.
type Measurement struct {
	Files  []MeasuredFile
	Digest []byte
}

// MeasuredFile is one measured file.
type MeasuredFile struct {
	Path   string // absolute, symbolic links resolved
	SHA256 []byte
}

// Measure measures a program: its executable (resolved like a shell would,
// $PATH for a bare name) and the extra files, in order. The digest is
// SHA-256 over a context string and, per file, its length-prefixed
// absolute path and the SHA-256 of its content: a pinned digest then names
// the files as well as their bytes, so a host cannot measure a pristine
// copy at one path while the program runs an edited file at another.
// Compute digests for manifests inside the image the workload runs from
// (cofre run --print-digest), where the paths are the same.
func Measure(executable string, extra ...string) (*Measurement, error) {
	exe, err := Resolve(executable)
	if err != nil {
		return nil, err
	}
	m := &Measurement{}
	h := sha256.New()
	h.Write([]byte(digestContext))
	for i, p := range append([]string{exe}, extra...) {
		if i > 0 {
			if p, err = absolute(p); err != nil {
				return nil, fmt.Errorf("launch: measure: %w", err)
			}
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return nil, fmt.Errorf("launch: measure: %w", err)
		}
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
		h.Write(sum)
		m.Files = append(m.Files, MeasuredFile{Path: p, SHA256: sum})
	}
	m.Digest = h.Sum(nil)
	return m, nil
}

// Verify measures the files again and reports the first that changed
// since: called just before the program starts, it narrows the window in
// which a host that can write the file system swaps a measured file.
func (m *Measurement) Verify() error {
	for _, f := range m.Files {
		sum, err := fileSHA256(f.Path)
		if err != nil {
			return fmt.Errorf("launch: %w", err)
		}
		if !bytes.Equal(sum, f.SHA256) {
			return fmt.Errorf("launch: %w: %s changed since it was measured", ErrNotMeasured, f.Path)
		}
	}
	return nil
}

// Resolve finds the executable a command names and returns its absolute
// path with symbolic links resolved.
func Resolve(command string) (string, error) {
	p, err := exec.LookPath(command)
	if err != nil {
		return "", fmt.Errorf("launch: %w", err)
	}
	return absolute(p)
}

func absolute(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
