package collateral

import (
	"context"
	"errors"
	"fmt"
)

// First asks each source in turn and returns the first answer that is not
// ErrNotFound. Use it to put explicit files in front of a bundle directory,
// or a bundle in front of an online source.
type First []Source

func (f First) Fetch(ctx context.Context, req Request) ([]byte, error) {
	for _, s := range f {
		b, err := s.Fetch(ctx, req)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return b, err
	}
	return nil, fmt.Errorf("collateral: %v: %w", req.Kind, ErrNotFound)
}

// File serves one item from an explicit path, whatever its name, and
// reports ErrNotFound for every other kind.
type File struct {
	Kind Kind
	Path string
}

func (f File) Fetch(_ context.Context, req Request) ([]byte, error) {
	if req.Kind != f.Kind {
		return nil, fmt.Errorf("collateral: %v: %w", req.Kind, ErrNotFound)
	}
	return readLimited(f.Path)
}
