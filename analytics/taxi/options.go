package taxi

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Options configures Generate. Fields marked "part of the data" decide the
// bytes of the plaintext output; the others do not.
type Options struct {
	// Rows is the total number of trips to generate, > 0. Part of the data.
	Rows int64

	// Seed selects the pseudo-random stream. Part of the data.
	Seed uint64

	// Dir is the output root. It must not exist or be an empty directory.
	// Files go to Dir/year=YYYY/month=MM/part-NNNNN.parquet (Hive-style
	// partitions; year and month are not columns in the files).
	Dir string

	// Start is the first month; only its year and month are used. Zero
	// means January 2024. Part of the data.
	Start time.Time

	// Months is the number of consecutive months the rows are spread over.
	// Zero means 12; at most 1200. Part of the data.
	Months int

	// FileRows is the largest number of rows in one file. Zero means
	// 4,194,304. Each month's rows are split evenly over
	// ceil(rows/FileRows) files. Part of the data.
	FileRows int64

	// RowGroupRows is the largest number of rows in one row group. Zero
	// means 1,048,576; at most 16 M. Part of the data.
	RowGroupRows int64

	// Workers is the number of files written in parallel. Zero means
	// runtime.GOMAXPROCS(0); at most 1024. Not part of the data: any number
	// of workers writes the same bytes.
	Workers int

	// Compression is the Parquet codec. The zero value
	// (compress.Codecs.Uncompressed) means Snappy, which the TLC files use;
	// uncompressed output is not offered. Part of the data.
	Compression compress.Compression

	// Encryption returns the encryption properties for one file, given its
	// path relative to Dir (slash-separated), or nil to write that file in
	// plaintext. It must return fresh properties (and keys) for every file:
	// arrow-go marks properties as used once a file is written. Called from
	// worker goroutines, possibly concurrently. Nil means plaintext. Not
	// part of the data, but encrypted files differ on every run because
	// their nonces are random.
	Encryption func(relPath string) (*parquet.FileEncryptionProperties, error)

	// Progress, if not nil, is called after each row group is written with
	// the total number of rows written so far. Calls are serialized and the
	// totals they report never decrease; it is called from worker
	// goroutines and must not block for long.
	Progress func(rowsDone int64)
}

// ErrInvalidOptions is wrapped by every OptionError.
var ErrInvalidOptions = errors.New("invalid options")

// ErrDirNotEmpty is returned when Options.Dir already holds files: the
// generator never mixes its output with other data, nor overwrites it.
var ErrDirNotEmpty = errors.New("output directory is not empty")

// OptionError reports one invalid field of Options.
type OptionError struct {
	Field string // the Options field, e.g. "Rows"
	Want  string // what is accepted, e.g. "> 0"
	Got   string // the value given
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("taxi: option %s: want %s, got %s", e.Field, e.Want, e.Got)
}

// Unwrap lets errors.Is(err, ErrInvalidOptions) match.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// config is Options with defaults applied and checked.
type config struct {
	rows         int64
	seed         uint64
	dir          string
	startYear    int
	startMonth   int // 1..12
	months       int
	fileRows     int64
	rowGroupRows int64
	workers      int
	codec        compress.Compression
	encryption   func(string) (*parquet.FileEncryptionProperties, error)
	progress     func(int64)
}

// newConfig applies defaults and runs every check, joining all failures.
func newConfig(o Options) (config, error) {
	c := config{
		rows:         o.Rows,
		seed:         o.Seed,
		dir:          o.Dir,
		months:       o.Months,
		fileRows:     o.FileRows,
		rowGroupRows: o.RowGroupRows,
		workers:      o.Workers,
		codec:        o.Compression,
		encryption:   o.Encryption,
		progress:     o.Progress,
	}
	start := o.Start
	if start.IsZero() {
		start = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	c.startYear, c.startMonth = start.Year(), int(start.Month())
	if c.months == 0 {
		c.months = defaultMonths
	}
	if c.fileRows == 0 {
		c.fileRows = defaultFileRows
	}
	if c.rowGroupRows == 0 {
		c.rowGroupRows = defaultRowGroupRows
	}
	if c.workers == 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	if c.codec == compress.Codecs.Uncompressed {
		c.codec = compress.Codecs.Snappy
	}

	var errs []error
	bad := func(field, want string, got any) {
		errs = append(errs, &OptionError{Field: field, Want: want, Got: fmt.Sprint(got)})
	}
	if c.rows <= 0 {
		bad("Rows", "> 0", c.rows)
	}
	if c.dir == "" {
		bad("Dir", "a directory path", `""`)
	}
	if c.months < 1 || c.months > maxMonths {
		bad("Months", fmt.Sprintf("1..%d (0 for %d)", maxMonths, defaultMonths), c.months)
	}
	// The partition path is year=YYYY: four digits for every month covered.
	if c.startYear < 1 || c.months >= 1 && c.startYear+(c.startMonth-1+c.months-1)/12 > 9999 {
		bad("Start", "a month whose range stays within years 0001-9999", start.Format("2006-01"))
	}
	if c.fileRows < 1 {
		bad("FileRows", "> 0", c.fileRows)
	}
	if c.rowGroupRows < 1 || c.rowGroupRows > maxRowGroupRows {
		bad("RowGroupRows", fmt.Sprintf("1..%d", maxRowGroupRows), c.rowGroupRows)
	}
	if c.workers < 1 || c.workers > maxWorkers {
		bad("Workers", fmt.Sprintf("1..%d (0 for GOMAXPROCS)", maxWorkers), c.workers)
	}
	if _, err := compress.GetCodec(c.codec); err != nil {
		bad("Compression", "a codec arrow-go can write", c.codec)
	}
	if c.rows > 0 && c.fileRows > 0 && (c.rows-1)/c.fileRows+1 > maxFiles {
		// Per-month rounding can add up to Months-1 files in total, but no
		// partition gets more than this many, so part-NNNNN stays 5 digits.
		bad("FileRows", fmt.Sprintf(">= Rows/%d", maxFiles), c.fileRows)
	}
	if c.rowGroupRows > c.fileRows && c.fileRows >= 1 {
		// Not an error: a row group cannot outgrow its file.
		c.rowGroupRows = c.fileRows
	}
	return c, errors.Join(errs...)
}
