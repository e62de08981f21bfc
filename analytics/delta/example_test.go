package delta_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/cofre-cc/cofre/analytics/delta"
)

func Example() {
	dir, err := os.MkdirTemp("", "delta-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "fare", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "month", Type: arrow.BinaryTypes.String},
	}, nil)
	tbl, err := delta.Create(dir, schema, []string{"month"}, delta.CreateOptions{Name: "trips"})
	if err != nil {
		log.Fatal(err)
	}
	defer tbl.Close()

	// Data files are written by the caller (e.g. encrypted Parquet), then
	// committed. Here an empty stand-in file.
	rel := "month=2024-01/part-0.parquet"
	os.MkdirAll(filepath.Join(dir, "month=2024-01"), 0o755)
	os.WriteFile(filepath.Join(dir, rel), []byte("PAR1"), 0o644)
	v, err := tbl.Append(ctx, []delta.AddFile{{Path: rel, PartitionValues: map[string]string{"month": "2024-01"}}},
		delta.CommitInfo{Time: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed version", v)

	for _, version := range []int64{0, -1} { // time travel, then the latest
		s, err := tbl.Snapshot(ctx, version)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("version %d: %d file(s)\n", s.Version, len(s.Files))
		for _, f := range s.Files {
			fmt.Println(" ", f.Path, f.PartitionValues["month"], f.Size)
		}
	}
	// Output:
	// committed version 1
	// version 0: 0 file(s)
	// version 1: 1 file(s)
	//   month=2024-01/part-0.parquet 2024-01 4
}
