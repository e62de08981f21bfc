//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql/driver"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Benchmark data: COFRE_BENCH_ROWS rows (default 2M) in one plaintext and
// one encrypted file, row groups of 1M rows, generated once per run.
var (
	benchOnce            sync.Once
	benchPlain, benchEnc string
	benchRows            = 2_000_000
)

func benchFiles(b *testing.B) (string, string) {
	benchOnce.Do(func() {
		if v, err := strconv.Atoi(os.Getenv("COFRE_BENCH_ROWS")); err == nil && v > 0 {
			benchRows = v
		}
		dir, err := os.MkdirTemp("", "cofre-engine-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchPlain = filepath.Join(dir, "plain.parquet")
		benchEnc = filepath.Join(dir, "enc.parquet")
		writeTaxi(b, benchPlain, genOpts{rows: benchRows, rowGroupRows: 1 << 20})
		writeTaxi(b, benchEnc, genOpts{rows: benchRows, rowGroupRows: 1 << 20, encrypt: true})
	})
	return benchPlain, benchEnc
}

const benchQ1 = `SELECT passenger_count, count(*), sum(total_amount), avg(fare_amount) FROM taxi GROUP BY passenger_count`

func BenchmarkQ1(b *testing.B) {
	plain, enc := benchFiles(b)
	for _, tc := range []struct {
		name string
		t    Table
	}{
		{"cofre-plain", Table{Name: "taxi", Files: []File{{Path: plain}}}},
		{"cofre-encrypted", Table{Name: "taxi", Files: []File{{Path: enc}}, Decryption: decryptor(footerKey, moneyKey, secretKey)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := openEngine(b, Options{})
			if err := e.Register(context.Background(), tc.t); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := rows(b, e, benchQ1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	// Baseline: DuckDB's own Parquet reader on the plaintext file, in a
	// separate database with external access on (benchmark only).
	b.Run("duckdb-read_parquet-plain", func(b *testing.B) {
		c, err := duckdb.NewConnector("", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conn, err := c.Connect(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		q := "SELECT passenger_count, count(*), sum(total_amount), avg(fare_amount) FROM read_parquet('" + plain + "') GROUP BY passenger_count"
		b.ResetTimer()
		for b.Loop() {
			if _, err := rowsConn(conn, q); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	var _ driver.Conn
}
