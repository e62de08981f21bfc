// Package strictdecode decodes YAML or JSON documents that people write and
// sign — policies, manifests — so that what the parser sees is exactly what
// a reviewer read: duplicate keys, unknown fields, keys that match a field
// only case-insensitively, and trailing documents are all errors.
//
// encoding/json alone accepts the last of duplicate keys and matches field
// names case-insensitively, so `measurements: [..]` followed by
// `measurements: []`, or `MEASUREMENTS:`, would silently change a policy.
package strictdecode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// Decode decodes one YAML or JSON document (JSON is YAML) into v, a
// pointer to a struct whose fields carry json tags.
func Decode(doc []byte, v any) error {
	if err := singleDocument(doc); err != nil {
		return err
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return err
	}
	if err := checkKeys(generic, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return errors.New("more than one document")
	}
	return nil
}

// singleDocument refuses a YAML stream of more than one document: the
// converter would silently keep only the first.
func singleDocument(doc []byte) error {
	dec := yamlv2.NewDecoder(bytes.NewReader(doc))
	var first, second any
	if err := dec.Decode(&first); err != nil && err != io.EOF {
		return err
	}
	if err := dec.Decode(&second); err != io.EOF {
		return errors.New("more than one document")
	}
	return nil
}

// checkKeys walks the decoded document alongside the Go type and refuses
// object keys that are not, to the letter, a field's json name.
func checkKeys(doc any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil // a type error; the json decoder reports it
		}
		if _, custom := reflect.New(t).Interface().(json.Unmarshaler); custom {
			return nil
		}
		fields := jsonFields(t)
		for k, val := range obj {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s: unknown field %q", orRoot(path), k)
			}
			if err := checkKeys(val, ft, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if list, ok := doc.([]any); ok {
			for i, val := range list {
				if err := checkKeys(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if obj, ok := doc.(map[string]any); ok {
			for k, val := range obj {
				if err := checkKeys(val, t.Elem(), join(path, k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			if f.Anonymous {
				for k, v := range jsonFields(f.Type) {
					out[k] = v
				}
				continue
			}
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "document"
	}
	return path
}
