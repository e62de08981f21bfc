// Package pgout writes a query result (an Arrow record stream) into a new
// PostgreSQL table with encrypted columns (colenc/pgcol): the analytics
// job's results land in the database already encrypted, column by column,
// under keys only attested workloads can unwrap.
//
// What it does not do: append to or replace an existing table (it refuses
// one), write Arrow types it cannot map exactly (decimals, lists, structs,
// intervals are refused with the column's name), or encrypt the row key.
package pgout

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/colenc/pgcol"
)

// GeneratedRowKey names the row key pgout adds when the result has none:
// the row's 1-based position in the result.
const GeneratedRowKey = "row_id"

// Options describe the table to create.
type Options struct {
	// Table is the new table's name.
	Table string
	// RowKey names a result column (text or integer, unique, never NULL)
	// to use as the primary key; empty adds GeneratedRowKey.
	RowKey string
	// Encrypt maps result columns to their scheme. At least one.
	Encrypt map[string]pgcol.Scheme
	// Index lists cofre-v2 columns to give a blind index (Lookup).
	Index []string
	// CEK names the column encryption key (default: the table's name).
	CEK string
	// CMK names the KMS master key that wraps the CEK; it is recorded
	// under the same name in cofre_column_master_keys.
	CMK string
}

// Write creates opts.Table and copies every row of rr into it, encrypting
// the columns opts.Encrypt names. It returns the rows written.
func Write(ctx context.Context, db *pgxpool.Pool, kms pgcol.KMS, rr array.RecordReader, opts Options) (int64, error) {
	t, conv, err := declare(rr.Schema(), opts)
	if err != nil {
		return 0, err
	}
	if err := pgcol.Init(ctx, db); err != nil {
		return 0, err
	}
	if err := pgcol.CreateCMK(ctx, db, opts.CMK); err != nil {
		return 0, err
	}
	h, err := pgcol.Create(ctx, db, kms, t, pgcol.CreateOptions{CMK: opts.CMK})
	if err != nil {
		return 0, err
	}
	generated := opts.RowKey == ""
	var rec arrow.RecordBatch
	row, n := 0, int64(0)
	next := func() (pgcol.Row, bool, error) {
		for rec == nil || row == int(rec.NumRows()) {
			if !rr.Next() {
				return nil, false, rr.Err()
			}
			rec, row = rr.RecordBatch(), 0
		}
		n++
		out := make(pgcol.Row, 0, len(t.Columns))
		if generated {
			out = append(out, n)
		}
		for i, c := range rec.Columns() {
			v, err := conv[i](c, row)
			if err != nil {
				return nil, false, err
			}
			out = append(out, v)
		}
		row++
		return out, true, nil
	}
	return h.CopyFrom(ctx, next)
}

// converter reads one value of an Arrow column as pgcol's Go type.
type converter func(a arrow.Array, i int) (any, error)

// declare maps the result's schema to a pgcol table.
func declare(s *arrow.Schema, opts Options) (pgcol.Table, []converter, error) {
	t := pgcol.Table{Name: opts.Table, RowKey: opts.RowKey}
	cek := opts.CEK
	if cek == "" {
		cek = opts.Table
	}
	if opts.CMK == "" {
		return t, nil, fmt.Errorf("%w: a column master key (KMS key name) is required", pgcol.ErrSchema)
	}
	if len(opts.Encrypt) == 0 {
		return t, nil, fmt.Errorf("%w: no column to encrypt", pgcol.ErrSchema)
	}
	if opts.RowKey == "" {
		t.RowKey = GeneratedRowKey
		t.Columns = append(t.Columns, pgcol.Column{Name: GeneratedRowKey, Type: pgcol.BigInt})
	}
	index := map[string]bool{}
	for _, c := range opts.Index {
		index[c] = true
	}
	seen := map[string]bool{}
	var conv []converter
	for _, f := range s.Fields() {
		typ, cv, err := mapType(f.Type)
		if err != nil {
			return t, nil, fmt.Errorf("%w: result column %q: %v", pgcol.ErrSchema, f.Name, err)
		}
		c := pgcol.Column{Name: f.Name, Type: typ}
		if sc, ok := opts.Encrypt[f.Name]; ok {
			c.Scheme, c.CEK, c.Index = sc, cek, index[f.Name]
			seen[f.Name] = true
		} else if index[f.Name] {
			return t, nil, fmt.Errorf("%w: --index column %q is not encrypted", pgcol.ErrSchema, f.Name)
		}
		t.Columns = append(t.Columns, c)
		conv = append(conv, cv)
	}
	for c := range opts.Encrypt {
		if !seen[c] {
			return t, nil, fmt.Errorf("%w: no result column %q to encrypt", pgcol.ErrSchema, c)
		}
	}
	return t, conv, nil
}

func mapType(dt arrow.DataType) (pgcol.Type, converter, error) {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return pgcol.BigInt, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			switch x := a.(type) {
			case *array.Int8:
				return int64(x.Value(i)), nil
			case *array.Int16:
				return int64(x.Value(i)), nil
			case *array.Int32:
				return int64(x.Value(i)), nil
			case *array.Int64:
				return x.Value(i), nil
			case *array.Uint8:
				return int64(x.Value(i)), nil
			case *array.Uint16:
				return int64(x.Value(i)), nil
			case *array.Uint32:
				return int64(x.Value(i)), nil
			}
			return nil, fmt.Errorf("%w: %T", pgcol.ErrValue, a)
		}, nil
	case arrow.FLOAT32, arrow.FLOAT64:
		return pgcol.Double, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			switch x := a.(type) {
			case *array.Float32:
				return float64(x.Value(i)), nil
			case *array.Float64:
				return x.Value(i), nil
			}
			return nil, fmt.Errorf("%w: %T", pgcol.ErrValue, a)
		}, nil
	case arrow.BOOL:
		return pgcol.Boolean, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			return a.(*array.Boolean).Value(i), nil
		}, nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return pgcol.Text, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			return a.ValueStr(i), nil
		}, nil
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return pgcol.Bytea, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			switch x := a.(type) {
			case *array.Binary:
				return append([]byte(nil), x.Value(i)...), nil
			case *array.LargeBinary:
				return append([]byte(nil), x.Value(i)...), nil
			case *array.BinaryView:
				return append([]byte(nil), x.Value(i)...), nil
			}
			return nil, fmt.Errorf("%w: %T", pgcol.ErrValue, a)
		}, nil
	case arrow.TIMESTAMP:
		unit := dt.(*arrow.TimestampType).Unit
		return pgcol.Timestamptz, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			return a.(*array.Timestamp).Value(i).ToTime(unit).UTC(), nil
		}, nil
	case arrow.DATE32:
		return pgcol.Date, func(a arrow.Array, i int) (any, error) {
			if a.IsNull(i) {
				return nil, nil
			}
			return time.Unix(int64(a.(*array.Date32).Value(i))*86400, 0).UTC(), nil
		}, nil
	}
	return "", nil, fmt.Errorf("type %s has no exact PostgreSQL mapping here (cast it in the query: CAST(x AS DOUBLE) or AS VARCHAR)", dt)
}
