package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/analytics/delta"
	"github.com/cofre-cc/cofre/analytics/taxi"
)

type datagenFlags struct {
	coord   coordFlags
	pme     pmeFlags
	rows    int64
	seed    uint64
	out     string
	format  string
	start   string
	months  int
	workers int
	encrypt bool
}

func newDatagenCmd() *cobra.Command {
	return newGroup("datagen", "Generate test data sets", newDatagenTaxiCmd())
}

func newDatagenTaxiCmd() *cobra.Command {
	var f datagenFlags
	cmd := &cobra.Command{
		Use:   "taxi --rows N --out DIR [--encrypt] [--format parquet|delta]",
		Short: "Generate NYC yellow-taxi trip records (the TLC schema) as Parquet or a Delta table",
		Long: `Writes N synthetic trip records with the NYC Taxi & Limousine Commission's
yellow-taxi schema, partitioned by year and month (DIR/year=YYYY/month=MM/),
deterministic for a seed, with plausible distributions (hour-of-day and weekday
profiles, fares from distance and time, tips by payment type, airport trips).
The records are made up: no real trip is in them.

--encrypt writes Parquet Modular Encryption (AES-GCM), with data keys wrapped by
the coordinator's KMS under the policy's parquet-master-key secrets: run it
under cofre run (the workload's certificate and the coordinator come from the
launcher) or give --coordinator and --cert. --format delta writes a Delta table
(with no per-file statistics in its log: they would be plaintext min/max values).

Exit status: 0 done, 1 refused by the coordinator, 2 usage error, 3 coordinator
unavailable.`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runDatagenTaxi(ctx, stdout, stderr, &f)
		}),
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	f.pme.register(fl, "", "taxi_master")
	fl.Int64Var(&f.rows, "rows", 1_000_000, "number of trip records")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed and sizes give the same data")
	fl.StringVar(&f.out, "out", "", "output directory; must not exist or be empty (required)")
	fl.StringVar(&f.format, "format", "parquet", "parquet (Hive-partitioned files) or delta (a Delta table)")
	fl.StringVar(&f.start, "start", "2024-01", "first month, YYYY-MM")
	fl.IntVar(&f.months, "months", 12, "number of months the trips spread over")
	fl.IntVar(&f.workers, "workers", 0, "parallel writers (0: one per CPU)")
	fl.BoolVar(&f.encrypt, "encrypt", false, "encrypt with keys from the coordinator's KMS")
	return cmd
}

func runDatagenTaxi(ctx context.Context, stdout, stderr io.Writer, f *datagenFlags) error {
	if f.out == "" {
		return usagef("--out is required")
	}
	if f.rows <= 0 {
		return usagef("--rows must be positive")
	}
	if f.format != "parquet" && f.format != "delta" {
		return usagef("--format %q: want parquet or delta", f.format)
	}
	start, err := time.Parse("2006-01", f.start)
	if err != nil {
		return usagef("--start %q: want YYYY-MM", f.start)
	}
	if f.months < 1 || f.months > 1200 {
		return usagef("--months must be 1 to 1200")
	}
	opts := taxi.Options{Rows: f.rows, Seed: f.seed, Dir: f.out, Start: start, Months: f.months, Workers: f.workers}
	if f.encrypt {
		factory, err := kmsFactory(ctx, stderr, &f.coord, false)
		if err != nil {
			return err
		}
		cfg, err := f.pme.config(taxi.Schema())
		if err != nil {
			return usagef("encryption: %v", err)
		}
		// One call per file: every file gets its own data keys.
		opts.Encryption = func(string) (*parquet.FileEncryptionProperties, error) {
			return factory.EncryptionProperties(ctx, cfg)
		}
	}
	p := newProgress(stderr, "rows", f.rows)
	opts.Progress = p.update
	began := time.Now()
	files, err := taxi.Generate(ctx, opts)
	if err != nil {
		return err
	}
	elapsed := time.Since(began)
	var bytes int64
	for _, fi := range files {
		bytes += fi.Bytes
	}
	if f.format == "delta" {
		// Delta lists partition columns in the table schema; the files
		// hold only the others (their values are in the log and the path).
		fields := append(taxi.Schema().Fields(),
			arrow.Field{Name: "year", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			arrow.Field{Name: "month", Type: arrow.PrimitiveTypes.Int32, Nullable: true})
		t, err := delta.Create(f.out, arrow.NewSchema(fields, nil), []string{"year", "month"}, delta.CreateOptions{Name: "taxi"})
		if err != nil {
			return err
		}
		adds := make([]delta.AddFile, len(files))
		for i, fi := range files {
			adds[i] = delta.AddFile{
				Path:            filepath.ToSlash(fi.RelPath),
				PartitionValues: map[string]string{"year": fmt.Sprint(fi.Year), "month": fmt.Sprint(fi.Month)},
				Size:            fi.Bytes,
				DataChange:      true,
			}
		}
		if _, err := t.Append(ctx, adds, delta.CommitInfo{}); err != nil {
			return err
		}
	}
	enc := "plaintext"
	if f.encrypt {
		enc = "encrypted (Parquet modular encryption, keys from the coordinator's KMS)"
	}
	fmt.Fprintf(stdout, "wrote %d rows in %d files, %s, %s, in %.1f s (%s rows/s) to %s\n",
		f.rows, len(files), si(float64(bytes))+"B", enc, elapsed.Seconds(), si(float64(f.rows)/elapsed.Seconds()), f.out)
	return nil
}
