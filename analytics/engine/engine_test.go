//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

func openEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// rows runs sql and returns all rows as []any (int64, float64, string, nil).
func rows(t testing.TB, e *Engine, sql string) ([][]any, error) {
	t.Helper()
	rr, err := e.Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out [][]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			var row []any
			for _, col := range rec.Columns() {
				if col.IsNull(i) {
					row = append(row, nil)
					continue
				}
				switch c := col.(type) {
				case *array.Int64:
					row = append(row, c.Value(i))
				case *array.Float64:
					row = append(row, c.Value(i))
				case *array.String:
					row = append(row, strings.Clone(c.Value(i)))
				case *array.Int32:
					row = append(row, int64(c.Value(i)))
				default:
					row = append(row, col.ValueStr(i))
				}
			}
			out = append(out, row)
		}
	}
	return out, rr.Err()
}

const q1 = `SELECT passenger_count, count(*), sum(total_amount), avg(fare_amount)
FROM taxi GROUP BY passenger_count ORDER BY passenger_count`

func checkQ1(t *testing.T, got [][]any, want map[int64]*groupStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d groups, want %d", len(got), len(want))
	}
	for _, r := range got {
		pc := r[0].(int64)
		w := want[pc]
		if w == nil {
			t.Fatalf("unexpected group %d", pc)
		}
		if r[1].(int64) != w.count {
			t.Errorf("group %d: count %d, want %d", pc, r[1], w.count)
		}
		if math.Abs(r[2].(float64)-w.sumTotal) > 1e-6*math.Abs(w.sumTotal) {
			t.Errorf("group %d: sum %v, want %v", pc, r[2], w.sumTotal)
		}
		if wa := w.sumFare / float64(w.count); math.Abs(r[3].(float64)-wa) > 1e-9*wa {
			t.Errorf("group %d: avg %v, want %v", pc, r[3], wa)
		}
	}
}

func TestQueryResults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		encrypt  bool
		uniform  bool // every column under the footer key: DuckDB can read it
		noNative bool
		workers  int
		files    int
	}{
		{"plain/native", false, false, false, 1, 1},
		{"plain/1worker", false, false, true, 1, 1},
		{"plain/3workers/2files", false, false, true, 3, 2},
		{"encrypted/2workers", true, false, false, 2, 1},
		{"encrypted/4workers/3files", true, false, false, 4, 3},
		{"uniform/native/3files", true, true, false, 2, 3},
		{"uniform/arrow/3files", true, true, true, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := map[int64]*groupStats{}
			var files []File
			for i := range tc.files {
				p := filepath.Join(dir, "part"+string(rune('0'+i))+".parquet")
				st := writeTaxi(t, p, genOpts{rows: 50_000, rowGroupRows: 7_000, seed: uint64(i), encrypt: tc.encrypt, uniform: tc.uniform})
				for k, v := range st {
					if want[k] == nil {
						want[k] = &groupStats{}
					}
					want[k].count += v.count
					want[k].sumTotal += v.sumTotal
					want[k].sumFare += v.sumFare
					want[k].sumSecret += v.sumSecret
				}
				files = append(files, File{Path: p})
			}
			var dec func() *parquet.FileDecryptionProperties
			if tc.encrypt && tc.uniform {
				dec = decryptor(uniformKey, "", "")
			} else if tc.encrypt {
				dec = decryptor(footerKey, moneyKey, secretKey)
			}
			var last atomic.Int64
			e := openEngine(t, Options{Workers: tc.workers, BatchRows: 4096, NoNative: tc.noNative, Progress: func(done, total int64) { last.Store(done) }})
			if err := e.Register(context.Background(), Table{Name: "taxi", Files: files, Decryption: dec}); err != nil {
				t.Fatal(err)
			}
			got, err := rows(t, e, q1)
			if err != nil {
				t.Fatal(err)
			}
			checkQ1(t, got, want)
			// DuckDB's own reader (plaintext or uniform encryption)
			// reports no progress; arrow-go's readers do.
			native := !tc.noNative && (!tc.encrypt || tc.uniform)
			if n := last.Load(); !native && n != int64(8*tc.files) {
				t.Errorf("progress: %d row groups done, want %d", n, 8*tc.files)
			} else if native && n != 0 {
				t.Errorf("progress from the native path: %d", n)
			}
			// count(*) needs no column: answered from footers.
			got, err = rows(t, e, "SELECT count(*) FROM taxi")
			if err != nil {
				t.Fatal(err)
			}
			if got[0][0].(int64) != int64(50_000*tc.files) {
				t.Errorf("count(*) = %v", got[0][0])
			}
			// A filter-only column must be read (where secret ...).
			got, err = rows(t, e, "SELECT count(*), sum(length(secret))::BIGINT FROM taxi WHERE passenger_count = 3")
			if err != nil {
				t.Fatal(err)
			}
			if got[0][0].(int64) != want[3].count || got[0][1].(int64) != want[3].sumSecret {
				t.Errorf("filtered: got %v, want %d %d", got[0], want[3].count, want[3].sumSecret)
			}
			// ORDER BY … LIMIT pushes an optional dynamic filter into the
			// scan (which ignores it): the answer must still be right.
			got, err = rows(t, e, "SELECT passenger_count, count(*) FROM taxi WHERE passenger_count IS NOT NULL GROUP BY 1 ORDER BY 1 DESC LIMIT 2")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				if pc := r[0].(int64); r[1].(int64) != want[pc].count {
					t.Errorf("top-n: passenger_count %d: %v, want %d", pc, r[1], want[pc].count)
				}
			}
		})
	}
}

func TestPlanColumns(t *testing.T) {
	p := tempPath(t, "a.parquet")
	writeTaxi(t, p, genOpts{rows: 10, rowGroupRows: 10})
	e := openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sql   string
		cols  []int
		scans int
	}{
		{"SELECT count(*) FROM taxi", nil, 1},
		{"SELECT sum(fare_amount) FROM taxi", []int{2}, 1},
		{"SELECT sum(fare_amount) FROM taxi WHERE note = 'ok'", []int{2, 4}, 1},
		{"SELECT max(SECRET) FROM Taxi WHERE trip_distance > 1", []int{1, 5}, 1},
		{q1, []int{0, 2, 3}, 1},
		{"SELECT * FROM taxi", []int{0, 1, 2, 3, 4, 5}, 1},
		{"SELECT a.fare_amount FROM taxi a JOIN taxi b USING (passenger_count)", []int{0, 2}, 2},
	} {
		qp, err := e.plan(context.Background(), tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if len(qp.tables) != 1 || !slices.Equal(qp.cols[0], tc.cols) || qp.scans[0] != tc.scans {
			t.Errorf("%s: cols %v scans %v, want %v %d", tc.sql, qp.cols, qp.scans, tc.cols, tc.scans)
		}
	}
}

// TestProjectionPushdown uses a file whose "secret" column key is not
// given: queries that do not need it work, proving it is never decrypted.
func TestProjectionPushdown(t *testing.T) {
	p := tempPath(t, "enc.parquet")
	want := writeTaxi(t, p, genOpts{rows: 20_000, rowGroupRows: 3_000, encrypt: true})
	e := openEngine(t, Options{Workers: 2})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: decryptor(footerKey, moneyKey, "")}); err != nil {
		t.Fatal(err)
	}
	got, err := rows(t, e, q1)
	if err != nil {
		t.Fatal(err)
	}
	checkQ1(t, got, want)
	_, err = rows(t, e, "SELECT max(secret) FROM taxi")
	var fe *FileError
	if !errors.Is(err, ErrRead) || !errors.As(err, &fe) || fe.Path != p {
		t.Fatalf("reading the column without its key: got %v, want FileError for %s", err, p)
	}
}

func TestKeys(t *testing.T) {
	p := tempPath(t, "enc.parquet")
	writeTaxi(t, p, genOpts{rows: 5_000, rowGroupRows: 1_000, encrypt: true})
	for _, tc := range []struct {
		name        string
		dec         func() *parquet.FileDecryptionProperties
		registerErr error
		queryErr    error
	}{
		{"right keys", decryptor(footerKey, moneyKey, secretKey), nil, nil},
		{"no decryption", nil, ErrRead, nil},
		{"wrong footer key", decryptor(wrongKey, moneyKey, secretKey), ErrRead, nil},
		{"wrong column key", decryptor(footerKey, wrongKey, secretKey), nil, ErrRead},
		{"missing column key", decryptor(footerKey, "", secretKey), nil, ErrRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := openEngine(t, Options{Workers: 2})
			err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: tc.dec})
			if !errors.Is(err, tc.registerErr) {
				t.Fatalf("Register: got %v, want %v", err, tc.registerErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), footerKey) || strings.Contains(err.Error(), wrongKey) {
					t.Fatalf("error leaks a key: %v", err)
				}
				return
			}
			got, err := rows(t, e, "SELECT sum(fare_amount) FROM taxi")
			if !errors.Is(err, tc.queryErr) {
				t.Fatalf("Query: got %v, want %v", err, tc.queryErr)
			}
			if err != nil && got != nil {
				t.Fatalf("partial result with error: %v", got)
			}
			if err != nil && (strings.Contains(err.Error(), moneyKey) || strings.Contains(err.Error(), wrongKey)) {
				t.Fatalf("error leaks a key: %v", err)
			}
		})
	}
}

func TestTamperedFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		col  int // column chunk whose data page is flipped
		sql  string
		want error
	}{
		{"encrypted column", 2, "SELECT sum(fare_amount) FROM taxi", ErrRead},
		{"encrypted column, unneeded", 2, "SELECT sum(trip_distance) FROM taxi", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tempPath(t, "enc.parquet")
			writeTaxi(t, p, genOpts{rows: 20_000, rowGroupRows: 2_000, encrypt: true})
			flipInColumn(t, p, 5, tc.col)
			e := openEngine(t, Options{Workers: 2})
			if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: decryptor(footerKey, moneyKey, secretKey)}); err != nil {
				t.Fatal(err)
			}
			got, err := rows(t, e, tc.sql)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var fe *FileError
			if tc.want != nil && (got != nil || !errors.As(err, &fe) || fe.RowGroup != 5) {
				t.Fatalf("want no rows and a FileError for row group 5, got %v rows, %v", got, err)
			}
		})
	}
}

// TestNative: uniformly encrypted files under a 256-bit key are read by
// DuckDB's own reader, which authenticates what it reads; the query
// database then opens those files and nothing else; tables come before
// the first query.
func TestNative(t *testing.T) {
	p := tempPath(t, "uniform.parquet")
	writeTaxi(t, p, genOpts{rows: 20_000, rowGroupRows: 2_000, encrypt: true, uniform: true})
	other := tempPath(t, "other.parquet")
	writeTaxi(t, other, genOpts{rows: 100, rowGroupRows: 100})
	register := func(e *Engine) {
		t.Helper()
		if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: decryptor(uniformKey, "", "")}); err != nil {
			t.Fatal(err)
		}
	}
	e := openEngine(t, Options{})
	register(e)
	if _, err := rows(t, e, "SELECT sum(fare_amount) FROM taxi"); err != nil {
		t.Fatal(err)
	}
	if !e.native {
		t.Fatal("a uniformly encrypted table did not take the native path")
	}
	// A join (whose dynamic filter DuckDB would push into the encrypted
	// scan, failing it) works natively.
	for _, q := range []string{
		"SELECT count(*) FROM taxi a JOIN (SELECT DISTINCT passenger_count FROM taxi WHERE passenger_count = 3) b ON a.passenger_count = b.passenger_count",
		"SELECT count(*) FROM taxi a JOIN taxi b ON a.fare_amount = b.fare_amount WHERE a.passenger_count = 1",
		"SELECT passenger_count, max(fare_amount) FROM taxi WHERE fare_amount > 10 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
	} {
		got, err := rows(t, e, q)
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: %v, %v", q, got, err)
		}
		// The same answer through arrow-go.
		a := openEngine(t, Options{NoNative: true})
		register(a)
		if want, err := rows(t, a, q); err != nil || fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s: native %v, arrow-go %v (%v)", q, got, want, err)
		}
	}
	if err := e.Register(context.Background(), Table{Name: "late", Files: []File{{Path: other}}}); !errors.Is(err, ErrInvalidTable) {
		t.Errorf("register after the first native query: %v", err)
	}
	conn, err := e.db.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"SELECT * FROM read_parquet('" + other + "')", "SELECT * FROM read_csv('/etc/passwd')", "SET allowed_paths = ['/etc/passwd']"} {
		if _, err := rowsConn(conn, q); err == nil {
			t.Errorf("query database: %s: allowed", q)
		}
	}

	// Chunks of several pages go through arrow-go (DuckDB's reader
	// fails them), with the same answer.
	multi := tempPath(t, "multipage.parquet")
	st := writeTaxi(t, multi, genOpts{rows: 20_000, rowGroupRows: 10_000, encrypt: true, uniform: true, pageBytes: 4096})
	e = openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: multi}}, Decryption: decryptor(uniformKey, "", "")}); err != nil {
		t.Fatal(err)
	}
	got, err := rows(t, e, "SELECT count(*) FROM taxi WHERE passenger_count = 2")
	if err != nil || e.native || got[0][0].(int64) != st[2].count {
		t.Fatalf("multi-page chunks: native %v, %v, %v; want arrow-go and %d", e.native, got, err, st[2].count)
	}

	// A flipped byte in a page the query reads: refused, no rows.
	flipInColumnWith(t, p, 5, 2, decryptor(uniformKey, "", ""))
	e = openEngine(t, Options{})
	register(e)
	got, err = rows(t, e, "SELECT sum(fare_amount) FROM taxi")
	if !errors.Is(err, ErrRead) || got != nil {
		t.Fatalf("tampered: %v rows, %v; want ErrRead and no rows", got, err)
	}
	if strings.Contains(err.Error(), uniformKey) {
		t.Fatal("error leaks the key")
	}
}

// flipInColumn flips one byte inside a column chunk's first data page.
func flipInColumn(t *testing.T, path string, rowGroup, col int) {
	t.Helper()
	flipInColumnWith(t, path, rowGroup, col, decryptor(footerKey, moneyKey, secretKey))
}

func flipInColumnWith(t *testing.T, path string, rowGroup, col int, dec func() *parquet.FileDecryptionProperties) {
	t.Helper()
	props := parquet.NewReaderProperties(nil)
	props.FileDecryptProps = dec()
	r, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.MetaData().RowGroup(rowGroup).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset() + cc.TotalCompressedSize()/2
	r.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHardening(t *testing.T) {
	p := tempPath(t, "a.parquet")
	writeTaxi(t, p, genOpts{rows: 100, rowGroupRows: 100})
	e := openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sql, msg string
	}{
		{"SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"},
		{"SELECT * FROM read_parquet('" + p + "')", "disabled by configuration"},
		{"SELECT * FROM 'https://example.com/x.parquet'", ""},
		{"SET enable_external_access = true", "Only SELECT"},
		{"COPY taxi TO '/tmp/x.csv'", "Only SELECT"},
		{"ATTACH '/tmp/x.db'", "Only SELECT"},
		{"INSTALL httpfs", "Only SELECT"},
		{"SELECT 1; SELECT 2", "exactly one"},
		{"SELECT * FROM nosuchtable", "nosuchtable"},
	} {
		_, err := rows(t, e, tc.sql)
		if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want ErrInvalidQuery with %q", tc.sql, err, tc.msg)
		}
	}
	// The query database itself refuses, even if planning were bypassed,
	// and its configuration is locked.
	conn, err := e.db.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SET enable_external_access = true",
		"SET temp_directory = '/tmp'",
		"SET autoload_known_extensions = true",
	} {
		if _, err := rowsConn(conn, q); err == nil {
			t.Errorf("%s: accepted by the query database", q)
		}
	}
}

func TestSpill(t *testing.T) {
	const big = "SELECT count(*) FROM (SELECT DISTINCT i::VARCHAR || repeat('x', 40) FROM range(2000000) r(i))"
	cwdTmp, _ := filepath.Abs(".tmp")
	t.Run("disabled without TempDir", func(t *testing.T) {
		e := openEngine(t, Options{MemoryLimit: "24MB", Threads: 1})
		_, err := rows(t, e, big)
		if !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), "Out of Memory") {
			t.Fatalf("got %v, want ErrQuery out of memory", err)
		}
		if _, err := os.Stat(cwdTmp); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("DuckDB wrote a temp directory %s: %v", cwdTmp, err)
		}
	})
	t.Run("TempDir is used", func(t *testing.T) {
		dir := t.TempDir()
		e := openEngine(t, Options{MemoryLimit: "24MB", Threads: 1, TempDir: dir})
		got, err := rows(t, e, "SELECT current_setting('temp_directory'), current_setting('memory_limit')")
		if err != nil {
			t.Fatal(err)
		}
		if got[0][0] != dir {
			t.Fatalf("temp_directory = %v, want %s", got[0][0], dir)
		}
	})
}

func TestPartitionColumns(t *testing.T) {
	dir := t.TempDir()
	var files []File
	want := map[int64]int64{}
	for i, ym := range []struct{ y, m, zone string }{{"2023", "12", "a"}, {"2024", "1", "b"}, {"2024", "2", "a"}} {
		// Directory names that look like other partition values: the
		// table's PartitionValues (e.g. from a Delta log) are what count.
		sub := filepath.Join(dir, "year=1999", "month=99")
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(sub, "f"+string(rune('0'+i))+".parquet")
		writeTaxi(t, p, genOpts{rows: 1000 * (i + 1), rowGroupRows: 700, seed: uint64(i)})
		files = append(files, File{Path: p, PartitionValues: map[string]string{"year": ym.y, "month": ym.m, "zone": ym.zone}})
		if ym.y == "2024" {
			want[int64(1000*(i+1))] = 0
		}
	}
	e := openEngine(t, Options{Workers: 2, BatchRows: 512})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: files}); err != nil {
		t.Fatal(err)
	}
	got, err := rows(t, e, "SELECT year, month, zone, count(*), typeof(year) FROM taxi GROUP BY ALL ORDER BY ALL")
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{int64(2023), int64(12), "a", int64(1000), "BIGINT"},
		{int64(2024), int64(1), "b", int64(2000), "BIGINT"},
		{int64(2024), int64(2), "a", int64(3000), "BIGINT"},
	}
	if len(got) != len(wantRows) {
		t.Fatalf("got %v", got)
	}
	for i := range got {
		if !slices.Equal(got[i], wantRows[i]) {
			t.Errorf("row %d: got %v, want %v", i, got[i], wantRows[i])
		}
	}
	// Negative: inconsistent partition keys.
	bad := []File{files[0], {Path: files[1].Path, PartitionValues: map[string]string{"year": "2024"}}}
	if err := e.Register(context.Background(), Table{Name: "bad", Files: bad}); !errors.Is(err, ErrInvalidTable) {
		t.Fatalf("got %v, want ErrInvalidTable", err)
	}
	// Negative: a partition key that is also a file column.
	clash := []File{{Path: files[0].Path, PartitionValues: map[string]string{"fare_amount": "1"}}}
	if err := e.Register(context.Background(), Table{Name: "clash", Files: clash}); !errors.Is(err, ErrInvalidTable) {
		t.Fatalf("got %v, want ErrInvalidTable", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.parquet")
	writeTaxi(t, a, genOpts{rows: 10, rowGroupRows: 10})
	other := filepath.Join(dir, "b.parquet")
	writeTaxi(t, other, genOpts{rows: 10, rowGroupRows: 10, schema: arrow.NewSchema([]arrow.Field{
		{Name: "passenger_count", Type: arrow.PrimitiveTypes.Int64},
		{Name: "trip_distance", Type: arrow.PrimitiveTypes.Float64},
		{Name: "fare_amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "total_amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "secret", Type: arrow.BinaryTypes.String},
	}, nil)})
	garbage := filepath.Join(dir, "garbage.parquet")
	os.WriteFile(garbage, []byte("PAR1 this is not parquet PAR1"), 0o600)

	e := openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "ok", Files: []File{{Path: a}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		t    Table
		want error
	}{
		{"schema mismatch", Table{Name: "t1", Files: []File{{Path: a}, {Path: other}}}, ErrSchemaMismatch},
		{"garbage file", Table{Name: "t2", Files: []File{{Path: garbage}}}, ErrRead},
		{"missing file", Table{Name: "t3", Files: []File{{Path: filepath.Join(dir, "nope")}}}, ErrRead},
		{"no files", Table{Name: "t4"}, ErrInvalidTable},
		{"bad name", Table{Name: "x; DROP", Files: []File{{Path: a}}}, ErrInvalidTable},
		{"duplicate", Table{Name: "OK", Files: []File{{Path: a}}}, ErrInvalidTable},
	} {
		err := e.Register(context.Background(), tc.t)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	var se *SchemaError
	err := e.Register(context.Background(), Table{Name: "t5", Files: []File{{Path: a}, {Path: other}}})
	if !errors.As(err, &se) || se.Path != other {
		t.Fatalf("got %v, want SchemaError for %s", err, other)
	}
	if _, err := Open(Options{Workers: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("got %v, want ErrInvalidOptions", err)
	}
	if _, err := Open(Options{MemoryLimit: "1GB&enable_external_access=true"}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("got %v, want ErrInvalidOptions", err)
	}
}

func TestMultiScan(t *testing.T) {
	p := tempPath(t, "a.parquet")
	st := writeTaxi(t, p, genOpts{rows: 3000, rowGroupRows: 1000})
	e := openEngine(t, Options{Workers: 2})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}}); err != nil {
		t.Fatal(err)
	}
	got, err := rows(t, e, "SELECT count(*) FROM (SELECT fare_amount FROM taxi UNION ALL SELECT fare_amount FROM taxi)")
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0].(int64) != 6000 {
		t.Fatalf("union all: got %v, want 6000", got[0][0])
	}
	got, err = rows(t, e, "SELECT count(*) FROM taxi a JOIN taxi b ON a.passenger_count = b.passenger_count WHERE a.passenger_count = 1")
	if err != nil {
		t.Fatal(err)
	}
	if want := st[1].count * st[1].count; got[0][0].(int64) != want {
		t.Fatalf("self join: got %v, want %d", got[0][0], want)
	}
}

func TestCancel(t *testing.T) {
	p := tempPath(t, "a.parquet")
	writeTaxi(t, p, genOpts{rows: 40_000, rowGroupRows: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done, total atomic.Int64
	e := openEngine(t, Options{Workers: 2, BatchRows: 1000, NoNative: true, Progress: func(d, tot int64) {
		done.Store(d)
		total.Store(tot)
		cancel()
	}})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Query(ctx, "SELECT sum(fare_amount) FROM taxi")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	after := done.Load()
	if after >= total.Load() {
		t.Fatalf("workers read all %d row groups despite cancel", after)
	}
	// Query waited for the workers: no progress after it returned.
	if done.Load() != after {
		t.Fatal("progress after Query returned")
	}
}

func TestClosed(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := e.Query(context.Background(), "SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	if err := e.Register(context.Background(), Table{Name: "t", Files: []File{{Path: "x"}}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// A file replaced between Register and Query is refused, not read with
// the row groups Register counted (which would mix two versions).
func TestFileChangedAfterRegister(t *testing.T) {
	p := tempPath(t, "a.parquet")
	writeTaxi(t, p, genOpts{rows: 100, rowGroupRows: 50})
	e := openEngine(t, Options{NoNative: true})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}}); err != nil {
		t.Fatal(err)
	}
	writeTaxi(t, p, genOpts{rows: 1000, rowGroupRows: 100, seed: 9})
	_, err := rows(t, e, "SELECT count(fare_amount) FROM taxi")
	if !errors.Is(err, ErrRead) || !errors.Is(err, errChanged) {
		t.Fatalf("got %v, want ErrRead for a changed file", err)
	}
}

// AES_GCM_CTR_V1 leaves pages unauthenticated, and its label can be forged
// on a GCM file: such files are refused at Register.
func TestCTRRefused(t *testing.T) {
	p := tempPath(t, "ctr.parquet")
	writeTaxi(t, p, genOpts{rows: 100, rowGroupRows: 100, encrypt: true, uniform: true, ctr: true})
	e := openEngine(t, Options{})
	err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: decryptor(uniformKey, "", "")})
	if !errors.Is(err, ErrRead) || !errors.Is(err, errNotGCM) {
		t.Fatalf("got %v, want ErrRead (not GCM)", err)
	}
}

// If preparing DuckDB's reader fails (a table file vanished), the query
// database is locked anyway and takes no more queries; the error does not
// quote the statements (they hold keys).
func TestSealFailure(t *testing.T) {
	p := tempPath(t, "uniform.parquet")
	writeTaxi(t, p, genOpts{rows: 1000, rowGroupRows: 1000, encrypt: true, uniform: true})
	e := openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: p}}, Decryption: decryptor(uniformKey, "", "")}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	_, err := rows(t, e, "SELECT count(*) FROM taxi")
	if err == nil || strings.Contains(err.Error(), "PRAGMA") || strings.Contains(err.Error(), "cofre_") {
		t.Fatalf("first query: %v", err)
	}
	if _, err := rows(t, e, "SELECT 1"); !errors.Is(err, errBroken) {
		t.Errorf("second query: %v, want errBroken", err)
	}
	conn, err := e.db.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := rowsConn(conn, "SELECT * FROM read_csv('/etc/passwd')"); err == nil {
		t.Error("the query database was left unlocked")
	}
}

// read_parquet treats a path as a glob: a table file whose name has glob
// characters goes through arrow-go, which reads exactly that file.
func TestGlobCharactersInPaths(t *testing.T) {
	dir := t.TempDir()
	odd, other := filepath.Join(dir, "a[1].parquet"), filepath.Join(dir, "a1.parquet")
	writeTaxi(t, odd, genOpts{rows: 7, rowGroupRows: 7})
	writeTaxi(t, other, genOpts{rows: 100, rowGroupRows: 100})
	e := openEngine(t, Options{})
	if err := e.Register(context.Background(), Table{Name: "taxi", Files: []File{{Path: odd}}}); err != nil {
		t.Fatal(err)
	}
	got, err := rows(t, e, "SELECT count(*) FROM taxi")
	if err != nil || got[0][0].(int64) != 7 || e.native {
		t.Fatalf("got %v, %v (native %v); want 7 rows through arrow-go", got, err, e.native)
	}
}
