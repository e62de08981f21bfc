package delta

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrNotTable means the directory has no _delta_log with a commit.
	ErrNotTable = errors.New("delta: not a delta table")

	// ErrTableExists means Create found a table already there.
	ErrTableExists = errors.New("delta: table already exists")

	// ErrVersionNotFound means the asked version is past the latest one,
	// or can no longer be rebuilt (its commits were cleaned up and no
	// checkpoint covers it).
	ErrVersionNotFound = errors.New("delta: version not found")

	// ErrConflict means another writer committed the version Append was
	// writing. Appends are blind, so the caller may simply retry.
	ErrConflict = errors.New("delta: concurrent commit conflict")

	// ErrLimit means untrusted input exceeded one of the bounds in
	// limits.go.
	ErrLimit = errors.New("delta: limit exceeded")
)

// UnsupportedFeatureError refuses a table that needs a protocol feature this
// package does not implement. Reading (or appending to) such a table without
// the feature would silently give wrong results, e.g. rows a deletion vector
// deleted, or columns under their physical names.
type UnsupportedFeatureError struct {
	Feature string // the Delta feature name, e.g. "deletionVectors"
	Detail  string // why it applies to this table
}

func (e *UnsupportedFeatureError) Error() string {
	if e.Detail == "" {
		return "delta: unsupported feature " + strconv.Quote(e.Feature)
	}
	return "delta: unsupported feature " + strconv.Quote(e.Feature) + ": " + e.Detail
}

// LogError reports malformed log content at its place: a commit file and
// line (Line > 0), a checkpoint file and row (Row >= 0), or a whole file.
type LogError struct {
	File string // path relative to the table, e.g. _delta_log/00000000000000000003.json
	Line int    // 1-based line in a JSON commit; 0 if not applicable
	Row  int64  // 0-based row in a checkpoint; -1 if not applicable
	Err  error
}

func (e *LogError) Error() string {
	// The cause may be one of our own errors; say "delta:" once.
	msg := strings.TrimPrefix(e.Err.Error(), "delta: ")
	switch {
	case e.Line > 0:
		return fmt.Sprintf("delta: %s:%d: %s", e.File, e.Line, msg)
	case e.Row >= 0:
		return fmt.Sprintf("delta: %s: row %d: %s", e.File, e.Row, msg)
	default:
		return fmt.Sprintf("delta: %s: %s", e.File, msg)
	}
}

func (e *LogError) Unwrap() error { return e.Err }

// PathError refuses a data file path: an absolute URI outside the table,
// a scheme other than file, an escape with "..", or an undecodable one.
type PathError struct {
	Path   string // as found in the log (or given to Append)
	Reason string
}

func (e *PathError) Error() string {
	return "delta: path " + strconv.Quote(e.Path) + ": " + e.Reason
}

// SchemaError refuses a schema that cannot be mapped between Delta and
// Arrow. Field is the dotted path of the offending field, if any.
type SchemaError struct {
	Field  string
	Reason string
}

func (e *SchemaError) Error() string {
	if e.Field == "" {
		return "delta: schema: " + e.Reason
	}
	return "delta: schema: field " + strconv.Quote(e.Field) + ": " + e.Reason
}

// unprefixed wraps one of our errors inside a longer message without
// repeating its "delta: " prefix; errors.Is and As still see it.
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), "delta: ") }
func (u unprefixed) Unwrap() error { return u.err }
