//go:build duckdb_arrow

package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Test keys: 16-byte AES keys, test-only.
const (
	footerKey = "0123456789abcdef"
	// uniformKey is 256-bit: DuckDB's own reader takes only those.
	uniformKey = "0123456789abcdef0123456789abcdef"
	moneyKey   = "fedcba9876543210"
	secretKey  = "secret-key-16byt"
	wrongKey   = "XXXXXXXXXXXXXXXX"
)

// taxiSchema is a small taxi-like schema: enough columns to show that
// projection skips the unneeded ones.
var taxiSchema = arrow.NewSchema([]arrow.Field{
	{Name: "passenger_count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "trip_distance", Type: arrow.PrimitiveTypes.Float64},
	{Name: "fare_amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "total_amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "secret", Type: arrow.BinaryTypes.String},
}, nil)

// groupStats are the expected Q1 values for one passenger_count.
type groupStats struct {
	count     int64
	sumTotal  float64
	sumFare   float64
	sumSecret int64 // total length of secret strings
}

type genOpts struct {
	rows, rowGroupRows int
	seed               uint64
	encrypt            bool
	uniform            bool          // with encrypt: every column under the footer key
	ctr                bool          // with encrypt and uniform: AES_GCM_CTR_V1
	pageBytes          int64         // data page size limit; 0: arrow-go's default (1 MiB)
	schema             *arrow.Schema // default taxiSchema
}

// writeTaxi writes a deterministic file and returns the per-group stats.
func writeTaxi(tb testing.TB, path string, o genOpts) map[int64]*groupStats {
	tb.Helper()
	sc := o.schema
	if sc == nil {
		sc = taxiSchema
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	wopts := []parquet.WriterProperty{
		parquet.WithMaxRowGroupLength(int64(o.rowGroupRows)),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false),
	}
	if o.pageBytes > 0 {
		wopts = append(wopts, parquet.WithDataPageSize(o.pageBytes))
	}
	if o.encrypt && o.uniform {
		alg := parquet.AesGcm
		if o.ctr {
			alg = parquet.AesCtr
		}
		wopts = append(wopts, parquet.WithEncryptionProperties(parquet.NewFileEncryptionProperties(uniformKey, parquet.WithAlg(alg))))
	} else if o.encrypt {
		cols := parquet.ColumnPathToEncryptionPropsMap{
			"fare_amount":  parquet.NewColumnEncryptionProperties("fare_amount", parquet.WithKey(moneyKey)),
			"total_amount": parquet.NewColumnEncryptionProperties("total_amount", parquet.WithKey(moneyKey)),
			"secret":       parquet.NewColumnEncryptionProperties("secret", parquet.WithKey(secretKey)),
		}
		wopts = append(wopts, parquet.WithEncryptionProperties(
			parquet.NewFileEncryptionProperties(footerKey, parquet.WithEncryptedColumns(cols))))
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(wopts...), pqarrow.DefaultWriterProps())
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(o.seed, 7))
	stats := map[int64]*groupStats{}
	mem := memory.NewGoAllocator()
	const chunk = 32 * 1024
	for done := 0; done < o.rows; done += chunk {
		n := min(chunk, o.rows-done)
		b := array.NewRecordBuilder(mem, sc)
		for range n {
			pc := int64(rng.IntN(7))
			dist := rng.Float64() * 20
			fare := float64(int64((3+dist*2.5)*100)) / 100
			total := fare + float64(rng.IntN(500))/100
			secret := fmt.Sprintf("s%d", rng.IntN(1000))
			for i, fld := range sc.Fields() {
				switch fld.Name {
				case "passenger_count":
					b.Field(i).(*array.Int64Builder).Append(pc)
				case "trip_distance":
					b.Field(i).(*array.Float64Builder).Append(dist)
				case "fare_amount":
					b.Field(i).(*array.Float64Builder).Append(fare)
				case "total_amount":
					b.Field(i).(*array.Float64Builder).Append(total)
				case "note":
					if rng.IntN(4) == 0 {
						b.Field(i).AppendNull()
					} else {
						b.Field(i).(*array.StringBuilder).Append("ok")
					}
				case "secret":
					b.Field(i).(*array.StringBuilder).Append(secret)
				default:
					tb.Fatalf("generator: unknown column %s", fld.Name)
				}
			}
			g := stats[pc]
			if g == nil {
				g = &groupStats{}
				stats[pc] = g
			}
			g.count++
			g.sumTotal += total
			g.sumFare += fare
			g.sumSecret += int64(len(secret))
		}
		rec := b.NewRecordBatch()
		if err := w.WriteBuffered(rec); err != nil {
			tb.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return stats
}

// decryptor returns a Table.Decryption with the given keys; an empty key
// is left out.
func decryptor(footer, money, secret string) func() *parquet.FileDecryptionProperties {
	return func() *parquet.FileDecryptionProperties {
		cols := parquet.ColumnPathToDecryptionPropsMap{}
		if money != "" {
			cols["fare_amount"] = parquet.NewColumnDecryptionProperties("fare_amount", parquet.WithDecryptKey(money))
			cols["total_amount"] = parquet.NewColumnDecryptionProperties("total_amount", parquet.WithDecryptKey(money))
		}
		if secret != "" {
			cols["secret"] = parquet.NewColumnDecryptionProperties("secret", parquet.WithDecryptKey(secret))
		}
		return parquet.NewFileDecryptionProperties(parquet.WithFooterKey(footer), parquet.WithColumnKeys(cols))
	}
}

func tempPath(tb testing.TB, name string) string {
	return filepath.Join(tb.TempDir(), name)
}
