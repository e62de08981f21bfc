package delta

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Table is a Delta table in a local directory. It holds the directory open
// as an os.Root, so every log and data file is opened beneath it: a
// symlink or a crafted path in the log cannot reach outside. A Table is
// safe for concurrent use; each Snapshot replays the log afresh.
type Table struct {
	root *os.Root
	dir  string // absolute and clean, to relate absolute file URIs in the log
}

// Open opens the table in dir, the directory that holds _delta_log. It
// fails with ErrNotTable if there is no _delta_log.
func Open(dir string) (*Table, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("delta: open: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("delta: open: %w", err)
	}
	st, err := root.Stat(logDir)
	if err != nil || !st.IsDir() {
		root.Close()
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s directory", ErrNotTable, abs, logDir)
		}
		return nil, fmt.Errorf("delta: open: %w", err)
	}
	return &Table{root: root, dir: abs}, nil
}

// Close releases the table directory.
func (t *Table) Close() error { return t.root.Close() }

// Dir returns the table's absolute directory.
func (t *Table) Dir() string { return t.dir }

// OpenFile opens a data file of the table by its path relative to the table
// directory (AddFile.Path), beneath the table's root.
func (t *Table) OpenFile(path string) (*os.File, error) {
	if reason := checkRelPath(path); reason != "" {
		return nil, &PathError{Path: path, Reason: reason}
	}
	return t.root.Open(filepath.FromSlash(path))
}
