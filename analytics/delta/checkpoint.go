package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// checkpointColumns are the top-level checkpoint columns we read: the
// actions that make a snapshot, and the v2 ones we must notice to refuse.
var checkpointColumns = map[string]bool{
	"add": true, "remove": true, "metaData": true, "protocol": true, "txn": true,
	"checkpointMetadata": true, "sidecar": true,
}

// skippedChildren are columns of add we never read: parsed statistics and
// partition values (typed copies of the JSON ones, in plaintext; we neither
// need nor want them in memory).
var skippedChildren = map[string]bool{"stats_parsed": true, "partitionValues_parsed": true}

// readCheckpoint replays every row of one checkpoint part through emit. Each
// row is rendered as a one-action JSON line and decoded by parseAction, so
// JSON commits and Parquet checkpoints go through the same checks.
func (t *Table) readCheckpoint(ctx context.Context, name string, budget *int, emit func(action) error) (err error) {
	f, err := t.root.Open(name)
	if err != nil {
		return fmt.Errorf("delta: open checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("delta: stat checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return &LogError{File: name, Row: -1, Err: errors.New("not a regular file")}
	}
	if st.Size() > maxCheckpointFileSize {
		return &LogError{File: name, Row: -1, Err: fmt.Errorf("%w: %d bytes, max %d", ErrLimit, st.Size(), int64(maxCheckpointFileSize))}
	}
	// arrow-go panics on some malformed Parquet; a checkpoint is untrusted
	// input, so a panic here is a malformed file, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = &LogError{File: name, Row: -1, Err: fmt.Errorf("malformed parquet (reader panicked: %v)", r)}
		}
	}()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		return &LogError{File: name, Row: -1, Err: err}
	}
	defer pr.Close()
	if n := pr.NumRows(); n > int64(*budget) {
		return &LogError{File: name, Row: -1, Err: fmt.Errorf("%w: %d rows, over the action budget", ErrLimit, n)}
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.NewGoAllocator())
	if err != nil {
		return &LogError{File: name, Row: -1, Err: err}
	}
	var leaves []int
	for _, top := range fr.Manifest.Fields {
		if checkpointColumns[top.Field.Name] {
			collectLeaves(top, top.Field.Name == "add", &leaves)
		}
	}
	if len(leaves) == 0 {
		return &LogError{File: name, Row: -1, Err: errors.New("no action columns")}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return &LogError{File: name, Row: -1, Err: err}
	}
	defer rr.Release()
	row := int64(0)
	var buf bytes.Buffer
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i, row = i+1, row+1 {
			if err := ctx.Err(); err != nil {
				return err
			}
			found := 0
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				if col.IsNull(i) {
					continue
				}
				if found++; found > 1 {
					return &LogError{File: name, Row: row, Err: errors.New("more than one action in a row")}
				}
				buf.Reset()
				buf.WriteByte('{')
				writeJSONString(&buf, rec.ColumnName(c))
				buf.WriteByte(':')
				if err := encodeJSON(&buf, col, i, 0); err != nil {
					return &LogError{File: name, Row: row, Err: err}
				}
				buf.WriteByte('}')
				if *budget--; *budget < 0 {
					return &LogError{File: name, Row: row, Err: fmt.Errorf("%w: more than %d actions", ErrLimit, maxActions)}
				}
				a, err := parseAction(buf.Bytes(), t.dir)
				if err != nil {
					return &LogError{File: name, Row: row, Err: err}
				}
				if err := emit(a); err != nil {
					return err
				}
			}
		}
	}
	if err := rr.Err(); err != nil {
		return &LogError{File: name, Row: -1, Err: err}
	}
	return nil
}

func collectLeaves(f pqarrow.SchemaField, isAdd bool, out *[]int) {
	if f.IsLeaf() {
		*out = append(*out, f.ColIndex)
		return
	}
	for _, c := range f.Children {
		if isAdd && skippedChildren[c.Field.Name] {
			continue
		}
		collectLeaves(c, false, out)
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}

// encodeJSON renders value i of arr as JSON: structs and string-keyed maps
// as objects (null members left out), lists as arrays. Only the types the
// checkpoint schema uses are handled; anything else is an error.
func encodeJSON(buf *bytes.Buffer, arr arrow.Array, i, depth int) error {
	if depth > maxSchemaDepth {
		return errors.New("checkpoint value nested too deeply")
	}
	if arr.IsNull(i) {
		buf.WriteString("null")
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		writeJSONString(buf, a.Value(i))
	case *array.LargeString:
		writeJSONString(buf, a.Value(i))
	case *array.Boolean:
		buf.WriteString(strconv.FormatBool(a.Value(i)))
	case *array.Int32:
		buf.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int64:
		buf.WriteString(strconv.FormatInt(a.Value(i), 10))
	case *array.Int16:
		buf.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int8:
		buf.WriteString(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		buf.WriteByte('{')
		first := true
		for k := 0; k < a.NumField(); k++ {
			child := a.Field(k)
			if child.IsNull(i) {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeJSONString(buf, st.Field(k).Name)
			buf.WriteByte(':')
			if err := encodeJSON(buf, child, i, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, ok := a.Keys().(*array.String)
		if !ok {
			return fmt.Errorf("map with %s keys", a.Keys().DataType())
		}
		buf.WriteByte('{')
		for k := start; k < end; k++ {
			if k > start {
				buf.WriteByte(',')
			}
			if keys.IsNull(int(k)) {
				return errors.New("map with a null key")
			}
			writeJSONString(buf, keys.Value(int(k)))
			buf.WriteByte(':')
			if err := encodeJSON(buf, a.Items(), int(k), depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case *array.List:
		start, end := a.ValueOffsets(i)
		buf.WriteByte('[')
		for k := start; k < end; k++ {
			if k > start {
				buf.WriteByte(',')
			}
			if err := encodeJSON(buf, a.ListValues(), int(k), depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		return fmt.Errorf("unexpected checkpoint type %s", arr.DataType())
	}
	return nil
}
