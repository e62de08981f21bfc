package engine

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"

	"github.com/cofre-cc/cofre/analytics/pme"
)

// File is one Parquet file of a table.
type File struct {
	// Path is the file's path on the local file system.
	Path string
	// PartitionValues are Hive partition values (year=2024/month=1), which
	// become columns of the table. Every file of a table must name the same
	// keys. A key whose values all parse as base-10 int64 becomes an INT64
	// column, otherwise a string column. Nil: no partition columns.
	PartitionValues map[string]string
}

// Table names a set of Parquet files with one schema.
type Table struct {
	// Name is the SQL name of the table: letters, digits and underscores,
	// not starting with a digit, compared case-insensitively (as DuckDB does).
	Name string
	// Files are the table's data files, at least one.
	Files []File
	// Decryption returns decryption properties for a file (nil: the file is
	// plaintext). It is called once each time a file is opened, possibly
	// from several reader goroutines at once, so it must be safe for
	// concurrent use and return a fresh value each call (arrow-go marks
	// properties as used). Nil means every file is plaintext.
	Decryption func() *parquet.FileDecryptionProperties
}

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Workers is the number of reader goroutines that decrypt and decode
	// Parquet. Default (0): runtime.NumCPU().
	Workers int
	// MemoryLimit is DuckDB's memory_limit, e.g. "4GB". Default (""):
	// DuckDB's default, 80% of physical memory.
	MemoryLimit string
	// Threads is the number of DuckDB worker threads. Default (0): DuckDB's
	// default, the number of cores.
	Threads int
	// TempDir is where DuckDB may spill intermediate data. It must be on an
	// encrypted (sealfs) mount; the caller checks that. Default (""):
	// spilling is disabled, and a query that needs more than MemoryLimit
	// fails instead of writing plaintext to disk.
	TempDir string
	// Progress, if non-nil, is called after each row group has been read,
	// with the number of row groups done and the total for the running
	// query. Calls are serialized but come from reader goroutines; keep it
	// fast.
	Progress func(doneRowGroups, totalRowGroups int64)
	// BatchRows is the number of rows per record batch handed to DuckDB.
	// Default (0): 65536.
	BatchRows int
	// NoNative makes every query go through arrow-go's readers. By default,
	// when every registered table is plaintext or uniformly encrypted (see
	// nativeInfo), DuckDB's own Parquet reader reads the files, with their
	// footer keys (unwrapped through the KMS at Register) and access to
	// those files only; it is several times faster. Progress is reported
	// only on the arrow-go path.
	NoNative bool
}

var (
	// ErrNoDuckDB is returned by Open when cofre was built without DuckDB
	// (without cgo or the build tag duckdb_arrow).
	ErrNoDuckDB = errors.New("engine: cofre was built without DuckDB (build with cgo and -tags duckdb_arrow)")
	// ErrInvalidOptions reports an unusable Options value.
	ErrInvalidOptions = errors.New("engine: invalid options")
	// ErrInvalidTable reports an unusable Table: bad name, no files,
	// duplicate name, inconsistent partition keys.
	ErrInvalidTable = errors.New("engine: invalid table")
	// ErrSchemaMismatch reports files of one table whose schemas differ.
	ErrSchemaMismatch = errors.New("engine: schema mismatch")
	// ErrRead reports a failure to open, decrypt or decode a Parquet file
	// (wrong or missing key, tampered or corrupt file). The query fails; no
	// partial result is returned.
	ErrRead = errors.New("engine: read parquet")
	// ErrInvalidQuery reports SQL that is not exactly one SELECT statement
	// or that the engine cannot plan.
	ErrInvalidQuery = errors.New("engine: invalid query")
	// ErrQuery reports an error raised by DuckDB while running a query
	// (including out of memory).
	ErrQuery = errors.New("engine: query failed")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("engine: closed")
)

// FileError is a failure reading one file. It matches ErrRead with
// errors.Is. Its message names the file and row group, never key material.
type FileError struct {
	Table    string
	Path     string
	RowGroup int // -1: while opening the file
	Err      error
}

func (e *FileError) Error() string {
	if e.RowGroup < 0 {
		return fmt.Sprintf("engine: read parquet: table %s: open %s: %v", e.Table, e.Path, e.Err)
	}
	return fmt.Sprintf("engine: read parquet: table %s: %s: row group %d: %v", e.Table, e.Path, e.RowGroup, e.Err)
}

// Unwrap returns ErrRead and the cause.
func (e *FileError) Unwrap() []error { return []error{ErrRead, e.Err} }

// SchemaError reports a file whose schema differs from the table's first
// file. It matches ErrSchemaMismatch with errors.Is.
type SchemaError struct {
	Table, Path string
	Want, Got   string // the differing field, or the whole schema
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("engine: schema mismatch: table %s: %s: want %s, got %s", e.Table, e.Path, e.Want, e.Got)
}

// Unwrap returns ErrSchemaMismatch.
func (e *SchemaError) Unwrap() error { return ErrSchemaMismatch }

// panicError turns a panic arrow-go raised on a file (it panics on some bad
// keys and malformed files) into an error. Errors — among them the key
// retriever's, which say which master key the KMS refused — are classified
// by pme (ErrNoKey, ErrTampered, ErrFile…); other panic values are reduced
// to their kind, as they may quote decrypted bytes.
func panicError(r any) error {
	if e, ok := r.(error); ok {
		return pme.RecoverRead(func() error { panic(e) })
	}
	return errPanic
}

var errPanic = errors.New("parquet library panicked (bad key or corrupt file)")

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func (o Options) withDefaults() (Options, error) {
	if o.Workers < 0 || o.Workers > maxWorkers {
		return o, fmt.Errorf("%w: Workers %d not in [0, %d]", ErrInvalidOptions, o.Workers, maxWorkers)
	}
	if o.Workers == 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Threads < 0 {
		return o, fmt.Errorf("%w: Threads %d < 0", ErrInvalidOptions, o.Threads)
	}
	if o.BatchRows < 0 {
		return o, fmt.Errorf("%w: BatchRows %d < 0", ErrInvalidOptions, o.BatchRows)
	}
	if o.BatchRows == 0 {
		o.BatchRows = defaultBatchRows
	}
	// Values go into DuckDB's configuration; refuse anything that is not a
	// plain size or path so they cannot smuggle other settings.
	if strings.ContainsAny(o.MemoryLimit, "'&?=\x00\n") {
		return o, fmt.Errorf("%w: MemoryLimit %q", ErrInvalidOptions, o.MemoryLimit)
	}
	if strings.ContainsAny(o.TempDir, "'&?=\x00\n") {
		return o, fmt.Errorf("%w: TempDir contains a forbidden character", ErrInvalidOptions)
	}
	return o, nil
}

// checkTable validates what can be checked without opening files.
func checkTable(t Table) error {
	if !identRE.MatchString(t.Name) {
		return fmt.Errorf("%w: name %q: want letters, digits, underscores", ErrInvalidTable, t.Name)
	}
	if len(t.Files) == 0 {
		return fmt.Errorf("%w: table %s has no files", ErrInvalidTable, t.Name)
	}
	if len(t.Files) > maxFilesPerTable {
		return fmt.Errorf("%w: table %s has %d files, limit %d", ErrInvalidTable, t.Name, len(t.Files), maxFilesPerTable)
	}
	first := t.Files[0].PartitionValues
	for _, f := range t.Files {
		if len(f.PartitionValues) != len(first) {
			return fmt.Errorf("%w: table %s: %s: partition keys differ from %s", ErrInvalidTable, t.Name, f.Path, t.Files[0].Path)
		}
		for k := range f.PartitionValues {
			if _, ok := first[k]; !ok {
				return fmt.Errorf("%w: table %s: %s: partition key %q not in %s", ErrInvalidTable, t.Name, f.Path, k, t.Files[0].Path)
			}
			if !identRE.MatchString(k) {
				return fmt.Errorf("%w: table %s: partition key %q: want letters, digits, underscores", ErrInvalidTable, t.Name, k)
			}
		}
	}
	return nil
}
