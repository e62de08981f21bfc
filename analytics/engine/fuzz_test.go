package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadParquet feeds arbitrary bytes as a Parquet file through Register's
// footer checks and a full scan: any outcome but a panic is fine.
func FuzzReadParquet(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ti, err := loadTable(context.Background(), Table{Name: "t", Files: []File{{Path: p}}})
		if err != nil {
			return
		}
		cols := make([]int, ti.schema.NumFields())
		for i := range cols {
			cols[i] = i
		}
		s := newScan(context.Background(), ti, cols, 2, 1024, nil)
		s.start()
		for s.Next() {
		}
		_ = s.Err()
		s.stop()
		s.Release()
	})
}

// FuzzParsePlan checks the EXPLAIN JSON parser never panics.
func FuzzParsePlan(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = parsePlan(data)
		_ = checkSingleSelect(data)
	})
}
