package delta

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func newTable(t *testing.T) (string, *Table) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tbl, err := Create(dir, testSchema, []string{"p"}, CreateOptions{Name: "n", ID: "id-1", Time: t0, Configuration: map[string]string{"delta.appendOnly": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return dir, tbl
}

func touch(t *testing.T, dir, rel string, size int) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCreateAppendReplay(t *testing.T) {
	dir, tbl := newTable(t)
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 0 || len(s.Files) != 0 || s.Metadata.ID != "id-1" || s.Metadata.Name != "n" ||
		s.Metadata.CreatedTime != t0.UnixMilli() || s.Protocol.MinReaderVersion != 1 || s.Protocol.MinWriterVersion != 2 ||
		!slices.Equal(s.Metadata.PartitionColumns, []string{"p"}) || s.Metadata.Configuration["delta.appendOnly"] != "true" {
		t.Fatalf("created snapshot %+v", s)
	}
	got, err := s.Schema()
	if err != nil || !got.Equal(testSchema) {
		t.Fatalf("schema %v, %v; want %v", got, err, testSchema)
	}

	touch(t, dir, "p=a b/1.parquet", 7)
	touch(t, dir, "p=c%3Ad/2.parquet", 9)
	stats := `{"numRecords":3}`
	v, err := tbl.Append(context.Background(), []AddFile{
		{Path: "p=a b/1.parquet", PartitionValues: map[string]string{"p": "a b"}},
		{Path: "p=c%3Ad/2.parquet", PartitionValues: map[string]string{"p": "c:d"}, Size: 9, ModificationTime: 42, Stats: stats},
	}, CommitInfo{Time: t0})
	if err != nil || v != 1 {
		t.Fatalf("append: %d, %v", v, err)
	}
	s, err = tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	want := []AddFile{
		{Path: "p=a b/1.parquet", PartitionValues: map[string]string{"p": "a b"}, Size: 7, DataChange: true},
		{Path: "p=c%3Ad/2.parquet", PartitionValues: map[string]string{"p": "c:d"}, Size: 9, ModificationTime: 42, DataChange: true, Stats: stats},
	}
	if len(s.Files) != 2 {
		t.Fatalf("files %+v", s.Files)
	}
	for i, w := range want {
		g := s.Files[i]
		if g.Path != w.Path || g.PartitionValues["p"] != w.PartitionValues["p"] || g.Size != w.Size || !g.DataChange || g.Stats != w.Stats {
			t.Errorf("file %d: %+v, want %+v", i, g, w)
		}
	}
	if s.Files[0].ModificationTime == 0 || s.Files[1].ModificationTime != 42 {
		t.Errorf("modification times %d, %d", s.Files[0].ModificationTime, s.Files[1].ModificationTime)
	}
	// The log spells paths percent-encoded, and carries no statistics we
	// were not given.
	raw, err := os.ReadFile(filepath.Join(dir, logDir, "00000000000000000001.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"path":"p=a%20b/1.parquet"`, `"path":"p=c%253Ad/2.parquet"`, `"isBlindAppend":true`, `"readVersion":0`, fmt.Sprintf(`"timestamp":%d`, t0.UnixMilli())} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("commit lacks %s:\n%s", want, raw)
		}
	}
	if strings.Count(string(raw), `"stats":null`) != 1 {
		t.Errorf("commit should have stats only where given:\n%s", raw)
	}
	// Time travel back to the empty table.
	if s, err := tbl.Snapshot(context.Background(), 0); err != nil || len(s.Files) != 0 {
		t.Errorf("version 0: %v, %v", s, err)
	}
}

func TestCreateRefusals(t *testing.T) {
	f := func(name string, typ arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	schemaErr := func(field string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var se *SchemaError
			if !errors.As(err, &se) || se.Field != field {
				t.Errorf("got %v, want a SchemaError for %q", err, field)
			}
		}
	}
	tests := []struct {
		name   string
		schema *arrow.Schema
		parts  []string
		config map[string]string
		check  func(*testing.T, error)
	}{
		{"nanosecond timestamp", arrow.NewSchema([]arrow.Field{f("ts", arrow.FixedWidthTypes.Timestamp_ns)}, nil), nil, nil, schemaErr("ts")},
		{"float16", arrow.NewSchema([]arrow.Field{f("s", arrow.StructOf(f("h", arrow.FixedWidthTypes.Float16)))}, nil), nil, nil, schemaErr("s.h")},
		{"duplicate field", arrow.NewSchema([]arrow.Field{f("a", arrow.PrimitiveTypes.Int8), f("a", arrow.PrimitiveTypes.Int8)}, nil), nil, nil, schemaErr("a")},
		{"missing partition column", testSchema, []string{"q"}, nil, schemaErr("q")},
		{"nested partition column", arrow.NewSchema([]arrow.Field{f("s", arrow.StructOf(f("x", arrow.PrimitiveTypes.Int8)))}, nil), []string{"s"}, nil, schemaErr("s")},
		{"column mapping", testSchema, nil, map[string]string{"delta.columnMapping.mode": "id"}, func(t *testing.T, err error) {
			var ue *UnsupportedFeatureError
			if !errors.As(err, &ue) || ue.Feature != "columnMapping" {
				t.Errorf("got %v, want columnMapping refused", err)
			}
		}},
		{"check constraint", testSchema, nil, map[string]string{"delta.constraints.pos": "id > 0"}, func(t *testing.T, err error) {
			var ue *UnsupportedFeatureError
			if !errors.As(err, &ue) || ue.Feature != "checkConstraints" {
				t.Errorf("got %v, want checkConstraints refused", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			_, err := Create(dir, tt.schema, tt.parts, CreateOptions{Configuration: tt.config})
			if err == nil {
				t.Fatal("Create succeeded")
			}
			tt.check(t, err)
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused Create left %s behind", dir)
			}
		})
	}
	t.Run("exists", func(t *testing.T) {
		dir, _ := newTable(t)
		if _, err := Create(dir, testSchema, nil, CreateOptions{}); !errors.Is(err, ErrTableExists) {
			t.Errorf("got %v, want ErrTableExists", err)
		}
	})
}

func TestCreateTimestampNtz(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true}}, nil)
	tbl, err := Create(t.TempDir(), schema, nil, CreateOptions{Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Protocol
	if p.MinReaderVersion != 3 || p.MinWriterVersion != 7 || !slices.Equal(p.ReaderFeatures, []string{"timestampNtz"}) || !slices.Equal(p.WriterFeatures, []string{"timestampNtz"}) {
		t.Errorf("protocol %+v", p)
	}
	if got, _ := s.Schema(); !got.Equal(schema) {
		t.Errorf("schema %v", got)
	}
}

func TestAppendRefusals(t *testing.T) {
	dir, tbl := newTable(t)
	touch(t, dir, "p=a/ok.parquet", 5)
	touch(t, dir, "p=a/live.parquet", 5)
	if _, err := tbl.Append(context.Background(), []AddFile{{Path: "p=a/live.parquet", PartitionValues: map[string]string{"p": "a"}}}, CommitInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	pv := map[string]string{"p": "a"}
	isPathErr := func(t *testing.T, err error) {
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("got %v, want a PathError", err)
		}
	}
	tests := []struct {
		name  string
		files []AddFile
		check func(*testing.T, error)
	}{
		{"no files", nil, func(t *testing.T, err error) {
			if !errors.Is(err, errNoFiles) {
				t.Errorf("got %v", err)
			}
		}},
		{"escape", []AddFile{{Path: "../x.parquet", PartitionValues: pv}}, isPathErr},
		{"absolute", []AddFile{{Path: "/etc/passwd", PartitionValues: pv}}, isPathErr},
		{"unclean", []AddFile{{Path: "p=a/./ok.parquet", PartitionValues: pv}}, isPathErr},
		{"in the log", []AddFile{{Path: "_delta_log/00000000000000000000.json", PartitionValues: pv}}, isPathErr},
		{"directory", []AddFile{{Path: "adir", PartitionValues: pv}}, isPathErr},
		{"size mismatch", []AddFile{{Path: "p=a/ok.parquet", PartitionValues: pv, Size: 6}}, isPathErr},
		{"already live", []AddFile{{Path: "p=a/live.parquet", PartitionValues: pv}}, isPathErr},
		{"twice", []AddFile{{Path: "p=a/ok.parquet", PartitionValues: pv}, {Path: "p=a/ok.parquet", PartitionValues: pv}}, isPathErr},
		{"missing file", []AddFile{{Path: "p=a/none.parquet", PartitionValues: pv}}, func(t *testing.T, err error) {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got %v, want ErrNotExist", err)
			}
		}},
		{"partition values", []AddFile{{Path: "p=a/ok.parquet", PartitionValues: map[string]string{"q": "a"}}}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), `no value for partition column "p"`) {
				t.Errorf("got %v", err)
			}
		}},
		{"stats not an object", []AddFile{{Path: "p=a/ok.parquet", PartitionValues: pv, Stats: "[1]"}}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "stats are not a JSON object") {
				t.Errorf("got %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tbl.Append(context.Background(), tt.files, CommitInfo{})
			if err == nil {
				t.Fatal("Append succeeded")
			}
			tt.check(t, err)
		})
	}
	// Nothing was committed by the refused appends.
	if s, err := tbl.Snapshot(context.Background(), -1); err != nil || s.Version != 1 {
		t.Errorf("after refusals: %v, %v", s, err)
	}
}

// TestAppendWriterFeatures: tables asking writers for work Append does not
// do are refused, naming the feature.
func TestAppendWriterFeatures(t *testing.T) {
	schemaWith := func(md string) string {
		return `{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":` + md + `}]}","partitionColumns":[],"configuration":{}}}`
	}
	tests := []struct {
		name, protocol, metadata, feature string
	}{
		{"invariants", cpProtocolJSON, schemaWith(`{\"delta.invariants\":\"{\\\"expression\\\":{\\\"expression\\\":\\\"id > 0\\\"}}\"}`), "invariants"},
		{"generated column", `{"protocol":{"minReaderVersion":1,"minWriterVersion":4}}`, schemaWith(`{\"delta.generationExpression\":\"1\"}`), "generatedColumns"},
		{"identity column", `{"protocol":{"minReaderVersion":1,"minWriterVersion":6}}`, schemaWith(`{\"delta.identity.start\":1}`), "identityColumns"},
		{"row tracking", `{"protocol":{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["domainMetadata","rowTracking"]}}`, schemaWith(`{}`), "rowTracking"},
		{"writer version 8", `{"protocol":{"minReaderVersion":1,"minWriterVersion":8}}`, schemaWith(`{}`), "writerVersion 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, tbl := mkTable(t, map[string]string{"00000000000000000000.json": commitLine(tt.protocol, tt.metadata)})
			if _, err := tbl.Snapshot(context.Background(), -1); err != nil {
				t.Fatalf("the table must stay readable: %v", err)
			}
			touch(t, dir, "f.parquet", 1)
			_, err := tbl.Append(context.Background(), []AddFile{{Path: "f.parquet"}}, CommitInfo{})
			found := false
			for _, e := range flatten(err) {
				var ue *UnsupportedFeatureError
				if errors.As(e, &ue) && ue.Feature == tt.feature {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v, want feature %q refused", err, tt.feature)
			}
		})
	}
}

func TestCommitConflict(t *testing.T) {
	_, tbl := newTable(t)
	if err := tbl.commit(1, []byte(`{"commitInfo":{}}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := tbl.commit(1, []byte(`{"commitInfo":{"other":1}}`+"\n")); !errors.Is(err, ErrConflict) {
		t.Errorf("second commit of version 1: got %v, want ErrConflict", err)
	}
	// The winner's content is intact and no temporary files are left.
	raw, _ := os.ReadFile(filepath.Join(tbl.Dir(), logDir, "00000000000000000001.json"))
	if string(raw) != `{"commitInfo":{}}`+"\n" {
		t.Errorf("commit 1 = %q", raw)
	}
	entries, _ := os.ReadDir(filepath.Join(tbl.Dir(), logDir))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left %s", e.Name())
		}
	}
}

// TestConcurrentAppends: writers racing on one table each land exactly one
// version, retrying on ErrConflict, and no file is lost.
func TestConcurrentAppends(t *testing.T) {
	dir, _ := newTable(t)
	const writers = 4
	var wg sync.WaitGroup
	versions := make([]int64, writers)
	errs := make([]error, writers)
	conflicts := make([]int, writers)
	for w := 0; w < writers; w++ {
		rel := fmt.Sprintf("p=a/w%d.parquet", w)
		touch(t, dir, rel, 3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbl, err := Open(dir)
			if err != nil {
				errs[w] = err
				return
			}
			defer tbl.Close()
			for range 100 {
				v, err := tbl.Append(context.Background(), []AddFile{{Path: rel, PartitionValues: map[string]string{"p": "a"}}}, CommitInfo{})
				if errors.Is(err, ErrConflict) {
					conflicts[w]++
					continue
				}
				versions[w], errs[w] = v, err
				return
			}
			errs[w] = errors.New("never committed")
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	slices.Sort(versions)
	if !slices.Equal(versions, []int64{1, 2, 3, 4}) {
		t.Errorf("versions %v", versions)
	}
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil || len(s.Files) != writers || s.Version != writers {
		t.Errorf("final snapshot %+v, %v", s, err)
	}
	t.Logf("conflicts per writer: %v", conflicts)
}

func TestContextCanceled(t *testing.T) {
	_, tbl := newTable(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tbl.Snapshot(ctx, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
