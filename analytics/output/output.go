// Package output writes query results (an Arrow array.RecordReader) as a
// terminal table, CSV, JSON (an array of objects, or NDJSON) or Parquet,
// optionally with Parquet Modular Encryption.
//
// [WriteFile] picks the format from the file extension and writes
// atomically (a temporary file in the same directory, synced, then renamed),
// so a failed or interrupted write never leaves a partial result under the
// final name.
//
// What it does not do: it does not encrypt CSV or JSON (write those to an
// encrypted volume), and it does not choose keys: Parquet encryption
// properties come from the caller.
package output

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Format is an output format.
type Format int

// Formats. Do not reorder: the zero value is Invalid.
const (
	Invalid Format = iota
	Table
	CSV
	JSON
	NDJSON
	Parquet
)

func (f Format) String() string {
	switch f {
	case Table:
		return "table"
	case CSV:
		return "csv"
	case JSON:
		return "json"
	case NDJSON:
		return "ndjson"
	case Parquet:
		return "parquet"
	}
	return "invalid"
}

var (
	// ErrUnknownFormat reports a file extension with no format.
	ErrUnknownFormat = errors.New("output: unknown format")
	// ErrEncryptionUnsupported reports encryption asked for a format that
	// cannot carry it.
	ErrEncryptionUnsupported = errors.New("output: encryption is only supported for parquet")
)

// FormatForPath returns the format for a file name by its extension:
// .csv, .json, .ndjson or .parquet (case-insensitive).
func FormatForPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".json":
		return JSON, nil
	case ".ndjson":
		return NDJSON, nil
	case ".parquet":
		return Parquet, nil
	}
	return Invalid, fmt.Errorf("%w: %q: want .csv, .json, .ndjson or .parquet", ErrUnknownFormat, filepath.Ext(path))
}

// Options configures WriteFile.
type Options struct {
	// Encryption, if non-nil, encrypts a Parquet output. It can be used for
	// one file only (arrow-go marks it used). Other formats refuse it.
	Encryption *parquet.FileEncryptionProperties
}

// WriteFile writes rr to path in the format its extension names. The file
// is created with mode 0600 and appears only once complete.
func WriteFile(path string, rr array.RecordReader, opts Options) (err error) {
	f, err := FormatForPath(path)
	if err != nil {
		return err
	}
	if opts.Encryption != nil && f != Parquet {
		return fmt.Errorf("%w: %s", ErrEncryptionUnsupported, f)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	switch f {
	case CSV:
		err = WriteCSV(bw, rr)
	case JSON:
		err = WriteJSON(bw, rr, false)
	case NDJSON:
		err = WriteJSON(bw, rr, true)
	case Parquet:
		err = WriteParquet(bw, rr, opts.Encryption)
	}
	if err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

// cell renders one value for the table and CSV formats.
func cell(a arrow.Array, i int) (string, bool) {
	if a.IsNull(i) {
		return "", false
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.Float64:
		return formatFloat(a.Value(i), 64), true
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32), true
	}
	return a.ValueStr(i), true
}

// formatFloat writes the shortest representation that reads back as v,
// without an exponent in the range people read sums and averages in
// (35850186.59, not 3.585018659e+07).
func formatFloat(v float64, bits int) string {
	if abs := math.Abs(v); abs == 0 || (abs >= 1e-4 && abs < 1e15) {
		return strconv.FormatFloat(v, 'f', -1, bits)
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// WriteTable writes rr as an aligned text table with at most maxRows rows
// (maxRows <= 0: all rows), then a "… K more rows" line for the rest.
// Numbers are right-aligned; NULL is printed as NULL. Control characters
// are escaped so a value cannot move the terminal's cursor.
func WriteTable(w io.Writer, rr array.RecordReader, maxRows int) error {
	sc := rr.Schema()
	ncol := sc.NumFields()
	widths := make([]int, ncol)
	header := make([]string, ncol)
	for j, f := range sc.Fields() {
		header[j] = escape(f.Name)
		widths[j] = utf8.RuneCountInString(header[j])
	}
	var shown [][]string
	var more int64
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			if maxRows > 0 && len(shown) >= maxRows {
				more += rec.NumRows() - int64(i)
				break
			}
			row := make([]string, ncol)
			for j := range ncol {
				s, ok := cell(rec.Column(j), i)
				if !ok {
					s = "NULL"
				}
				row[j] = escape(s)
				widths[j] = max(widths[j], utf8.RuneCountInString(row[j]))
			}
			shown = append(shown, row)
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	var b strings.Builder
	line := func(cells []string) {
		for j, c := range cells {
			if j > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
			if isNumeric(sc.Field(j).Type) {
				b.WriteString(pad + c)
			} else if j == ncol-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + pad)
			}
		}
		b.WriteString("\n")
	}
	line(header)
	seps := make([]string, ncol)
	for j := range seps {
		seps[j] = strings.Repeat("-", widths[j])
	}
	line(seps)
	for _, r := range shown {
		line(r)
	}
	if more > 0 {
		noun := "rows"
		if more == 1 {
			noun = "row"
		}
		fmt.Fprintf(&b, "… %d more %s\n", more, noun)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escape quotes control characters (including ESC) in s.
func escape(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := fmt.Sprintf("%+q", s)
	return strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
}

// WriteCSV writes rr as RFC 4180 CSV with a header row; NULL is an empty
// field.
func WriteCSV(w io.Writer, rr array.RecordReader) error {
	cw := csv.NewWriter(w)
	sc := rr.Schema()
	row := make([]string, sc.NumFields())
	for j, f := range sc.Fields() {
		row[j] = f.Name
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			for j := range row {
				row[j], _ = cell(rec.Column(j), i)
			}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("output: %w", err)
			}
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes rr as a JSON array of objects (one per row, keys in
// column order), or as NDJSON (one object per line) if ndjson is set.
func WriteJSON(w io.Writer, rr array.RecordReader, ndjson bool) error {
	sc := rr.Schema()
	keys := make([][]byte, sc.NumFields())
	for j, f := range sc.Fields() {
		k, err := json.Marshal(f.Name)
		if err != nil {
			return fmt.Errorf("output: %w", err)
		}
		keys[j] = k
	}
	bw := bufio.NewWriter(w)
	first := true
	if !ndjson {
		bw.WriteString("[")
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			if !ndjson {
				if !first {
					bw.WriteString(",")
				}
				bw.WriteString("\n  ")
			}
			first = false
			bw.WriteString("{")
			for j := range keys {
				if j > 0 {
					bw.WriteString(",")
				}
				bw.Write(keys[j])
				bw.WriteString(":")
				v, err := json.Marshal(rec.Column(j).GetOneForMarshal(i))
				if err != nil {
					return fmt.Errorf("output: column %s: %w", sc.Field(j).Name, err)
				}
				bw.Write(v)
			}
			bw.WriteString("}")
			if ndjson {
				bw.WriteString("\n")
			}
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if !ndjson {
		if !first {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	return bw.Flush()
}

// WriteParquet writes rr as a Snappy-compressed Parquet file, encrypted
// with enc if non-nil.
func WriteParquet(w io.Writer, rr array.RecordReader, enc *parquet.FileEncryptionProperties) error {
	opts := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}
	if enc != nil {
		opts = append(opts, parquet.WithEncryptionProperties(enc))
	}
	fw, err := pqarrow.NewFileWriter(rr.Schema(), w, parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("output: parquet: %w", err)
	}
	for rr.Next() {
		if err := fw.WriteBuffered(rr.RecordBatch()); err != nil {
			fw.Close()
			return fmt.Errorf("output: parquet: %w", err)
		}
	}
	if err := rr.Err(); err != nil {
		fw.Close()
		return fmt.Errorf("output: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("output: parquet: %w", err)
	}
	return nil
}
