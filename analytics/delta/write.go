package delta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// engineInfo names this writer in commitInfo.
const engineInfo = "cofre-delta"

// CreateOptions are the optional parts of a new table's metaData.
type CreateOptions struct {
	Name        string
	Description string
	// Configuration is the table configuration (e.g. "delta.appendOnly").
	// Settings that need features this package lacks (column mapping,
	// deletion vectors, ...) make Create fail.
	Configuration map[string]string
	// ID is the table id; empty means a random UUID.
	ID string
	// Time stamps the commit and createdTime; zero means the clock at
	// the call.
	Time time.Time
}

// CommitInfo describes an Append in its commitInfo action.
type CommitInfo struct {
	// Operation names the operation; empty means "WRITE".
	Operation string
	// Time stamps the commit and files without a ModificationTime; zero
	// means the clock at the call.
	Time time.Time
}

var errNoFiles = errors.New("delta: append: no files")

// Create makes a new table in dir (created if needed): version 0 holds
// commitInfo, protocol and metaData with schema and partitionColumns. The
// protocol is reader 1 / writer 2, or reader 3 / writer 7 with the
// timestampNtz feature when the schema has a timestamp without time zone.
// It fails with ErrTableExists if dir already holds a table.
func Create(dir string, schema *arrow.Schema, partitionColumns []string, opts CreateOptions) (*Table, error) {
	ss, ntz, err := schemaString(schema)
	if err != nil {
		return nil, err
	}
	proto := Protocol{MinReaderVersion: 1, MinWriterVersion: 2}
	if ntz {
		proto = Protocol{MinReaderVersion: 3, MinWriterVersion: 7, ReaderFeatures: []string{"timestampNtz"}, WriterFeatures: []string{"timestampNtz"}}
	}
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	id := opts.ID
	if id == "" {
		id = newUUID()
	}
	meta := Metadata{
		ID: id, Name: opts.Name, Description: opts.Description, SchemaString: ss,
		PartitionColumns: slices.Clone(partitionColumns), Configuration: maps.Clone(opts.Configuration), CreatedTime: now.UnixMilli(),
	}
	if meta.PartitionColumns == nil {
		meta.PartitionColumns = []string{}
	}
	if meta.Configuration == nil {
		meta.Configuration = map[string]string{}
	}
	// Refuse now what we could not read or append to later.
	parsed, err := parseSchema(ss)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkReadable(proto, meta, parsed), checkWritable(proto, meta, parsed)); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("delta: create: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("delta: create: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("delta: create: %w", err)
	}
	t := &Table{root: root, dir: abs}
	if err := root.Mkdir(logDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, fmt.Errorf("delta: create: %w", err)
	}
	if _, err := t.list(); !errors.Is(err, ErrNotTable) {
		root.Close()
		if err == nil {
			return nil, fmt.Errorf("%w: %s", ErrTableExists, abs)
		}
		return nil, err
	}
	var buf bytes.Buffer
	writeLine(&buf, "commitInfo", map[string]any{
		"timestamp": now.UnixMilli(), "operation": "CREATE TABLE",
		"operationParameters": map[string]string{"mode": "ErrorIfExists", "partitionBy": mustJSON(meta.PartitionColumns)},
		"engineInfo":          engineInfo,
	})
	writeLine(&buf, "protocol", protocolJSON(proto))
	writeLine(&buf, "metaData", map[string]any{
		"id": meta.ID, "name": nullable(meta.Name), "description": nullable(meta.Description),
		"format":       map[string]any{"provider": "parquet", "options": map[string]string{}},
		"schemaString": meta.SchemaString, "partitionColumns": meta.PartitionColumns,
		"configuration": meta.Configuration, "createdTime": meta.CreatedTime,
	})
	if err := t.commit(0, buf.Bytes()); err != nil {
		root.Close()
		if errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("%w: %s", ErrTableExists, abs)
		}
		return nil, err
	}
	return t, nil
}

// Append commits version N+1, adding files already written into the table
// directory; it returns the new version. Paths are relative to the table
// directory. A zero Size or ModificationTime is taken from the file; a
// non-zero Size must match it. DataChange is set (an append changes data).
// Stats are written only if the caller supplies them: this package never
// computes statistics, since they would put column values in the log in
// plaintext. If another writer commits N+1 first, Append returns
// ErrConflict; an append does not depend on what it read, so retrying is
// safe.
func (t *Table) Append(ctx context.Context, files []AddFile, info CommitInfo) (int64, error) {
	if len(files) == 0 {
		return 0, errNoFiles
	}
	snap, err := t.Snapshot(ctx, -1)
	if err != nil {
		return 0, err
	}
	if err := checkWritable(snap.Protocol, snap.Metadata, snap.schema); err != nil {
		return 0, err
	}
	now := info.Time
	if now.IsZero() {
		now = time.Now()
	}
	live := make(map[string]bool, len(snap.Files))
	for _, f := range snap.Files {
		live[f.Path] = true
	}
	op := info.Operation
	if op == "" {
		op = "WRITE"
	}
	var buf bytes.Buffer
	writeLine(&buf, "commitInfo", map[string]any{
		"timestamp": now.UnixMilli(), "operation": op,
		"operationParameters": map[string]string{"mode": "Append"},
		"readVersion":         snap.Version, "isBlindAppend": true, "engineInfo": engineInfo,
	})
	for _, f := range files {
		add, err := t.prepareAdd(f, snap.Metadata.PartitionColumns, now)
		if err != nil {
			return 0, err
		}
		if live[add.Path] {
			return 0, &PathError{Path: f.Path, Reason: "already in the table (or twice in this append)"}
		}
		live[add.Path] = true
		writeLine(&buf, "add", map[string]any{
			"path": encodeLogPath(add.Path), "partitionValues": add.PartitionValues, "size": add.Size,
			"modificationTime": add.ModificationTime, "dataChange": true, "stats": nullable(add.Stats),
		})
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	v := snap.Version + 1
	if err := t.commit(v, buf.Bytes()); err != nil {
		return 0, err
	}
	return v, nil
}

func (t *Table) prepareAdd(f AddFile, partCols []string, now time.Time) (AddFile, error) {
	if reason := checkRelPath(f.Path); reason != "" {
		return AddFile{}, &PathError{Path: f.Path, Reason: reason}
	}
	if f.Path != path.Clean(f.Path) {
		return AddFile{}, &PathError{Path: f.Path, Reason: "not a clean path"}
	}
	if f.Path == logDir || strings.HasPrefix(f.Path, logDir+"/") {
		return AddFile{}, &PathError{Path: f.Path, Reason: "inside " + logDir}
	}
	st, err := t.root.Stat(filepath.FromSlash(f.Path))
	if err != nil {
		return AddFile{}, fmt.Errorf("delta: append: %w", err)
	}
	if !st.Mode().IsRegular() {
		return AddFile{}, &PathError{Path: f.Path, Reason: "not a regular file"}
	}
	add := AddFile{Path: f.Path, PartitionValues: maps.Clone(f.PartitionValues), Size: f.Size, ModificationTime: f.ModificationTime, DataChange: true, Stats: f.Stats}
	if add.PartitionValues == nil {
		add.PartitionValues = map[string]string{}
	}
	if add.Size == 0 {
		add.Size = st.Size()
	} else if add.Size != st.Size() {
		return AddFile{}, &PathError{Path: f.Path, Reason: fmt.Sprintf("size %d, file has %d bytes", add.Size, st.Size())}
	}
	if add.ModificationTime == 0 {
		add.ModificationTime = st.ModTime().UnixMilli()
	}
	if add.Stats != "" && (!json.Valid([]byte(add.Stats)) || !strings.HasPrefix(strings.TrimSpace(add.Stats), "{")) {
		return AddFile{}, fmt.Errorf("delta: append: file %q: stats are not a JSON object", f.Path)
	}
	if err := checkPartitionValues(add, partCols); err != nil {
		return AddFile{}, err
	}
	return add, nil
}

// supportedWriterFeatures are the writer features whose rules Append keeps.
// Most need nothing from a blind append as long as the table does not use
// them (checkWritable checks that); appendOnly forbids only removes.
var supportedWriterFeatures = map[string]bool{
	"appendOnly": true, "invariants": true, "checkConstraints": true, "changeDataFeed": true,
	"generatedColumns": true, "columnMapping": true, "identityColumns": true,
	"timestampNtz": true, "vacuumProtocolCheck": true,
}

// checkWritable refuses to append to a table whose writer protocol asks
// for work Append does not do: we never look inside the data files, so we
// cannot enforce invariants or CHECK constraints, compute generated or
// identity columns, or assign row ids.
func checkWritable(p Protocol, m Metadata, schema *dtype) error {
	var errs []error
	switch {
	case p.MinWriterVersion > 7:
		errs = append(errs, &UnsupportedFeatureError{Feature: fmt.Sprintf("writerVersion %d", p.MinWriterVersion), Detail: "writer versions up to 7 are supported"})
	case p.MinWriterVersion == 7:
		for _, f := range p.WriterFeatures {
			if !supportedWriterFeatures[f] {
				errs = append(errs, &UnsupportedFeatureError{Feature: f, Detail: "writer feature"})
			}
		}
	}
	for k := range m.Configuration {
		if strings.HasPrefix(k, "delta.constraints.") {
			errs = append(errs, &UnsupportedFeatureError{Feature: "checkConstraints", Detail: "table has constraint " + strings.TrimPrefix(k, "delta.constraints.")})
		}
	}
	schema.walk("", func(at string, f field) {
		for key, feature := range map[string]string{
			"delta.invariants":           "invariants",
			"delta.generationExpression": "generatedColumns",
			"delta.identity.start":       "identityColumns",
		} {
			if _, ok := f.metadata[key]; ok {
				errs = append(errs, &UnsupportedFeatureError{Feature: feature, Detail: "column " + at})
			}
		}
	})
	return errors.Join(errs...)
}

// commit writes the commit file for version v so that it appears whole and
// only if no other writer has written v. The content goes to a temporary
// file first; a hard link then claims the final name, failing if it exists,
// so readers never see a partial commit. Where hard links are not
// supported, the name is claimed with O_EXCL and written in place.
func (t *Table) commit(v int64, data []byte) error {
	name := commitName(v)
	tmp := fmt.Sprintf("%s/.%020d.json.%s.tmp", logDir, v, randomHex(8))
	if err := t.writeFile(tmp, data); err != nil {
		t.root.Remove(tmp)
		return err
	}
	err := t.root.Link(tmp, name)
	t.root.Remove(tmp)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: version %d was committed by another writer", ErrConflict, v)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EXDEV), errors.Is(err, errors.ErrUnsupported):
		if err := t.writeFile(name, data); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w: version %d was committed by another writer", ErrConflict, v)
			}
			return err
		}
	default:
		return fmt.Errorf("delta: commit %d: %w", v, err)
	}
	if d, err := t.root.Open(logDir); err == nil {
		d.Sync() // best effort: make the new name durable
		d.Close()
	}
	return nil
}

// writeFile creates name exclusively and writes data durably.
func (t *Table) writeFile(name string, data []byte) error {
	f, err := t.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.root.Remove(name)
		return fmt.Errorf("delta: write %s: %w", name, err)
	}
	return nil
}

func writeLine(buf *bytes.Buffer, name string, v any) {
	b, err := json.Marshal(map[string]any{name: v})
	if err != nil {
		panic("delta: marshal " + name + ": " + err.Error()) // only plain maps, strings and numbers
	}
	buf.Write(b)
	buf.WriteByte('\n')
}

func protocolJSON(p Protocol) map[string]any {
	m := map[string]any{"minReaderVersion": p.MinReaderVersion, "minWriterVersion": p.MinWriterVersion}
	if p.MinReaderVersion >= 3 {
		m["readerFeatures"] = p.ReaderFeatures
	}
	if p.MinWriterVersion >= 7 {
		m["writerFeatures"] = p.WriterFeatures
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
