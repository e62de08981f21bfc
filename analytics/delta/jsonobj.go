package delta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// object decodes one JSON object into its members. encoding/json alone
// keeps the last of duplicate keys and matches struct fields without regard
// to case, so {"path":"a","Path":"b"} would mean something else to us than
// to a case-sensitive reader such as Spark's. Here keys are compared
// exactly, a duplicate key is an error, and unknown keys are kept for the
// caller to ignore (newer writers add fields; the protocol gates anything
// that changes meaning behind reader features, which we check).
func object(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON object")
	}
	return m, nil
}

func isNull(v json.RawMessage) bool {
	return v == nil || string(bytes.TrimSpace(v)) == "null"
}

// fields reads typed members of one JSON object, remembering the first
// error, so decoding an action reads as a list of its fields.
type fields struct {
	m   map[string]json.RawMessage
	err error
}

func (f *fields) fail(key string, err error) {
	if f.err == nil {
		f.err = fmt.Errorf("field %q: %w", key, err)
	}
}

// get returns the raw member, or nil when it is absent or null; a missing
// required member is an error.
func (f *fields) get(key string, required bool) json.RawMessage {
	v, ok := f.m[key]
	if !ok || isNull(v) {
		if required {
			f.fail(key, errors.New("missing"))
		}
		return nil
	}
	return v
}

func (f *fields) str(key string, required bool) string {
	v := f.get(key, required)
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.fail(key, errors.New("not a string"))
	}
	return s
}

func (f *fields) int64(key string, required bool) int64 {
	v := f.get(key, required)
	if v == nil {
		return 0
	}
	// Parse the literal ourselves: json.Unmarshal into int64 would accept
	// nothing else either, but this keeps 1e3 and 1.0 out explicitly.
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		f.fail(key, errors.New("not an integer"))
	}
	return n
}

func (f *fields) boolean(key string, required bool) bool {
	v := f.get(key, required)
	if v == nil {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.fail(key, errors.New("not a boolean"))
	}
	return b
}

// strMap reads an object of strings. A null value becomes "", which the
// protocol defines as the null partition value for every type.
func (f *fields) strMap(key string, required bool) map[string]string {
	v := f.get(key, required)
	if v == nil {
		return nil
	}
	m, err := object(v)
	if err != nil {
		f.fail(key, err)
		return nil
	}
	out := make(map[string]string, len(m))
	for k, raw := range m {
		if isNull(raw) {
			out[k] = ""
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			f.fail(key, fmt.Errorf("value of %q is not a string", k))
			return nil
		}
		out[k] = s
	}
	return out
}

func (f *fields) strList(key string, required bool) []string {
	v := f.get(key, required)
	if v == nil {
		return nil
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		f.fail(key, errors.New("not a list of strings"))
		return nil
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// sub reads a nested object.
func (f *fields) sub(key string, required bool) *fields {
	v := f.get(key, required)
	if v == nil {
		return nil
	}
	m, err := object(v)
	if err != nil {
		f.fail(key, err)
		return nil
	}
	return &fields{m: m}
}
