package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// tableInfo is a registered table whose footers have all been read and
// checked. It is immutable after loadTable.
type tableInfo struct {
	t          Table
	schema     *arrow.Schema // file columns, then partition columns
	fileFields int           // schema.Field(i) for i < fileFields comes from the files
	leaves     [][]int       // per file field: its Parquet leaf column indices
	partKeys   []string      // partition columns, in schema order
	partInt    []bool        // per partKeys: INT64 (true) or string
	rowCounts  [][]int64     // per file, per row group: number of rows
	// native holds, per file, what DuckDB's own reader needs; nativeOK is
	// whether every file qualifies (see nativeInfo).
	native   []nativeFile
	nativeOK bool
}

// openedFile is one file opened by one goroutine.
type openedFile struct {
	f  *os.File
	pf *file.Reader
	fr *pqarrow.FileReader
}

func (o *openedFile) close() {
	if o.pf != nil {
		_ = o.pf.Close() // closes o.f
		return
	}
	_ = o.f.Close()
}

// openParquet opens path with the table's decryption properties. arrow-go
// panics on some bad keys and malformed footers; the panic is turned into
// errPanic and the file is closed.
func openParquet(t *Table, path string, batchRows int, mem memory.Allocator) (of *openedFile, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	of = &openedFile{f: f}
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
		if err != nil {
			of.close()
			of = nil
		}
	}()
	props := parquet.NewReaderProperties(mem)
	if t.Decryption != nil {
		props.FileDecryptProps = t.Decryption()
	}
	of.pf, err = file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return of, err
	}
	// With an encrypted footer the algorithm is read from an
	// unauthenticated header: someone who may write the file could relabel
	// AES_GCM_V1 as AES_GCM_CTR_V1, whose pages are not authenticated.
	// Only GCM is read.
	if fd := of.pf.MetaData().FileDecryptor; fd != nil && fd.Algorithm() != parquet.AesGcm {
		return of, errNotGCM
	}
	of.fr, err = pqarrow.NewFileReader(of.pf, pqarrow.ArrowReadProperties{Parallel: false, BatchSize: int64(batchRows)}, mem)
	return of, err
}

// leafIndices lists the Parquet leaf columns under a top-level field.
func leafIndices(f pqarrow.SchemaField, dst []int) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for _, c := range f.Children {
		dst = leafIndices(c, dst)
	}
	return dst
}

func fieldString(f arrow.Field) string {
	null := ""
	if f.Nullable {
		null = " nullable"
	}
	return fmt.Sprintf("%s %s%s", f.Name, f.Type, null)
}

// loadTable opens every file's footer (decrypting it if needed) and checks
// that all files have the same columns, in the same order, with the same
// types and nullability. It does not read any data page.
func loadTable(ctx context.Context, t Table) (*tableInfo, error) {
	if err := checkTable(t); err != nil {
		return nil, err
	}
	ti := &tableInfo{t: t, rowCounts: make([][]int64, len(t.Files)), nativeOK: true}
	mem := memory.NewGoAllocator()
	var fields []arrow.Field
	for i, f := range t.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		of, err := openParquet(&ti.t, f.Path, defaultBatchRows, mem)
		if err != nil {
			return nil, &FileError{Table: t.Name, Path: f.Path, RowGroup: -1, Err: err}
		}
		sc, err := schemaOf(of)
		nf, ok := nativeInfo(f.Path, of.pf)
		ti.native = append(ti.native, nf)
		ti.nativeOK = ti.nativeOK && ok
		for rg := range of.pf.NumRowGroups() {
			ti.rowCounts[i] = append(ti.rowCounts[i], of.pf.MetaData().RowGroup(rg).NumRows())
		}
		if i == 0 && err == nil {
			fields = sc.Fields()
			for _, sf := range of.fr.Manifest.Fields {
				ti.leaves = append(ti.leaves, leafIndices(sf, nil))
			}
		}
		of.close()
		if err != nil {
			return nil, &FileError{Table: t.Name, Path: f.Path, RowGroup: -1, Err: err}
		}
		if i > 0 {
			if err := sameFields(t.Name, f.Path, fields, sc.Fields()); err != nil {
				return nil, err
			}
		}
	}
	ti.fileFields = len(fields)

	seen := map[string]bool{}
	for _, f := range fields {
		k := strings.ToLower(f.Name)
		if seen[k] || f.Name == emptyProjectionColumn {
			return nil, fmt.Errorf("%w: table %s: duplicate or reserved column name %q", ErrInvalidTable, t.Name, f.Name)
		}
		seen[k] = true
	}
	for k := range t.Files[0].PartitionValues {
		ti.partKeys = append(ti.partKeys, k)
	}
	slices.Sort(ti.partKeys)
	for _, k := range ti.partKeys {
		if seen[strings.ToLower(k)] {
			return nil, fmt.Errorf("%w: table %s: partition key %q is also a column in the files", ErrInvalidTable, t.Name, k)
		}
		seen[strings.ToLower(k)] = true
		isInt := true
		for _, f := range t.Files {
			if _, err := strconv.ParseInt(f.PartitionValues[k], 10, 64); err != nil {
				isInt = false
				break
			}
		}
		ti.partInt = append(ti.partInt, isInt)
		typ := arrow.DataType(arrow.BinaryTypes.String)
		if isInt {
			typ = arrow.PrimitiveTypes.Int64
		}
		fields = append(fields, arrow.Field{Name: k, Type: typ})
	}
	ti.schema = arrow.NewSchema(fields, nil)
	return ti, nil
}

func schemaOf(of *openedFile) (sc *arrow.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	sc, err = of.fr.Schema()
	if err != nil {
		return nil, err
	}
	if sc.NumFields() == 0 {
		return nil, fmt.Errorf("no columns")
	}
	// Every top-level field must map to leaf columns, so projection works.
	if len(of.fr.Manifest.Fields) != sc.NumFields() {
		return nil, fmt.Errorf("schema manifest has %d fields, arrow schema %d", len(of.fr.Manifest.Fields), sc.NumFields())
	}
	return sc, nil
}

func sameFields(table, path string, want, got []arrow.Field) error {
	if len(want) != len(got) {
		return &SchemaError{Table: table, Path: path, Want: fmt.Sprintf("%d columns", len(want)), Got: fmt.Sprintf("%d columns", len(got))}
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Name != g.Name || w.Nullable != g.Nullable || !arrow.TypeEqual(w.Type, g.Type) {
			return &SchemaError{Table: table, Path: path, Want: fieldString(w), Got: fieldString(g)}
		}
	}
	return nil
}

// errNotGCM reports a file encrypted with AES_GCM_CTR_V1.
var errNotGCM = errors.New("encrypted with AES_GCM_CTR_V1, whose pages are not authenticated: only AES_GCM_V1 is read")

// errChanged reports a file whose row groups differ from what Register
// read: it was replaced since, and reading on would mix two versions.
var errChanged = errors.New("the file changed since the table was registered")

// sameRowGroups checks that the reopened file i has the row groups, and
// row counts, Register saw (the row count of an answer without file
// columns comes from those).
func (ti *tableInfo) sameRowGroups(i int, of *openedFile) error {
	want := ti.rowCounts[i]
	md := of.pf.MetaData()
	if of.pf.NumRowGroups() != len(want) {
		return errChanged
	}
	for rg, n := range want {
		if md.RowGroup(rg).NumRows() != n {
			return errChanged
		}
	}
	return nil
}
