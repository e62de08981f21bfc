package delta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// checkpointSchema is the classic checkpoint schema (PROTOCOL.md,
// "Checkpoint Schema"), with a stats_parsed column as Spark may write it.
var checkpointSchema = func() *arrow.Schema {
	str := arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	i32 := arrow.PrimitiveTypes.Int32
	strMap := arrow.MapOf(str, str)
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	return arrow.NewSchema([]arrow.Field{
		f("txn", arrow.StructOf(f("appId", str), f("version", i64), f("lastUpdated", i64))),
		f("add", arrow.StructOf(f("path", str), f("partitionValues", strMap), f("size", i64), f("modificationTime", i64),
			f("dataChange", arrow.FixedWidthTypes.Boolean), f("stats", str),
			f("deletionVector", arrow.StructOf(f("storageType", str), f("pathOrInlineDv", str), f("offset", i32), f("sizeInBytes", i32), f("cardinality", i64))),
			f("stats_parsed", arrow.StructOf(f("numRecords", i64), f("minValues", arrow.StructOf(f("id", arrow.PrimitiveTypes.Float64))))))),
		f("remove", arrow.StructOf(f("path", str), f("deletionTimestamp", i64), f("dataChange", arrow.FixedWidthTypes.Boolean))),
		f("metaData", arrow.StructOf(f("id", str), f("name", str), f("format", arrow.StructOf(f("provider", str), f("options", strMap))),
			f("schemaString", str), f("partitionColumns", arrow.ListOf(str)), f("configuration", strMap), f("createdTime", i64))),
		f("protocol", arrow.StructOf(f("minReaderVersion", i32), f("minWriterVersion", i32), f("readerFeatures", arrow.ListOf(str)), f("writerFeatures", arrow.ListOf(str)))),
		f("sidecar", arrow.StructOf(f("path", str), f("sizeInBytes", i64), f("modificationTime", i64))),
	}, nil)
}()

const (
	cpProtocol = `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`
	cpMetadata = `{"metaData":{"id":"t","name":"cp","format":{"provider":"parquet","options":[]},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["p"],"configuration":[],"createdTime":1}}`
)

func cpAdd(path, p string) string {
	return fmt.Sprintf(`{"add":{"path":%q,"partitionValues":[{"key":"p","value":%q}],"size":3,"modificationTime":2,"dataChange":true,"stats_parsed":{"numRecords":1,"minValues":{"id":1.5}}}}`, path, p)
}

// writeCheckpoint writes Arrow-JSON rows as a checkpoint Parquet file.
func writeCheckpoint(t *testing.T, dir, name string, rows ...string) {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.NewGoAllocator(), checkpointSchema, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	f, err := os.Create(filepath.Join(dir, logDir, name))
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(checkpointSchema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
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

func commitLine(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func jsonAdd(path, p string) string {
	return fmt.Sprintf(`{"add":{"path":%q,"partitionValues":{"p":%q},"size":3,"modificationTime":2,"dataChange":true}}`, path, p)
}

func jsonRemove(path string) string {
	return fmt.Sprintf(`{"remove":{"path":%q,"deletionTimestamp":5,"dataChange":true}}`, path)
}

func mkTable(t *testing.T, files map[string]string) (string, *Table) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, logDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, logDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return dir, tbl
}

func cpName(v int64, part, parts int) string {
	if parts == 0 {
		return fmt.Sprintf("%020d.checkpoint.parquet", v)
	}
	return fmt.Sprintf("%020d.checkpoint.%010d.%010d.parquet", v, part, parts)
}

// TestMultiPartCheckpoint: a two-part checkpoint with the commits before it
// gone; tombstones in the checkpoint stay dead; commits after it apply.
func TestMultiPartCheckpoint(t *testing.T) {
	dir, tbl := mkTable(t, map[string]string{
		"00000000000000000003.json": commitLine(`{"commitInfo":{}}`, jsonAdd("p=b/3.parquet", "b"), jsonRemove("p=a/1.parquet")),
		"_last_checkpoint":          `{"version":2,"size":6,"parts":2}`,
	})
	writeCheckpoint(t, dir, cpName(2, 1, 2), `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`, `{"txn":{"appId":"a","version":4}}`, cpAdd("p=a/1.parquet", "a"))
	writeCheckpoint(t, dir, cpName(2, 2, 2), cpMetadata, `{"remove":{"path":"p=a/0.parquet","deletionTimestamp":1,"dataChange":true}}`, cpAdd("p=a/2%20x.parquet", "a"))
	tests := []struct {
		version int64
		want    []string
	}{
		{2, []string{"p=a/1.parquet", "p=a/2 x.parquet"}},
		{3, []string{"p=a/2 x.parquet", "p=b/3.parquet"}},
	}
	for _, tt := range tests {
		s, err := tbl.Snapshot(context.Background(), tt.version)
		if err != nil {
			t.Fatalf("version %d: %v", tt.version, err)
		}
		if got := paths(s); !slices.Equal(got, tt.want) {
			t.Errorf("version %d: files %q, want %q", tt.version, got, tt.want)
		}
		if v, ok := s.AppVersion("a"); !ok || v != 4 {
			t.Errorf("version %d: app version %d %v", tt.version, v, ok)
		}
		if s.Files[0].Size != 3 || s.Files[0].PartitionValues["p"] != "a" || s.Metadata.Name != "cp" {
			t.Errorf("version %d: %+v %+v", tt.version, s.Files[0], s.Metadata)
		}
	}
	if _, err := tbl.Snapshot(context.Background(), 1); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("version 1: got %v, want ErrVersionNotFound", err)
	}
}

// TestIncompleteCheckpointIgnored: a multi-part checkpoint missing a part
// (a writer died) must not be used; the commits are replayed instead.
func TestIncompleteCheckpointIgnored(t *testing.T) {
	dir, tbl := mkTable(t, map[string]string{
		"00000000000000000000.json": commitLine(cpProtocolJSON, cpMetadataJSON, jsonAdd("p=a/1.parquet", "a")),
		"00000000000000000001.json": commitLine(jsonAdd("p=a/2.parquet", "a")),
	})
	writeCheckpoint(t, dir, cpName(1, 1, 2), cpProtocol, cpMetadata, cpAdd("p=a/bogus.parquet", "a"))
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(s), []string{"p=a/1.parquet", "p=a/2.parquet"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
}

const (
	cpProtocolJSON = `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`
	cpMetadataJSON = `{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["p"],"configuration":{}}}`
)

func TestCheckpointRefusals(t *testing.T) {
	tests := []struct {
		name  string
		rows  []string
		raw   []byte // instead of rows: raw file content
		last  string
		check func(*testing.T, error)
	}{
		{
			name: "deletion vector",
			rows: []string{cpProtocol, cpMetadata, `{"add":{"path":"a","partitionValues":[{"key":"p","value":"a"}],"size":1,"modificationTime":1,"dataChange":true,"deletionVector":{"storageType":"u","pathOrInlineDv":"x","offset":1,"sizeInBytes":1,"cardinality":1}}}`},
			check: func(t *testing.T, err error) {
				var ue *UnsupportedFeatureError
				var le *LogError
				if !errors.As(err, &ue) || ue.Feature != "deletionVectors" || !errors.As(err, &le) || le.Row != 2 {
					t.Errorf("got %v, want deletionVectors refused at row 2", err)
				}
			},
		},
		{
			name: "sidecar",
			rows: []string{cpProtocol, cpMetadata, `{"sidecar":{"path":"x.parquet","sizeInBytes":1,"modificationTime":1}}`},
			check: func(t *testing.T, err error) {
				var ue *UnsupportedFeatureError
				if !errors.As(err, &ue) || ue.Feature != "v2Checkpoint" {
					t.Errorf("got %v, want v2Checkpoint refused", err)
				}
			},
		},
		{
			name: "two actions in a row",
			rows: []string{`{"protocol":{"minReaderVersion":1,"minWriterVersion":2},"txn":{"appId":"a","version":1}}`},
			check: func(t *testing.T, err error) {
				var le *LogError
				if !errors.As(err, &le) || le.Row != 0 || !strings.Contains(err.Error(), "more than one action") {
					t.Errorf("got %v, want a LogError at row 0", err)
				}
			},
		},
		{
			name: "not parquet",
			raw:  []byte("PAR1 this is not a parquet file PAR1"),
			check: func(t *testing.T, err error) {
				var le *LogError
				if !errors.As(err, &le) || !strings.HasSuffix(le.File, ".checkpoint.parquet") {
					t.Errorf("got %v, want a LogError naming the checkpoint", err)
				}
			},
		},
		{
			name: "bad _last_checkpoint",
			rows: []string{cpProtocol, cpMetadata},
			last: `{"version":"two"}`,
			check: func(t *testing.T, err error) {
				var le *LogError
				if !errors.As(err, &le) || le.File != logDir+"/_last_checkpoint" {
					t.Errorf("got %v, want a LogError for _last_checkpoint", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"00000000000000000001.json": commitLine(`{"commitInfo":{}}`)}
			if tt.last != "" {
				files["_last_checkpoint"] = tt.last
			}
			dir, tbl := mkTable(t, files)
			if tt.raw != nil {
				if err := os.WriteFile(filepath.Join(dir, logDir, cpName(0, 0, 0)), tt.raw, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				writeCheckpoint(t, dir, cpName(0, 0, 0), tt.rows...)
			}
			_, err := tbl.Snapshot(context.Background(), -1)
			if err == nil {
				t.Fatal("snapshot succeeded")
			}
			tt.check(t, err)
		})
	}
}

// TestLastCheckpointPartsPreferred: with two complete checkpoints at one
// version (different part counts), the one _last_checkpoint names is used.
func TestLastCheckpointPartsPreferred(t *testing.T) {
	dir, tbl := mkTable(t, map[string]string{"_last_checkpoint": `{"version":0,"parts":2}`})
	writeCheckpoint(t, dir, cpName(0, 0, 0), cpProtocol, cpMetadata, cpAdd("p=a/single.parquet", "a"))
	writeCheckpoint(t, dir, cpName(0, 1, 2), cpProtocol, cpMetadata)
	writeCheckpoint(t, dir, cpName(0, 2, 2), cpAdd("p=a/multi.parquet", "a"))
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(s), []string{"p=a/multi.parquet"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
}
