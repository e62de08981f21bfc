package delta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Snapshot is the state of a table at one version.
type Snapshot struct {
	Version  int64
	Protocol Protocol
	Metadata Metadata
	Files    []AddFile // live files, sorted by Path

	schema *dtype
	txns   map[string]int64
}

// Schema returns the table schema as Arrow: Delta timestamp becomes
// timestamp[us, UTC], timestamp_ntz timestamp[us], decimal(p,s)
// decimal128(p,s), and struct, array and map their Arrow counterparts.
// Partition columns are part of it, as in Delta (data files usually lack
// them).
func (s *Snapshot) Schema() (*arrow.Schema, error) {
	return s.schema.arrowSchema(), nil
}

// AppVersion returns the latest version an application recorded with a
// txn action (for idempotent writes), and whether it recorded any.
func (s *Snapshot) AppVersion(appID string) (int64, bool) {
	v, ok := s.txns[appID]
	return v, ok
}

// Snapshot rebuilds the table at version (a negative version means the
// latest). A version past the latest, or one whose commits were cleaned up
// without a checkpoint to start from, gives ErrVersionNotFound.
func (t *Table) Snapshot(ctx context.Context, version int64) (*Snapshot, error) {
	l, err := t.list()
	if err != nil {
		return nil, err
	}
	latest := l.latest()
	if version < 0 {
		version = latest
	}
	if version > latest {
		return nil, fmt.Errorf("%w: version %d, latest is %d", ErrVersionNotFound, version, latest)
	}
	lc, haveLC, err := t.readLastCheckpoint()
	if err != nil {
		return nil, err
	}
	// The newest complete checkpoint at or below version.
	var cp checkpoint
	start := int64(-1)
	for v := range l.checkpoints {
		if v > version || v <= start {
			continue
		}
		want := 0
		if haveLC && lc.version == v {
			want = lc.parts
		}
		if c, ok := l.complete(v, want); ok {
			cp, start = c, v
		}
	}
	// Every commit after it must be there; the log has no gaps.
	for v := start + 1; v <= version; v++ {
		if !l.commits[v] {
			for v2 := range l.v2 {
				if v2 <= version && v2 > start {
					return nil, &UnsupportedFeatureError{Feature: "v2Checkpoint", Detail: fmt.Sprintf("version %d needs the v2 checkpoint at %d", version, v2)}
				}
			}
			return nil, fmt.Errorf("%w: version %d cannot be rebuilt: commit %d is missing and no checkpoint covers it", ErrVersionNotFound, version, v)
		}
	}

	r := replay{files: map[string]AddFile{}, txns: map[string]int64{}}
	budget := maxActions
	for _, name := range cp.files {
		err := t.readCheckpoint(ctx, name, &budget, func(a action) error { return r.apply(a, true) })
		if err != nil {
			return nil, err
		}
	}
	for v := start + 1; v <= version; v++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := commitName(v)
		data, err := readLimited(t, name, maxCommitFileSize)
		if err != nil {
			return nil, fmt.Errorf("delta: read commit %d: %w", v, err)
		}
		actions, err := parseCommit(data, name, t.dir, &budget)
		if err != nil {
			return nil, err
		}
		for _, a := range actions {
			if err := r.apply(a, false); err != nil {
				return nil, fmt.Errorf("delta: %s: %w", name, err)
			}
		}
	}
	return r.snapshot(version)
}

// replay accumulates the table state, action by action.
type replay struct {
	protocol *Protocol
	meta     *Metadata
	files    map[string]AddFile
	txns     map[string]int64
}

// apply reconciles one action: the latest protocol, metaData and txn (per
// application) win; an add makes its path live, a remove drops it. In a
// checkpoint, removes are tombstones kept for VACUUM and change nothing.
func (r *replay) apply(a action, fromCheckpoint bool) error {
	switch a.kind {
	case actAdd:
		r.files[a.add.Path] = a.add
	case actRemove:
		if !fromCheckpoint {
			delete(r.files, a.add.Path)
		}
	case actMetadata:
		r.meta = a.meta
	case actProtocol:
		r.protocol = a.protocol
	case actTxn:
		r.txns[a.appID] = a.appVer
	case actIgnored:
	default:
		return fmt.Errorf("invalid action kind %d", a.kind)
	}
	return nil
}

func (r *replay) snapshot(version int64) (*Snapshot, error) {
	if r.protocol == nil || r.meta == nil {
		return nil, fmt.Errorf("delta: version %d: log has no protocol or no metaData action", version)
	}
	schema, err := parseSchema(r.meta.SchemaString)
	if err != nil {
		return nil, err
	}
	if err := checkReadable(*r.protocol, *r.meta, schema); err != nil {
		return nil, err
	}
	s := &Snapshot{
		Version:  version,
		Protocol: *r.protocol,
		Metadata: *r.meta,
		Files:    make([]AddFile, 0, len(r.files)),
		schema:   schema,
		txns:     r.txns,
	}
	for _, f := range r.files {
		if err := checkPartitionValues(f, r.meta.PartitionColumns); err != nil {
			return nil, err
		}
		s.Files = append(s.Files, f)
	}
	slices.SortFunc(s.Files, func(a, b AddFile) int { return strings.Compare(a.Path, b.Path) })
	return s, nil
}

// checkPartitionValues requires a file's partition values to name exactly
// the table's partition columns, so a reader never has to guess a value.
func checkPartitionValues(f AddFile, cols []string) error {
	if len(f.PartitionValues) != len(cols) {
		return fmt.Errorf("delta: file %q: %d partition values for %d partition columns", f.Path, len(f.PartitionValues), len(cols))
	}
	for _, c := range cols {
		if _, ok := f.PartitionValues[c]; !ok {
			return fmt.Errorf("delta: file %q: no value for partition column %q", f.Path, c)
		}
	}
	return nil
}

// supportedReaderFeatures are the reader features of protocol version 3 we
// implement. timestampNtz only adds a schema type, which Schema maps;
// vacuumProtocolCheck only constrains VACUUM; columnMapping is harmless
// while its mode is none (checked separately).
var supportedReaderFeatures = map[string]bool{
	"timestampNtz":        true,
	"vacuumProtocolCheck": true,
	"columnMapping":       true,
}

// checkReadable refuses a table we would misread, naming every reason.
func checkReadable(p Protocol, m Metadata, schema *dtype) error {
	var errs []error
	switch {
	case p.MinReaderVersion > 3:
		errs = append(errs, &UnsupportedFeatureError{Feature: fmt.Sprintf("readerVersion %d", p.MinReaderVersion), Detail: "reader versions up to 3 are supported"})
	case p.MinReaderVersion == 3:
		for _, f := range p.ReaderFeatures {
			if !supportedReaderFeatures[f] {
				errs = append(errs, &UnsupportedFeatureError{Feature: f, Detail: "reader feature"})
			}
		}
	}
	// Column mapping (reader version 2, or the columnMapping feature)
	// renames columns in the data files; reading them by logical name would
	// find nothing or the wrong column.
	if mode, ok := m.Configuration["delta.columnMapping.mode"]; ok && mode != "none" {
		errs = append(errs, &UnsupportedFeatureError{Feature: "columnMapping", Detail: "mode " + mode})
	}
	seen := map[string]bool{}
	for _, c := range m.PartitionColumns {
		if seen[c] {
			errs = append(errs, &SchemaError{Field: c, Reason: "partition column listed twice"})
		}
		seen[c] = true
		if !slices.ContainsFunc(schema.fields, func(f field) bool { return f.name == c && f.typ.prim != "" }) {
			errs = append(errs, &SchemaError{Field: c, Reason: "partition column is not a top-level primitive column of the schema"})
		}
	}
	return errors.Join(errs...)
}
