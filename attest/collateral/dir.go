package collateral

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxItemSize bounds any one collateral file. The largest real items (TDX TCB
// info, CRLs) are tens of kilobytes; a bound keeps a hostile bundle or server
// from exhausting memory.
const MaxItemSize = 4 << 20

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
	if st.Size() > MaxItemSize {
		return nil, fmt.Errorf("collateral: %s is %d bytes, limit %d", p, st.Size(), MaxItemSize)
	}
	return os.ReadFile(p)
}
