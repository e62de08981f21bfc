package collateral

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir is an offline bundle: a directory holding one platform's collateral
// under the names Kind.FileName gives.
type Dir string

func (d Dir) Fetch(_ context.Context, req Request) ([]byte, error) {
	name := req.Kind.FileName()
	if name == "" {
		return nil, fmt.Errorf("collateral: invalid kind %v", req.Kind)
	}
	p := filepath.Join(string(d), name)
	b, err := readLimited(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("collateral: %s: %w", p, ErrNotFound)
	}
	return b, err
}

// readLimited reads a regular file of at most MaxItemSize bytes. The bound
// is enforced on the bytes read, not on what stat reports (a /proc file or
// a link to /dev/zero reports size 0), and only regular files are read, so
// a hostile bundle or cache directory cannot exhaust memory.
func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("collateral: %s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxItemSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxItemSize {
		return nil, fmt.Errorf("collateral: %s is larger than %d bytes", p, MaxItemSize)
	}
	return b, nil
}
