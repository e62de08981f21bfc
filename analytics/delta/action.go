package delta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Protocol is the protocol action: the reader and writer versions a client
// needs, and from reader version 3 / writer version 7 the named features.
type Protocol struct {
	MinReaderVersion int32
	MinWriterVersion int32
	ReaderFeatures   []string // nil below reader version 3
	WriterFeatures   []string // nil below writer version 7
}

// Metadata is the metaData action.
type Metadata struct {
	ID               string
	Name             string
	Description      string
	SchemaString     string // the Delta schema as JSON; see Snapshot.Schema
	PartitionColumns []string
	Configuration    map[string]string
	CreatedTime      int64 // milliseconds since the Unix epoch; 0 if unset
}

// AddFile is one live data file of a snapshot (an add action).
type AddFile struct {
	// Path is relative to the table directory, slash-separated, already
	// URI-decoded: what to open, not what the log spells.
	Path string
	// PartitionValues maps every partition column to its value as a
	// string; "" is the null value.
	PartitionValues  map[string]string
	Size             int64 // bytes
	ModificationTime int64 // milliseconds since the Unix epoch
	DataChange       bool
	// Stats is the statistics JSON as found in the log, or "". The
	// package neither computes nor interprets it.
	Stats string
}

type actionKind int

const (
	actInvalid actionKind = iota // do NOT reorder
	actAdd
	actRemove
	actMetadata
	actProtocol
	actTxn
	actIgnored // commitInfo, cdc, domainMetadata: no effect on a snapshot
)

type action struct {
	kind     actionKind
	add      AddFile // add and remove (remove fills Path only)
	meta     *Metadata
	protocol *Protocol
	appID    string // txn
	appVer   int64  // txn
}

// parseAction decodes one log action (a JSON commit line, or a checkpoint
// row rendered as JSON). dir is the table's absolute directory, to turn
// absolute file URIs into relative paths.
func parseAction(line []byte, dir string) (action, error) {
	m, err := object(line)
	if err != nil {
		return action{}, err
	}
	if len(m) != 1 {
		return action{}, fmt.Errorf("want exactly one action per line, got %d keys", len(m))
	}
	for name, raw := range m {
		if isNull(raw) {
			return action{}, fmt.Errorf("action %q is null", name)
		}
		return parseNamed(name, raw, dir)
	}
	panic("unreachable")
}

func parseNamed(name string, raw json.RawMessage, dir string) (action, error) {
	body, err := object(raw)
	if err != nil {
		return action{}, fmt.Errorf("%s: %w", name, unprefixed{err})
	}
	f := &fields{m: body}
	var a action
	switch name {
	case "add":
		a, err = parseAdd(f, dir)
	case "remove":
		a, err = parseRemove(f, dir)
	case "metaData":
		a, err = parseMetadata(f)
	case "protocol":
		a, err = parseProtocol(f)
	case "txn":
		a = action{kind: actTxn, appID: f.str("appId", true), appVer: f.int64("version", true)}
		f.int64("lastUpdated", false)
		err = f.err
	case "commitInfo", "cdc", "domainMetadata":
		// commitInfo is free-form provenance; cdc files matter only to
		// change data feed readers; domainMetadata is writer state.
		a = action{kind: actIgnored}
	case "checkpointMetadata", "sidecar":
		return action{}, &UnsupportedFeatureError{Feature: "v2Checkpoint", Detail: "log holds a " + name + " action"}
	default:
		// Unknown actions come with protocol features we do not know;
		// guessing their meaning could drop or resurrect files.
		return action{}, fmt.Errorf("unknown action %q", name)
	}
	if err != nil {
		return action{}, fmt.Errorf("%s: %w", name, unprefixed{err})
	}
	return a, nil
}

// refuseDeletionVector: a file with a deletion vector has rows that are
// logically deleted; listing it as whole would resurrect them.
func refuseDeletionVector(f *fields) error {
	if f.get("deletionVector", false) != nil {
		return &UnsupportedFeatureError{Feature: "deletionVectors", Detail: "file has a deletion vector"}
	}
	return nil
}

func parseAdd(f *fields, dir string) (action, error) {
	raw := f.str("path", true)
	add := AddFile{
		PartitionValues:  f.strMap("partitionValues", true),
		Size:             f.int64("size", true),
		ModificationTime: f.int64("modificationTime", true),
		DataChange:       f.boolean("dataChange", true),
		Stats:            f.str("stats", false),
	}
	if f.err != nil {
		return action{}, f.err
	}
	if err := refuseDeletionVector(f); err != nil {
		return action{}, err
	}
	if add.Size < 0 {
		return action{}, errors.New(`field "size": negative`)
	}
	if add.Stats != "" && !json.Valid([]byte(add.Stats)) {
		return action{}, errors.New(`field "stats": not valid JSON`)
	}
	p, err := decodeLogPath(raw, dir)
	if err != nil {
		return action{}, err
	}
	add.Path = p
	return action{kind: actAdd, add: add}, nil
}

func parseRemove(f *fields, dir string) (action, error) {
	raw := f.str("path", true)
	f.boolean("dataChange", true)
	f.int64("deletionTimestamp", false)
	f.int64("size", false)
	f.strMap("partitionValues", false)
	if f.err != nil {
		return action{}, f.err
	}
	if err := refuseDeletionVector(f); err != nil {
		return action{}, err
	}
	p, err := decodeLogPath(raw, dir)
	if err != nil {
		return action{}, err
	}
	return action{kind: actRemove, add: AddFile{Path: p}}, nil
}

func parseMetadata(f *fields) (action, error) {
	m := &Metadata{
		ID:               f.str("id", true),
		Name:             f.str("name", false),
		Description:      f.str("description", false),
		SchemaString:     f.str("schemaString", true),
		PartitionColumns: f.strList("partitionColumns", true),
		Configuration:    f.strMap("configuration", false),
		CreatedTime:      f.int64("createdTime", false),
	}
	format := f.sub("format", true)
	if f.err != nil {
		return action{}, f.err
	}
	if provider := format.str("provider", true); format.err != nil {
		return action{}, fmt.Errorf(`field "format": %w`, format.err)
	} else if provider != "parquet" {
		return action{}, fmt.Errorf(`field "format": provider %q, want "parquet"`, provider)
	}
	if m.Configuration == nil {
		m.Configuration = map[string]string{}
	}
	if len(m.SchemaString) > maxSchemaLength {
		return action{}, fmt.Errorf("%w: schemaString of %d bytes, max %d", ErrLimit, len(m.SchemaString), maxSchemaLength)
	}
	return action{kind: actMetadata, meta: m}, nil
}

func parseProtocol(f *fields) (action, error) {
	r, w := f.int64("minReaderVersion", true), f.int64("minWriterVersion", true)
	p := &Protocol{
		ReaderFeatures: f.strList("readerFeatures", false),
		WriterFeatures: f.strList("writerFeatures", false),
	}
	if f.err != nil {
		return action{}, f.err
	}
	if r < 1 || r > 1<<16 || w < 1 || w > 1<<16 {
		return action{}, fmt.Errorf("versions out of range: reader %d, writer %d", r, w)
	}
	p.MinReaderVersion, p.MinWriterVersion = int32(r), int32(w)
	return action{kind: actProtocol, protocol: p}, nil
}

// parseCommit splits a commit file into lines and decodes each, reporting
// errors as file:line. A final newline is optional; blank lines elsewhere
// are malformed.
func parseCommit(data []byte, file, dir string, budget *int) ([]action, error) {
	if len(data) == 0 {
		return nil, &LogError{File: file, Row: -1, Err: errors.New("empty commit")}
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	var out []action
	for n := 1; ; n++ {
		line, rest, more := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > maxLineLength {
			return nil, &LogError{File: file, Line: n, Err: fmt.Errorf("%w: line of %d bytes, max %d", ErrLimit, len(line), maxLineLength)}
		}
		if *budget--; *budget < 0 {
			return nil, &LogError{File: file, Line: n, Err: fmt.Errorf("%w: more than %d actions", ErrLimit, maxActions)}
		}
		a, err := parseAction(line, dir)
		if err != nil {
			return nil, &LogError{File: file, Line: n, Err: err}
		}
		out = append(out, a)
		if !more {
			return out, nil
		}
		data = rest
	}
}
