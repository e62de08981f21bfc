package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The delta-rs Python package is the independent writer and reader these
// tests compare against. CI pins its version (.ci/run).
const deltalakeScript = "testdata/deltalake_tables.py"

// needDeltalake returns the python3 to run the script with, or skips the
// test when python3 or deltalake is missing, unless COFRE_REQUIRE_DELTALAKE
// is set, in which case the test fails: CI must not pass by skipping.
func needDeltalake(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import deltalake, pyarrow").Run()
	}
	if err != nil {
		if os.Getenv("COFRE_REQUIRE_DELTALAKE") != "" {
			t.Fatalf("COFRE_REQUIRE_DELTALAKE is set but python3 with deltalake and pyarrow is not usable: %v", err)
		}
		t.Skipf("python3 with the deltalake and pyarrow packages is not installed (%v); set COFRE_REQUIRE_DELTALAKE=1 to make this a failure", err)
	}
	return py
}

func runScript(t *testing.T, py string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(py, append([]string{deltalakeScript}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", deltalakeScript, args, err, stderr.String())
	}
	return out
}

type expectedVersion struct {
	Version          int64           `json:"version"`
	Files            []string        `json:"files"`
	Schema           json.RawMessage `json:"schema"`
	PartitionColumns []string        `json:"partitionColumns"`
	MinReaderVersion int32           `json:"minReaderVersion"`
	MinWriterVersion int32           `json:"minWriterVersion"`
}

// TestDeltalakeReplay replays tables written by delta-rs (appends,
// overwrite, deletes, a checkpoint, a multi-part checkpoint with the
// earlier commits removed, percent-encoded partition paths, all mapped
// types) at every version, and compares with what delta-rs reports.
func TestDeltalakeReplay(t *testing.T) {
	py := needDeltalake(t)
	out := t.TempDir()
	runScript(t, py, "gen", out)
	raw, err := os.ReadFile(filepath.Join(out, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]expectedVersion
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"simple", "partitioned", "multipart", "types", "ntz"} {
		versions := want[name]
		if len(versions) == 0 {
			t.Fatalf("%s: no expectations", name)
		}
		t.Run(name, func(t *testing.T) {
			tbl, err := Open(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			for i, w := range versions {
				v := w.Version
				if i == len(versions)-1 {
					v = -1 // the latest, found by listing
				}
				s, err := tbl.Snapshot(context.Background(), v)
				if err != nil {
					t.Fatalf("version %d: %v", w.Version, err)
				}
				if s.Version != w.Version {
					t.Errorf("version %d: got version %d", w.Version, s.Version)
				}
				var got []string
				for _, f := range s.Files {
					got = append(got, f.Path)
					if _, err := tbl.root.Stat(f.Path); err != nil {
						t.Errorf("version %d: live file %s: %v", w.Version, f.Path, err)
					}
				}
				if !slices.Equal(got, w.Files) {
					t.Errorf("version %d: files\n got %q\nwant %q", w.Version, got, w.Files)
				}
				if !slices.Equal(s.Metadata.PartitionColumns, w.PartitionColumns) {
					t.Errorf("version %d: partition columns %q, want %q", w.Version, s.Metadata.PartitionColumns, w.PartitionColumns)
				}
				if s.Protocol.MinReaderVersion != w.MinReaderVersion || s.Protocol.MinWriterVersion != w.MinWriterVersion {
					t.Errorf("version %d: protocol %d/%d, want %d/%d", w.Version, s.Protocol.MinReaderVersion, s.Protocol.MinWriterVersion, w.MinReaderVersion, w.MinWriterVersion)
				}
				// Delta schema → Arrow → Delta must give delta-rs's schema back.
				as, err := s.Schema()
				if err != nil {
					t.Fatal(err)
				}
				back, _, err := schemaString(as)
				if err != nil {
					t.Fatalf("version %d: %v", w.Version, err)
				}
				if !jsonEqual(t, []byte(back), w.Schema) {
					t.Errorf("version %d: schema round trip\n got %s\nwant %s", w.Version, back, w.Schema)
				}
			}
		})
	}
	// The multi-part checkpoint at version 3 replaced commits 0-2.
	tbl, err := Open(filepath.Join(out, "multipart"))
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if _, err := tbl.Snapshot(context.Background(), 2); !errorsIs(err, ErrVersionNotFound) {
		t.Errorf("multipart version 2: got %v, want ErrVersionNotFound", err)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// TestDeltalakeReadsOurAppends: a table we Create and Append to, with data
// files written by pqarrow, is read by delta-rs with the right rows.
func TestDeltalakeReadsOurAppends(t *testing.T) {
	py := needDeltalake(t)
	dir := filepath.Join(t.TempDir(), "ours")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	tbl, err := Create(dir, schema, []string{"p"}, CreateOptions{Name: "ours", Time: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	dataSchema := arrow.NewSchema(schema.Fields()[:4], nil) // partition column lives in the path
	rows := 0
	for i, part := range []string{"a", "b c", "a"} {
		rel := "p=" + hiveEscape(part) + "/part-" + string(rune('0'+i)) + ".parquet"
		n := 5 + i
		writeParquet(t, filepath.Join(dir, filepath.FromSlash(rel)), dataSchema, n)
		rows += n
		v, err := tbl.Append(context.Background(), []AddFile{{Path: rel, PartitionValues: map[string]string{"p": part}}}, CommitInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if v != int64(i+1) {
			t.Fatalf("append %d committed version %d", i, v)
		}
	}
	var got struct {
		Version int64           `json:"version"`
		Rows    int             `json:"rows"`
		Files   int             `json:"files"`
		Schema  json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(runScript(t, py, "count", dir), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || got.Rows != rows || got.Files != 3 {
		t.Errorf("deltalake read version %d, %d rows, %d files; want 3, %d, 3", got.Version, got.Rows, got.Files, rows)
	}
	ours, _, _ := schemaString(schema)
	if !jsonEqual(t, []byte(ours), got.Schema) {
		t.Errorf("deltalake schema %s, want %s", got.Schema, ours)
	}
}

// hiveEscape escapes a partition value for a directory name the way Hive
// (and delta-rs) do, for the characters the test uses.
func hiveEscape(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c == ' ' || c == '%' || c == '/' || c == ':' {
			b.WriteString("%" + string("0123456789ABCDEF"[c>>4]) + string("0123456789ABCDEF"[c&15]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func writeParquet(t *testing.T, path string, schema *arrow.Schema, n int) {
	t.Helper()
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("row")
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(100 * i)))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1700000000000000 + int64(i)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
