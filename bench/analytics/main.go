// Command analytics measures cofre's SQL engine on encrypted Parquet
// against DuckDB reading the same data in plaintext, in one run:
//
//	go run -tags duckdb_arrow ./bench/analytics -rows 100000000 -runs 5
//
// It generates the taxi data set three times with the same seed —
// plaintext; encrypted under one key (uniform, 256-bit data keys, what
// `cofre datagen --encrypt` writes by default); and encrypted as the demo
// encrypts it (a footer key for trips, a second master key for the fare
// columns) — then runs each query on three targets in turn, runs times:
// cofre on the one-key files (DuckDB's own reader decrypts), cofre on the
// column-key files (arrow-go decrypts and streams Arrow into DuckDB), and
// DuckDB's own read_parquet on the plaintext files (the baseline). Medians, rows/s and ratios go to stdout as Markdown.
//
// The master keys are in memory (pme.MemoryKMS): with double wrapping the
// KMS is called once per master key per run, which would add one
// coordinator round trip (~1 ms) to each cofre figure.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/cofre-cc/cofre/analytics/engine"
	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/analytics/taxi"
)

var queries = []struct{ name, sql string }{
	{"Q1", "SELECT passenger_count, count(*), sum(total_amount), avg(fare_amount) FROM taxi GROUP BY passenger_count"},
	{"full scan", "SELECT count(*), count(VendorID), min(tpep_pickup_datetime), max(tpep_dropoff_datetime), " +
		"sum(passenger_count), sum(trip_distance), sum(RatecodeID), count(store_and_fwd_flag), sum(PULocationID), " +
		"sum(DOLocationID), sum(payment_type), sum(fare_amount), sum(extra), sum(mta_tax), sum(tip_amount), " +
		"sum(tolls_amount), sum(improvement_surcharge), sum(total_amount), sum(congestion_surcharge), sum(Airport_fee) FROM taxi"},
}

var batchRows int

const fareColumns = "fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee"

func main() {
	rows := flag.Int64("rows", 100_000_000, "rows in the data set")
	runs := flag.Int("runs", 5, "runs per query and target")
	dir := flag.String("dir", "", "data directory, kept between invocations (default: a temporary one, removed)")
	only := flag.String("only", "", "run only the targets whose name contains this, and the queries whose name does (profiling)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	flag.IntVar(&batchRows, "batch", 0, "rows per Arrow batch on the arrow-go path (0: the engine's default)")
	flag.Parse()
	if err := run(*rows, *runs, *dir, *only, *cpuprofile); err != nil {
		log.Fatal(err)
	}
}

func run(rows int64, runs int, dir, only, cpuprofile string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "analytics-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	keys := map[string][]byte{"trips_key": random(32), "fares_key": random(32)}
	if b, err := os.ReadFile(filepath.Join(dir, "keys")); err == nil && len(b) == 64 {
		keys["trips_key"], keys["fares_key"] = b[:32], b[32:]
	}
	kms, err := pme.NewMemoryKMS(keys)
	if err != nil {
		return err
	}
	plain, enc, uni := filepath.Join(dir, "plain"), filepath.Join(dir, "encrypted"), filepath.Join(dir, "uniform")
	if err := generate(ctx, plain, rows, nil); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "keys"), append(append([]byte{}, keys["trips_key"]...), keys["fares_key"]...), 0o600); err != nil {
		return err
	}
	ps, err := pqarrow.ToParquet(taxi.Schema(), parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	cfg := pme.Config{FooterKey: "trips_key", ColumnKeys: "fares_key:" + fareColumns, CompleteColumns: true, Schema: ps, DataKeyLength: 256}
	wf := pme.NewFactory(kms, pme.FactoryOptions{})
	if err := generate(ctx, enc, rows, func(string) (*parquet.FileEncryptionProperties, error) { return wf.EncryptionProperties(ctx, cfg) }); err != nil {
		return err
	}
	ucfg := pme.Config{UniformKey: "trips_key", DataKeyLength: 256}
	if err := generate(ctx, uni, rows, func(string) (*parquet.FileEncryptionProperties, error) { return wf.EncryptionProperties(ctx, ucfg) }); err != nil {
		return err
	}
	uniFiles, err := files(uni)
	if err != nil {
		return err
	}
	encFiles, err := files(enc)
	if err != nil {
		return err
	}

	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	glob := filepath.Join(plain, "**", "*.parquet")

	type target struct {
		name string
		run  func(q string) error
	}
	cofre := func(fs []engine.File, encrypted bool) func(string) error {
		return func(q string) error {
			e, err := engine.Open(engine.Options{BatchRows: batchRows})
			if err != nil {
				return err
			}
			defer e.Close()
			t := engine.Table{Name: "taxi", Files: fs}
			if encrypted {
				// A new factory per run: the KEKs are unwrapped again.
				f := pme.NewFactory(kms, pme.FactoryOptions{})
				t.Decryption = func() *parquet.FileDecryptionProperties { return f.DecryptionProperties(ctx) }
			}
			if err := e.Register(ctx, t); err != nil {
				return err
			}
			rr, err := e.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rr.Release()
			for rr.Next() {
			}
			return rr.Err()
		}
	}
	targets := []target{
		{"cofre, encrypted, one key (DuckDB reader)", cofre(uniFiles, true)},
		{"cofre, encrypted, column keys (arrow-go)", cofre(encFiles, true)},
		{"DuckDB read_parquet, plaintext", func(q string) error {
			q = strings.Replace(q, "FROM taxi", fmt.Sprintf("FROM read_parquet('%s')", glob), 1)
			r, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer r.Close()
			for r.Next() {
			}
			return r.Err()
		}},
	}

	if only != "" {
		targets = slices.DeleteFunc(targets, func(t target) bool { return !strings.Contains(t.name, only) })
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("%d rows, %d runs per query and target (interleaved), medians; GOMAXPROCS default\n\n", rows, runs)
	for _, q := range queries {
		if len(targets) < 3 {
			// Profiling: no table, only the timings on stderr.
			for r := 0; r < runs; r++ {
				for _, t := range targets {
					began := time.Now()
					if err := t.run(q.sql); err != nil {
						return err
					}
					fmt.Fprintf(os.Stderr, "%s run %d %-32s %.2f s\n", q.name, r+1, t.name, time.Since(began).Seconds())
				}
			}
			continue
		}
		secs := make([][]float64, len(targets))
		for r := 0; r < runs; r++ {
			for i, t := range targets {
				began := time.Now()
				if err := t.run(q.sql); err != nil {
					return fmt.Errorf("%s, %s: %w", q.name, t.name, err)
				}
				s := time.Since(began).Seconds()
				secs[i] = append(secs[i], s)
				fmt.Fprintf(os.Stderr, "%s run %d %-32s %.2f s\n", q.name, r+1, t.name, s)
			}
		}
		fmt.Printf("### %s\n\n`%s`\n\n| target | median s | rows/s | projected to 1.5 B rows |\n|---|---:|---:|---:|\n", q.name, q.sql)
		med := make([]float64, len(targets))
		for i, t := range targets {
			med[i] = median(secs[i])
			fmt.Printf("| %s | %.2f | %.1f M | %.0f s |\n", t.name, med[i], float64(rows)/med[i]/1e6, med[i]*1.5e9/float64(rows))
		}
		fmt.Printf("\nencrypted (one key) / DuckDB plaintext: %.2f×; encrypted (column keys) / DuckDB plaintext: %.2f×\n\n", med[0]/med[2], med[1]/med[2])
	}
	return nil
}

// generate writes the data set to dir unless a complete one is there.
func generate(ctx context.Context, dir string, rows int64, enc func(string) (*parquet.FileEncryptionProperties, error)) error {
	if b, err := os.ReadFile(filepath.Join(dir, ".rows")); err == nil && string(b) == fmt.Sprint(rows) {
		return nil
	}
	os.RemoveAll(dir)
	began := time.Now()
	if _, err := taxi.Generate(ctx, taxi.Options{Rows: rows, Seed: 1, Dir: dir, Encryption: enc}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generated %s in %.0f s\n", dir, time.Since(began).Seconds())
	return os.WriteFile(filepath.Join(dir, ".rows"), []byte(fmt.Sprint(rows)), 0o600)
}

func files(dir string) ([]engine.File, error) {
	var out []engine.File
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, engine.File{Path: p})
		}
		return err
	})
	return out, err
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
