//go:build !duckdb_arrow

package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Engine runs SQL over registered tables. This build has no DuckDB: Open
// always fails with ErrNoDuckDB.
type Engine struct{}

// Open returns ErrNoDuckDB: cofre was built without the duckdb_arrow tag.
func Open(opts Options) (*Engine, error) {
	if _, err := opts.withDefaults(); err != nil {
		return nil, err
	}
	return nil, ErrNoDuckDB
}

// Register returns ErrNoDuckDB.
func (e *Engine) Register(ctx context.Context, t Table) error { return ErrNoDuckDB }

// Query returns ErrNoDuckDB.
func (e *Engine) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	return nil, ErrNoDuckDB
}

// Close does nothing.
func (e *Engine) Close() error { return nil }
