package taxi_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cofre-cc/cofre/analytics/taxi"
)

func ExampleGenerate() {
	root, err := os.MkdirTemp("", "taxi")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	files, err := taxi.Generate(context.Background(), taxi.Options{
		Rows:   10_000,
		Seed:   1,
		Dir:    filepath.Join(root, "trips"),
		Months: 2, // January and February 2024
	})
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		fmt.Println(f.RelPath, f.Year, f.Month, f.Rows)
	}
	// Output:
	// year=2024/month=01/part-00000.parquet 2024 1 4969
	// year=2024/month=02/part-00000.parquet 2024 2 5031
}
