package output

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "passenger_count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "avg_fare", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// testReader returns three rows in two batches, with a NULL and strings
// that need CSV quoting and terminal escaping.
func testReader(t *testing.T) array.RecordReader {
	t.Helper()
	mem := memory.NewGoAllocator()
	var recs []arrow.RecordBatch
	for _, rows := range [][]struct {
		pc   int64
		fare *float64
		note *string
		ok   bool
	}{
		{{1, ptr(12.5), ptr("plain"), true}, {2, nil, ptr("a,b \"q\"\nline"), false}},
		{{10, ptr(7.25), nil, true}},
	} {
		b := array.NewRecordBuilder(mem, testSchema)
		for _, r := range rows {
			b.Field(0).(*array.Int64Builder).Append(r.pc)
			if r.fare == nil {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.Float64Builder).Append(*r.fare)
			}
			if r.note == nil {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.StringBuilder).Append(*r.note)
			}
			b.Field(3).(*array.BooleanBuilder).Append(r.ok)
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	rr, err := array.NewRecordReader(testSchema, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func ptr[T any](v T) *T { return &v }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, array.RecordReader) error
	}{
		{"table_all", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteTable(b, rr, 0) }},
		{"table_max2", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteTable(b, rr, 2) }},
		{"table_max1", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteTable(b, rr, 1) }},
		{"csv", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteCSV(b, rr) }},
		{"json", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteJSON(b, rr, false) }},
		{"ndjson", func(b *bytes.Buffer, rr array.RecordReader) error { return WriteJSON(b, rr, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			rr := testReader(t)
			defer rr.Release()
			if err := tc.write(&b, rr); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes())
		})
	}
	// Empty results are valid JSON and a bare header.
	empty, _ := array.NewRecordReader(testSchema, nil)
	var b bytes.Buffer
	if err := WriteJSON(&b, empty, false); err != nil || b.String() != "[]\n" {
		t.Fatalf("empty json: %q %v", b.String(), err)
	}
}

func TestFormatForPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Format
		err  error
	}{
		{"a.csv", CSV, nil}, {"a.JSON", JSON, nil}, {"x/a.ndjson", NDJSON, nil}, {"a.parquet", Parquet, nil},
		{"a.txt", Invalid, ErrUnknownFormat}, {"a", Invalid, ErrUnknownFormat}, {"a.parquet.gz", Invalid, ErrUnknownFormat},
	} {
		got, err := FormatForPath(tc.path)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v %v, want %v %v", tc.path, got, err, tc.want, tc.err)
		}
	}
}

const (
	footerKey = "0123456789abcdef"
	colKey    = "fedcba9876543210"
)

func TestParquetRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enc     func() *parquet.FileEncryptionProperties
		dec     func() *parquet.FileDecryptionProperties
		wantErr bool
	}{
		{"plain", nil, nil, false},
		{"encrypted", encProps, decProps(footerKey), false},
		{"encrypted, wrong key", encProps, decProps("XXXXXXXXXXXXXXXX"), true},
		{"encrypted, no key", encProps, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.parquet")
			var opts Options
			if tc.enc != nil {
				opts.Encryption = tc.enc()
			}
			rr := testReader(t)
			defer rr.Release()
			if err := WriteFile(path, rr, opts); err != nil {
				t.Fatal(err)
			}
			props := parquet.NewReaderProperties(nil)
			if tc.dec != nil {
				props.FileDecryptProps = tc.dec()
			}
			got, err := readParquet(path, props)
			if tc.wantErr {
				if err == nil {
					t.Fatal("read without the right key succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			rr2 := testReader(t)
			defer rr2.Release()
			WriteCSV(&want, rr2)
			if got != want.String() {
				t.Fatalf("round trip: got\n%s\nwant\n%s", got, want.String())
			}
		})
	}
}

func encProps() *parquet.FileEncryptionProperties {
	return parquet.NewFileEncryptionProperties(footerKey, parquet.WithEncryptedColumns(parquet.ColumnPathToEncryptionPropsMap{
		"note": parquet.NewColumnEncryptionProperties("note", parquet.WithKey(colKey)),
	}))
}

func decProps(footer string) func() *parquet.FileDecryptionProperties {
	return func() *parquet.FileDecryptionProperties {
		return parquet.NewFileDecryptionProperties(parquet.WithFooterKey(footer), parquet.WithColumnKeys(parquet.ColumnPathToDecryptionPropsMap{
			"note": parquet.NewColumnDecryptionProperties("note", parquet.WithDecryptKey(colKey)),
		}))
	}
}

// readParquet reads a file back and renders it as CSV; arrow-go panics
// on some bad keys, which count as errors here.
func readParquet(path string, props *parquet.ReaderProperties) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("panic")
		}
	}()
	r, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return "", err
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: 2}, memory.NewGoAllocator())
	if err != nil {
		return "", err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return "", err
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 100)
	defer tr.Release()
	var b bytes.Buffer
	if err := WriteCSV(&b, tr); err != nil {
		return "", err
	}
	return b.String(), nil
}

// failingReader yields one batch, then an error.
type failingReader struct {
	array.RecordReader
	n int
}

func (f *failingReader) Next() bool {
	f.n++
	return f.n == 1 && f.RecordReader.Next()
}

func (f *failingReader) Err() error { return errTest }

var errTest = errors.New("reader failed")

func TestWriteFileErrors(t *testing.T) {
	for _, ext := range []string{".csv", ".json", ".ndjson", ".parquet"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out"+ext)
			rr := testReader(t)
			defer rr.Release()
			err := WriteFile(path, &failingReader{RecordReader: rr}, Options{})
			if !errors.Is(err, errTest) {
				t.Fatalf("got %v, want reader error", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Fatalf("files left behind: %v", entries)
			}
		})
	}
	dir := t.TempDir()
	rr := testReader(t)
	defer rr.Release()
	if err := WriteFile(filepath.Join(dir, "a.txt"), rr, Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("got %v, want ErrUnknownFormat", err)
	}
	if err := WriteFile(filepath.Join(dir, "a.csv"), rr, Options{Encryption: encProps()}); !errors.Is(err, ErrEncryptionUnsupported) {
		t.Fatalf("got %v, want ErrEncryptionUnsupported", err)
	}
	if err := WriteTable(&bytes.Buffer{}, &failingReader{RecordReader: rr}, 0); !errors.Is(err, errTest) {
		t.Fatalf("table: got %v, want reader error", err)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a\x1b[2Jb": `a\x1b[2Jb`, "x\ny": `x\ny`, "café": "café"} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{35850186.59, "35850186.59"}, {0, "0"}, {-16.8, "-16.8"}, {1e-7, "1e-07"}, {2e20, "2e+20"},
	} {
		if got := formatFloat(tc.v, 64); got != tc.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
