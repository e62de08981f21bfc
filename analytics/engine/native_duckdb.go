//go:build duckdb_arrow

package engine

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// seal locks the query database before its first query. If every table
// can be read by DuckDB's own reader (and NoNative is off), it first makes
// each table a view over read_parquet of its files — with their footer
// keys registered under random names — and allows exactly those files.
// It reports whether queries run natively.
func (e *Engine) seal(ctx context.Context) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false, ErrClosed
	}
	if e.broken {
		return false, errBroken
	}
	if e.sealed {
		return e.native, nil
	}
	native := !e.opts.NoNative && len(e.tables) > 0
	for _, ti := range e.tables {
		native = native && ti.nativeOK
	}
	var stmts []string
	if native {
		var paths []string
		for _, name := range slices.Sorted(maps.Keys(e.tables)) {
			ti := e.tables[name]
			view, err := nativeView(ti, &stmts)
			if err != nil {
				return false, err
			}
			stmts = append(stmts, view)
			for _, f := range ti.t.Files {
				paths = append(paths, sqlString(f.Path))
			}
		}
		// Before the lock: the files DuckDB may open once external access
		// is off. Nothing else.
		stmts = append([]string{"SET GLOBAL allowed_paths = [" + strings.Join(paths, ", ") + "]"}, stmts...)
	}
	for _, s := range lockSettings {
		stmts = append(stmts, "SET GLOBAL "+s)
	}
	conn, err := e.db.Connect(ctx)
	if err != nil {
		return false, fmt.Errorf("engine: connect: %w", err)
	}
	defer conn.Close()
	ex := conn.(driver.ExecerContext)
	for _, s := range stmts {
		if _, err := ex.ExecContext(ctx, s, nil); err != nil {
			// Fail closed: lock the database whatever happened, and never
			// return DuckDB's message, which quotes the statement (a
			// PRAGMA holds a key).
			for _, l := range lockSettings {
				ex.ExecContext(context.WithoutCancel(ctx), "SET GLOBAL "+l, nil)
			}
			e.sealed, e.native, e.broken = true, native, true
			what := "a table view"
			if strings.HasPrefix(s, "PRAGMA") {
				what = "a file key"
			} else if !strings.HasPrefix(s, "CREATE VIEW") {
				msg := err.Error()
				if i := strings.IndexByte(msg, '\n'); i > 0 {
					msg = msg[:i]
				}
				return false, fmt.Errorf("engine: prepare the query database: %s", msg)
			}
			return false, fmt.Errorf("engine: prepare the query database: registering %s failed (is every table file still there?)", what)
		}
	}
	e.sealed, e.native = true, native
	return native, nil
}

// errBroken: preparing the query database failed; it is locked and
// takes no more queries.
var errBroken = fmt.Errorf("%w: the query database could not be prepared; open a new engine", ErrQuery)

// nativeView returns the CREATE VIEW of one table over DuckDB's reader,
// adding the PRAGMAs that register its files' keys to keys.
func nativeView(ti *tableInfo, keys *[]string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE VIEW %s AS ", sqlIdent(ti.t.Name))
	for i, f := range ti.t.Files {
		if i > 0 {
			b.WriteString(" UNION ALL BY NAME ")
		}
		b.WriteString("SELECT *")
		for j, k := range ti.partKeys {
			v := f.PartitionValues[k]
			if ti.partInt[j] {
				fmt.Fprintf(&b, ", CAST(%s AS BIGINT) AS %s", sqlString(v), sqlIdent(k))
			} else {
				fmt.Fprintf(&b, ", %s AS %s", sqlString(v), sqlIdent(k))
			}
		}
		// hive_partitioning off: partition values are the table's
		// (File.PartitionValues, e.g. from a Delta log), not read again
		// from directory names.
		fmt.Fprintf(&b, " FROM read_parquet(%s, hive_partitioning = false", sqlString(f.Path))
		if key := ti.native[i].key; key != nil {
			var id [16]byte
			rand.Read(id[:])
			name := "cofre_" + hex.EncodeToString(id[:])
			*keys = append(*keys, fmt.Sprintf("PRAGMA add_parquet_key('%s', '%s')", name, base64.StdEncoding.EncodeToString(key)))
			fmt.Fprintf(&b, ", encryption_config = {footer_key: '%s'}", name)
		}
		b.WriteString(")")
	}
	return b.String(), nil
}

// runNative runs sql on the views seal made.
func runNative(ctx context.Context, conn driver.Conn, sql string) (array.RecordReader, error) {
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	rr, err := ar.QueryContext(ctx, sql)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nativeError(err)
	}
	return rr, nil
}

// nativeError classifies an error of DuckDB's Parquet reader: a failed
// authentication or an unreadable file is ErrRead, as on the arrow-go
// path; anything else is ErrQuery.
func nativeError(err error) error {
	msg := err.Error()
	for _, s := range []string{"AES tag", "Parquet", "parquet", "Could not read", "IO Error"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %w", ErrRead, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrQuery, err)
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlIdent quotes s as an SQL identifier.
func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
