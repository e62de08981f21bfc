package pme

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Master keys of the tests (parquet-java's sample keys, base64
// "AAECAwQFBgcICQoLDA0ODw==" style: fixed bytes, obviously not secret).
var testKeys = map[string][]byte{
	"kf":  []byte("0123456789012345"),
	"kc1": []byte("1234567890123450"),
	"kc2": []byte("1234567890123451abcdefgh"),
	"ku":  []byte("abcdefghijklmnopqrstuvwxyz012345"),
}

func newTestKMS(t testing.TB, ids ...string) *MemoryKMS {
	t.Helper()
	keys := map[string][]byte{}
	if len(ids) == 0 {
		keys = testKeys
	}
	for _, id := range ids {
		keys[id] = testKeys[id]
	}
	k, err := NewMemoryKMS(keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// countingKMS counts the calls that reach its KMS.
type countingKMS struct {
	KMSClient
	mu             sync.Mutex // guards the counts
	wraps, unwraps map[string]int
}

func newCounting(k KMSClient) *countingKMS {
	return &countingKMS{KMSClient: k, wraps: map[string]int{}, unwraps: map[string]int{}}
}

func (c *countingKMS) WrapKey(ctx context.Context, key []byte, id string) (string, error) {
	c.mu.Lock()
	c.wraps[id]++
	c.mu.Unlock()
	return c.KMSClient.WrapKey(ctx, key, id)
}

func (c *countingKMS) UnwrapKey(ctx context.Context, w, id string) ([]byte, error) {
	c.mu.Lock()
	c.unwraps[id]++
	c.mu.Unlock()
	return c.KMSClient.UnwrapKey(ctx, w, id)
}

func (c *countingKMS) counts() (wraps, unwraps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.wraps {
		wraps += n
	}
	for _, n := range c.unwraps {
		unwraps += n
	}
	return wraps, unwraps
}

// fakeClock is an injected clock.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testRows = 100

// Column indices of the test schema.
const (
	colID = iota
	colName
	colSSN
	colAmount
)

// secretSSN marks the values of the encrypted column: they must never
// appear in a file's bytes.
const secretSSN = "SSN-SECRET-"

func testTable(t testing.TB) arrow.Table { return testTableN(t, testRows) }

func testTableN(t testing.TB, rows int) arrow.Table {
	t.Helper()
	mem := memory.DefaultAllocator
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "ssn", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for i := range rows {
		b.Field(colID).(*array.Int64Builder).Append(int64(i))
		b.Field(colName).(*array.StringBuilder).Append(fmt.Sprintf("name-%03d", i))
		b.Field(colSSN).(*array.StringBuilder).Append(fmt.Sprintf("%s%04d", secretSSN, i))
		b.Field(colAmount).(*array.Float64Builder).Append(float64(i) * 1.5)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}

func testSchema(t testing.TB) *schema.Schema {
	t.Helper()
	tbl := testTable(t)
	defer tbl.Release()
	sc, err := pqarrow.ToParquet(tbl.Schema(), parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// writeFile writes the test table (two row groups, no dictionaries, with
// statistics) with props.
func writeFile(t testing.TB, props *parquet.FileEncryptionProperties) []byte {
	t.Helper()
	return writeFileN(t, props, testRows)
}

func writeFileN(t testing.TB, props *parquet.FileEncryptionProperties, rows int) []byte {
	t.Helper()
	tbl := testTableN(t, rows)
	defer tbl.Release()
	opts := []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithStats(true)}
	if props != nil {
		opts = append(opts, parquet.WithEncryptionProperties(props))
	}
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(tbl, &buf, int64(max(rows/2, 1)), parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encrypt makes properties with f and writes the test file.
func encrypt(t testing.TB, f *Factory, cfg Config) []byte {
	t.Helper()
	props, err := f.EncryptionProperties(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, props)
}

// readFile opens data with dec and reads columns (nil: all).
func readFile(data []byte, dec *parquet.FileDecryptionProperties, columns []int) (arrow.Table, error) {
	rdr, err := OpenFile(bytes.NewReader(data), dec, nil)
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	return ReadTable(context.Background(), rdr, columns, nil)
}

// checkTable compares the columns of got with the test table.
func checkTable(t testing.TB, got arrow.Table, columns []int) {
	t.Helper()
	defer got.Release()
	want := testTable(t)
	defer want.Release()
	if columns == nil {
		columns = []int{colID, colName, colSSN, colAmount}
	}
	if got.NumRows() != testRows || int(got.NumCols()) != len(columns) {
		t.Fatalf("got %d rows and %d columns, want %d and %d", got.NumRows(), got.NumCols(), testRows, len(columns))
	}
	for i, c := range columns {
		if !array.ChunkedEqual(got.Column(i).Data(), want.Column(c).Data()) {
			t.Errorf("column %s differs", want.Schema().Field(c).Name)
		}
	}
}
