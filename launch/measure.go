package launch

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// digestContext separates workload digests from every other SHA-256 cofre
// computes.
const digestContext = "cofre-workload-v1\x00"

// Measure returns the workload digest of a program: SHA-256 over a
// context string and the SHA-256 of each file's content, the executable
// first, then extra in order. Paths are not part of it (they differ
// between a build machine and a container); content is.
//
// executable is resolved like a shell would ($PATH for a bare name).
func Measure(executable string, extra ...string) ([]byte, error) {
	exe, err := Resolve(executable)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(digestContext))
	for _, p := range append([]string{exe}, extra...) {
		sum, err := fileSHA256(p)
		if err != nil {
			return nil, fmt.Errorf("launch: measure: %w", err)
		}
		h.Write(sum)
	}
	return h.Sum(nil), nil
}

// Resolve finds the executable a command names and returns its absolute
// path with symbolic links resolved.
func Resolve(command string) (string, error) {
	p, err := exec.LookPath(command)
	if err != nil {
		return "", fmt.Errorf("launch: %w", err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", fmt.Errorf("launch: %w", err)
	}
	if p, err = filepath.EvalSymlinks(p); err != nil {
		return "", fmt.Errorf("launch: %w", err)
	}
	return p, nil
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
