package manifest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The decoder walks the YAML node tree (JSON is YAML) alongside the Go
// type, so that every problem carries the line of the key or value it is
// about, and so that scalars are resolved by YAML 1.2 rules: `no`, `y`,
// `off` are strings, never booleans, whatever field they land in.
//
// It is strict, because what the coordinator enforces must be what the
// owners read and signed:
//   - unknown fields, and fields written in another case, are refused
//     (encoding/json would match MEASUREMENTS to measurements);
//   - duplicate keys are refused (most decoders keep the last one, so a
//     second `measurements:` further down would silently win);
//   - anchors, aliases and merge keys are refused (a value defined far
//     away and expanded here is not what a reviewer reads, and aliases
//     are the material of expansion bombs);
//   - explicit tags (!!binary, !!str, custom) are refused;
//   - a scalar of the wrong type is refused, never converted: a string
//     field needs a string ("8080", not 8080).

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

type decoder struct {
	problems
	lines lines
}

// parseYAML parses doc as exactly one YAML document.
func parseYAML(doc []byte) (*yaml.Node, *pathProblem) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return nil, &pathProblem{msg: "empty document"}
		}
		return nil, yamlProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlProblem(err)
	default:
		return nil, &pathProblem{msg: fmt.Sprintf("line %d: more than one document", next.Line)}
	}
	return &root, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlProblem turns a YAML syntax error into a problem; the line, if the
// parser gave one, is kept in the message (Parse moves it to Line).
func yamlProblem(err error) *pathProblem {
	return &pathProblem{msg: err.Error()}
}

// syntaxLine extracts the line from a yaml syntax error message.
func syntaxLine(msg string) (int, string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, strings.TrimPrefix(msg, m[0])
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return n, tail
			}
		}
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// decode fills v (a pointer) from the document node.
func (d *decoder) decode(root *yaml.Node, v any) {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) != 1 {
			d.add(nil, "empty document")
			return
		}
		n = n.Content[0]
	}
	d.value(n, reflect.ValueOf(v).Elem(), nil)
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.add(p, "anchors and aliases are not allowed: write the value out")
		return
	}
	if n.Style&yaml.TaggedStyle != 0 {
		d.add(p, fmt.Sprintf("explicit tag %s is not allowed", n.Tag))
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // the zero value; Validate reports it if it is required
	}
	t := v.Type()
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		d.custom(n, v, p)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.value(n, e.Elem(), p)
		v.Set(e)
	case reflect.Struct:
		d.object(n, v, p)
	case reflect.Map:
		d.mapping(n, v, p)
	case reflect.Slice:
		d.sequence(n, v, p)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
			d.add(p, "want a string, got "+describe(n)+quoteHint(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.add(p, "want true or false, got "+describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.add(p, "want true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.add(p, "want an integer, got "+describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.add(p, fmt.Sprintf("integer out of range for %s", t.Kind()))
		}
	default:
		panic("manifest: decoder does not handle " + t.String())
	}
}

// custom decodes types with their own text or JSON form (attest.TEE,
// attest.Hex, appraise.Date…). All of them are strings in the document.
func (d *decoder) custom(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		d.add(p, "want a string, got "+describe(n)+quoteHint(n))
		return
	}
	var err error
	switch u := v.Addr().Interface().(type) {
	case json.Unmarshaler:
		// First, as encoding/json does: appraise.Date has its own
		// UnmarshalJSON and a promoted time.Time UnmarshalText.
		js, _ := json.Marshal(n.Value) // a string always marshals
		err = u.UnmarshalJSON(js)
	case encoding.TextUnmarshaler:
		err = u.UnmarshalText([]byte(n.Value))
	}
	if err != nil {
		d.add(p, err.Error())
	}
}

func (d *decoder) object(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.MappingNode {
		d.add(p, "want a mapping, got "+describe(n))
		return
	}
	fields := jsonFields(v.Type())
	d.pairs(n, p, func(k string, val *yaml.Node, kp fieldPath) {
		i, ok := fields[k]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", k)
			for name := range fields {
				if strings.EqualFold(name, k) {
					msg += fmt.Sprintf(" (field names are case-sensitive: %q)", name)
				}
			}
			d.add(kp, msg)
			return
		}
		d.value(val, v.Field(i), kp)
	})
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.MappingNode {
		d.add(p, "want a mapping, got "+describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic("manifest: decoder handles only string-keyed maps")
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.pairs(n, p, func(k string, val *yaml.Node, kp fieldPath) {
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, kp)
		m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
	})
	v.Set(m)
}

// pairs calls f for each key of a mapping node, refusing keys that are not
// strings and keys seen before.
func (d *decoder) pairs(n *yaml.Node, p fieldPath, f func(k string, val *yaml.Node, kp fieldPath)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, val := n.Content[i], n.Content[i+1]
		// A refused key is reported at its own path, so that it does not
		// hide the problems of its siblings.
		if kn.Kind != yaml.ScalarNode || kn.Anchor != "" || kn.Style&yaml.TaggedStyle != 0 {
			d.addLine(p.key("?"), kn.Line, "keys must be plain strings")
			continue
		}
		if kn.ShortTag() == "!!merge" {
			d.addLine(p.key(kn.Value), kn.Line, "merge keys are not allowed: write the values out")
			continue
		}
		if kn.ShortTag() != "!!str" {
			d.addLine(p.key(kn.Value), kn.Line, fmt.Sprintf("key is %s, not a string%s", describe(kn), quoteHint(kn)))
			continue
		}
		k := kn.Value
		kp := p.key(k)
		if first, dup := seen[k]; dup {
			d.addLine(kp, kn.Line, fmt.Sprintf("duplicate key %q (first on line %d)", k, first))
			continue
		}
		seen[k] = kn.Line
		d.lines[kp.String()] = kn.Line
		f(k, val, kp)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.SequenceNode {
		d.add(p, "want a list, got "+describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := p.at(i)
		d.lines[ip.String()] = item.Line
		d.value(item, s.Index(i), ip)
	}
	v.Set(s)
}

// addLine records a problem whose line is known even though its path
// (a refused key) never enters the line map.
func (d *decoder) addLine(p fieldPath, line int, msg string) {
	d.add(p, msg)
	d.problems.list[len(d.problems.list)-1].line = line
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!timestamp":
			return "a date"
		}
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return " (quote it to make it a string)"
	}
	return ""
}

// jsonFields maps the json names of t's fields to their indices.
func jsonFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = i
	}
	return out
}
