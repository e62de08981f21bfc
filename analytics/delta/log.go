package delta

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

const logDir = "_delta_log"

// checkpoint is one complete classic checkpoint: a single file, or all
// parts of a multi-part one, in part order.
type checkpoint struct {
	version int64
	files   []string // relative to the table
}

// listing is what the names in _delta_log tell.
type listing struct {
	commits     map[int64]bool
	checkpoints map[int64]map[int][]string // version → parts → files by part (1-based, "" = missing)
	v2          map[int64]bool             // versions with a v2 (UUID-named) checkpoint
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &LogError{File: logDir + "/" + s, Row: -1, Err: errors.New("version out of range")}
	}
	return v, nil
}

// classify records one _delta_log entry name. Names that are not commits or
// checkpoints (.crc files, _last_checkpoint, temporary files, compacted
// logs, which are optional) are ignored.
func (l *listing) classify(name string) error {
	if len(name) < 21 || !isDigits(name[:20], 20) || name[20] != '.' {
		return nil
	}
	rest := name[21:]
	switch {
	case rest == "json":
		v, err := parseVersion(name[:20])
		if err != nil {
			return err
		}
		l.commits[v] = true
	case rest == "checkpoint.parquet":
		v, err := parseVersion(name[:20])
		if err != nil {
			return err
		}
		l.addPart(v, 1, 1, name)
	case strings.HasPrefix(rest, "checkpoint."):
		mid := strings.TrimPrefix(rest, "checkpoint.")
		// Multi-part: <part:10 digits>.<parts:10 digits>.parquet.
		if len(mid) == 29 && isDigits(mid[:10], 10) && mid[10] == '.' && isDigits(mid[11:21], 10) && mid[21:] == ".parquet" {
			v, err := parseVersion(name[:20])
			if err != nil {
				return err
			}
			part, _ := strconv.Atoi(mid[:10])
			parts, _ := strconv.Atoi(mid[11:21])
			if parts < 1 || parts > maxCheckpointParts || part < 1 || part > parts {
				return &LogError{File: logDir + "/" + name, Row: -1, Err: errors.New("bad checkpoint part numbers")}
			}
			l.addPart(v, part, parts, name)
			return nil
		}
		if strings.HasSuffix(mid, ".json") || strings.HasSuffix(mid, ".parquet") {
			v, err := parseVersion(name[:20])
			if err != nil {
				return err
			}
			l.v2[v] = true
		}
	}
	return nil
}

func (l *listing) addPart(v int64, part, parts int, name string) {
	byParts := l.checkpoints[v]
	if byParts == nil {
		byParts = map[int][]string{}
		l.checkpoints[v] = byParts
	}
	files := byParts[parts]
	if files == nil {
		files = make([]string, parts)
		byParts[parts] = files
	}
	files[part-1] = logDir + "/" + name
}

// complete returns the complete checkpoint at version v, preferring the
// part count _last_checkpoint names (wantParts, 0 if unknown).
func (l *listing) complete(v int64, wantParts int) (checkpoint, bool) {
	byParts := l.checkpoints[v]
	counts := make([]int, 0, len(byParts))
	for n := range byParts {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if wantParts > 0 {
		// Try the count _last_checkpoint names first.
		counts = append([]int{wantParts}, counts...)
	}
	for _, n := range counts {
		files := byParts[n]
		if files != nil && !slices.Contains(files, "") {
			return checkpoint{version: v, files: files}, true
		}
	}
	return checkpoint{}, false
}

func (t *Table) list() (*listing, error) {
	d, err := t.root.Open(logDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotTable
		}
		return nil, fmt.Errorf("delta: open %s: %w", logDir, err)
	}
	defer d.Close()
	l := &listing{commits: map[int64]bool{}, checkpoints: map[int64]map[int][]string{}, v2: map[int64]bool{}}
	seen := 0
	for {
		names, err := d.Readdirnames(4096)
		for _, n := range names {
			if err := l.classify(n); err != nil {
				return nil, err
			}
		}
		if seen += len(names); seen > maxLogEntries {
			return nil, fmt.Errorf("%w: more than %d entries in %s", ErrLimit, maxLogEntries, logDir)
		}
		if err == io.EOF || (err == nil && len(names) == 0) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("delta: list %s: %w", logDir, err)
		}
	}
	if len(l.commits) == 0 && len(l.checkpoints) == 0 {
		return nil, ErrNotTable
	}
	return l, nil
}

// latest is the newest version the log can be read at.
func (l *listing) latest() int64 {
	v := int64(-1)
	for c := range l.commits {
		v = max(v, c)
	}
	for c := range l.checkpoints {
		if _, ok := l.complete(c, 0); ok {
			v = max(v, c)
		}
	}
	return v
}

// lastCheckpoint is the _last_checkpoint hint.
type lastCheckpoint struct {
	version int64
	parts   int // 0 for a single-file checkpoint
}

// readLastCheckpoint reads _last_checkpoint; ok is false if it is absent.
// It is a hint written after the checkpoint, so a stale one is normal; a
// malformed one is reported, since nothing legitimate writes that.
func (t *Table) readLastCheckpoint() (lastCheckpoint, bool, error) {
	const name = logDir + "/_last_checkpoint"
	data, err := readLimited(t, name, maxLastCheckpointSize)
	if errors.Is(err, fs.ErrNotExist) {
		return lastCheckpoint{}, false, nil
	}
	if err != nil {
		return lastCheckpoint{}, false, err
	}
	m, err := object(data)
	if err != nil {
		return lastCheckpoint{}, false, &LogError{File: name, Row: -1, Err: err}
	}
	f := &fields{m: m}
	lc := lastCheckpoint{version: f.int64("version", true), parts: int(f.int64("parts", false))}
	if f.err != nil {
		return lastCheckpoint{}, false, &LogError{File: name, Row: -1, Err: f.err}
	}
	if lc.version < 0 || lc.parts < 0 || lc.parts > maxCheckpointParts {
		return lastCheckpoint{}, false, &LogError{File: name, Row: -1, Err: errors.New("version or parts out of range")}
	}
	return lc, true, nil
}

// readLimited reads a whole file through the root, refusing one larger
// than limit before reading it.
func readLimited(t *Table, name string, limit int64) ([]byte, error) {
	f, err := t.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &LogError{File: name, Row: -1, Err: errors.New("not a regular file")}
	}
	if st.Size() > limit {
		return nil, &LogError{File: name, Row: -1, Err: fmt.Errorf("%w: %d bytes, max %d", ErrLimit, st.Size(), limit)}
	}
	// Read at most limit+1 bytes: the file may grow after Stat.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &LogError{File: name, Row: -1, Err: fmt.Errorf("%w: more than %d bytes", ErrLimit, limit)}
	}
	return data, nil
}

func commitName(v int64) string {
	return fmt.Sprintf("%s/%020d.json", logDir, v)
}
