//go:build !duckdb_arrow

package engine

import (
	"errors"
	"testing"
)

func TestOpenWithoutDuckDB(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want error
	}{
		{Options{}, ErrNoDuckDB},
		{Options{Workers: -1}, ErrInvalidOptions},
	} {
		if _, err := Open(tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("Open(%+v): got %v, want %v", tc.opts, err, tc.want)
		}
	}
}
