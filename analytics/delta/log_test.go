package delta

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// loadLog materialises a testdata/logs/NAME.log case (sections
// "-- FILE --" holding _delta_log files; '#' lines are its header) as a
// table directory, and opens it.
func loadLog(t *testing.T, name string) *Table {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "logs", name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeLog(t, dir, data)
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Close() })
	return tbl
}

func writeLog(t *testing.T, dir string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, logDir), 0o755); err != nil {
		t.Fatal(err)
	}
	var cur string
	var body bytes.Buffer
	flush := func() {
		if cur != "" {
			if err := os.WriteFile(filepath.Join(dir, logDir, cur), body.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		body.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#") && cur == "":
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			flush()
			cur = strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
		default:
			body.WriteString(line + "\n")
		}
	}
	flush()
}

func paths(s *Snapshot) []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Path)
	}
	return out
}

func TestTimeTravel(t *testing.T) {
	tbl := loadLog(t, "timetravel")
	tests := []struct {
		version int64
		want    []string
		name    string
		app     int64
	}{
		{0, []string{"p=a/1.parquet"}, "logs", -1},
		{1, []string{"p=a/1.parquet", "p=b/1.parquet"}, "logs", -1},
		{2, []string{"p=a/2.parquet", "p=b/1.parquet"}, "logs", -1},
		{3, []string{"p=a/1.parquet", "p=a/2.parquet", "p=b/1.parquet"}, "logs", 7},
		{4, []string{"p=a/1.parquet", "p=a/2.parquet", "p=b/1.parquet"}, "renamed", 8},
		{-1, []string{"p=a/1.parquet", "p=a/2.parquet", "p=b/1.parquet"}, "renamed", 8},
	}
	for _, tt := range tests {
		s, err := tbl.Snapshot(context.Background(), tt.version)
		if err != nil {
			t.Fatalf("version %d: %v", tt.version, err)
		}
		if got := paths(s); !slices.Equal(got, tt.want) {
			t.Errorf("version %d: files %q, want %q", tt.version, got, tt.want)
		}
		if want := max(tt.version, 4); tt.version < 0 && s.Version != want {
			t.Errorf("latest: version %d, want %d", s.Version, want)
		}
		if s.Metadata.Name != tt.name {
			t.Errorf("version %d: name %q, want %q", tt.version, s.Metadata.Name, tt.name)
		}
		app, ok := s.AppVersion("job-1")
		if tt.app < 0 && ok || tt.app >= 0 && app != tt.app {
			t.Errorf("version %d: app version %d %v, want %d", tt.version, app, ok, tt.app)
		}
	}
	if _, err := tbl.Snapshot(context.Background(), 5); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("version 5: got %v, want ErrVersionNotFound", err)
	}
}

func TestEncodedPaths(t *testing.T) {
	s, err := loadLog(t, "encoded").Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	want := []AddFile{
		{Path: "p=__HIVE_DEFAULT_PARTITION__/n.parquet", PartitionValues: map[string]string{"p": ""}, Size: 1, ModificationTime: 1, DataChange: true},
		{Path: "p=x%20y/f g.parquet", PartitionValues: map[string]string{"p": "x%20y"}, Size: 10, ModificationTime: 1700000000000, DataChange: true},
	}
	if len(s.Files) != len(want) {
		t.Fatalf("files %+v", s.Files)
	}
	for i := range want {
		g, w := s.Files[i], want[i]
		if g.Path != w.Path || g.PartitionValues["p"] != w.PartitionValues["p"] || g.Size != w.Size || g.ModificationTime != w.ModificationTime || g.DataChange != w.DataChange || g.Stats != "" {
			t.Errorf("file %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestColumnMappingNoneAccepted(t *testing.T) {
	s, err := loadLog(t, "column-mapping-none").Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Files) != 1 || s.Protocol.MinReaderVersion != 3 {
		t.Errorf("snapshot %+v", s)
	}
}

// TestLogRefusals: each malformed or unsupported log fails with its own
// error class, and where a line is to blame, its file and line.
func TestLogRefusals(t *testing.T) {
	unsupported := func(features ...string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			for _, f := range features {
				found := false
				for _, e := range flatten(err) {
					var ue *UnsupportedFeatureError
					if errors.As(e, &ue) && ue.Feature == f {
						found = true
					}
				}
				if !found {
					t.Errorf("error %v does not name unsupported feature %q", err, f)
				}
			}
		}
	}
	atLine := func(file string, line int, substr string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var le *LogError
			if !errors.As(err, &le) || le.File != logDir+"/"+file || le.Line != line {
				t.Fatalf("got %v, want a LogError at %s:%d", err, file, line)
			}
			if !strings.Contains(err.Error(), substr) {
				t.Errorf("error %q does not contain %q", err, substr)
			}
		}
	}
	pathErr := func(t *testing.T, err error) {
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a PathError", err)
		}
		var le *LogError
		if !errors.As(err, &le) || le.Line != 3 {
			t.Errorf("got %v, want it at line 3", err)
		}
	}
	is := func(target error) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			if !errors.Is(err, target) {
				t.Fatalf("got %v, want %v", err, target)
			}
		}
	}
	contains := func(substr string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), substr) {
				t.Fatalf("got %v, want an error containing %q", err, substr)
			}
		}
	}
	schemaErr := func(t *testing.T, err error) {
		var se *SchemaError
		if !errors.As(err, &se) || !strings.Contains(se.Reason, "variant") {
			t.Fatalf("got %v, want a SchemaError about variant", err)
		}
	}
	const c0, c1 = "00000000000000000000.json", "00000000000000000001.json"
	tests := []struct {
		name  string
		check func(*testing.T, error)
	}{
		{"refuse-dv-file", unsupported("deletionVectors")},
		{"refuse-reader-features", unsupported("deletionVectors", "typeWidening")},
		{"refuse-column-mapping", unsupported("columnMapping")},
		{"refuse-reader-version", unsupported("readerVersion 4")},
		{"refuse-v2-action", unsupported("v2Checkpoint")},
		{"malformed-json", atLine(c1, 2, "unexpected EOF")},
		{"duplicate-key", atLine(c0, 3, `duplicate key "path"`)},
		{"case-variant", atLine(c0, 3, `field "path": missing`)},
		{"two-actions", atLine(c0, 1, "exactly one action")},
		{"unknown-action", atLine(c0, 3, `unknown action "futureAction"`)},
		{"path-escape", pathErr},
		{"path-absolute", pathErr},
		{"path-scheme", pathErr},
		{"gap", is(ErrVersionNotFound)},
		{"no-metadata", contains("no protocol or no metaData")},
		{"partition-mismatch", contains("0 partition values for 1 partition columns")},
		{"bad-schema", schemaErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadLog(t, tt.name).Snapshot(context.Background(), -1)
			if err == nil {
				t.Fatal("snapshot succeeded")
			}
			tt.check(t, err)
		})
	}
}

// flatten unpacks errors.Join trees.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func TestOpenNotTable(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotTable) {
		t.Errorf("empty dir: got %v, want ErrNotTable", err)
	}
	if err := os.Mkdir(filepath.Join(dir, logDir), 0o755); err != nil {
		t.Fatal(err)
	}
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if _, err := tbl.Snapshot(context.Background(), -1); !errors.Is(err, ErrNotTable) {
		t.Errorf("empty log: got %v, want ErrNotTable", err)
	}
}

// TestAbsoluteURIInsideTable: absolute file URIs are accepted when they
// point inside the table, and returned relative.
func TestAbsoluteURIInsideTable(t *testing.T) {
	dir := t.TempDir()
	m := `{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[]}}`
	log := "-- 00000000000000000000.json --\n" +
		`{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}` + "\n" + m + "\n" +
		`{"add":{"path":"file://` + dir + `/sub/a%20b.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}` + "\n" +
		`{"add":{"path":"` + dir + `/c.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}` + "\n"
	writeLog(t, dir, []byte(log))
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	s, err := tbl.Snapshot(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(s), []string{"c.parquet", "sub/a b.parquet"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
}

func TestLimits(t *testing.T) {
	t.Run("line", func(t *testing.T) {
		budget := 10
		line := `{"commitInfo":{"x":"` + strings.Repeat("a", maxLineLength) + `"}}`
		_, err := parseCommit([]byte(line), "f", "/t", &budget)
		if !errors.Is(err, ErrLimit) {
			t.Errorf("got %v, want ErrLimit", err)
		}
	})
	t.Run("actions", func(t *testing.T) {
		budget := 2
		data := strings.Repeat(`{"commitInfo":{}}`+"\n", 3)
		_, err := parseCommit([]byte(data), "f", "/t", &budget)
		var le *LogError
		if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Line != 3 {
			t.Errorf("got %v, want ErrLimit at line 3", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		budget := 2
		_, err := parseCommit(nil, "f", "/t", &budget)
		var le *LogError
		if !errors.As(err, &le) {
			t.Errorf("got %v, want a LogError", err)
		}
	})
	t.Run("commit file", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, []byte("-- 00000000000000000000.json --\n{}\n"))
		if err := os.Truncate(filepath.Join(dir, logDir, "00000000000000000000.json"), maxCommitFileSize+1); err != nil {
			t.Fatal(err)
		}
		tbl, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		if _, err := tbl.Snapshot(context.Background(), -1); !errors.Is(err, ErrLimit) {
			t.Errorf("got %v, want ErrLimit", err)
		}
	})
}

func TestSymlinkedLogEscapeRefused(t *testing.T) {
	outside := t.TempDir()
	writeLog(t, outside, []byte("-- 00000000000000000000.json --\n"+`{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`+"\n"))
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, logDir), 0o755); err != nil {
		t.Fatal(err)
	}
	// A commit that is a symlink to a file outside the table.
	if err := os.Symlink(filepath.Join(outside, logDir, "00000000000000000000.json"), filepath.Join(dir, logDir, "00000000000000000000.json")); err != nil {
		t.Fatal(err)
	}
	tbl, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	_, err = tbl.Snapshot(context.Background(), -1)
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Errorf("got %v, want the root to refuse the escaping symlink", err)
	}
	if _, err := tbl.OpenFile("../x"); err == nil {
		t.Error("OpenFile(../x) succeeded")
	} else if pe := (*PathError)(nil); !errors.As(err, &pe) {
		t.Errorf("OpenFile(../x): got %v, want a PathError", err)
	}
}
