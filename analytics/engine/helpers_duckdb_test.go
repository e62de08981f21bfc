//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql/driver"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

func rowsConn(conn driver.Conn, q string) (int, error) {
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return 0, err
	}
	rr, err := ar.QueryContext(context.Background(), q)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	n := 0
	for rr.Next() {
		n += int(rr.RecordBatch().NumRows())
	}
	return n, rr.Err()
}
