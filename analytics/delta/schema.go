package delta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// dtype is a parsed Delta data type (PROTOCOL.md, "Schema Serialization
// Format"): a primitive name, or a struct, array or map.
type dtype struct {
	prim string // "long", "decimal", ...; "" for nested types

	precision, scale int32 // decimal

	fields []field // struct

	elem         *dtype // array
	containsNull bool

	key, value        *dtype // map
	valueContainsNull bool
}

type field struct {
	name     string
	typ      *dtype
	nullable bool
	metadata map[string]json.RawMessage
}

var decimalType = regexp.MustCompile(`^decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$`)

// primitives lists the Delta primitive types we map to Arrow. Anything else
// (variant, interval, void, ...) is refused rather than guessed.
var primitives = map[string]arrow.DataType{
	"string":        arrow.BinaryTypes.String,
	"long":          arrow.PrimitiveTypes.Int64,
	"integer":       arrow.PrimitiveTypes.Int32,
	"short":         arrow.PrimitiveTypes.Int16,
	"byte":          arrow.PrimitiveTypes.Int8,
	"float":         arrow.PrimitiveTypes.Float32,
	"double":        arrow.PrimitiveTypes.Float64,
	"boolean":       arrow.FixedWidthTypes.Boolean,
	"binary":        arrow.BinaryTypes.Binary,
	"date":          arrow.FixedWidthTypes.Date32,
	"timestamp":     &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
	"timestamp_ntz": &arrow.TimestampType{Unit: arrow.Microsecond},
}

// parseSchema parses a schemaString; the top level must be a struct.
func parseSchema(s string) (*dtype, error) {
	if len(s) > maxSchemaLength {
		return nil, &SchemaError{Reason: fmt.Sprintf("%d bytes, max %d", len(s), maxSchemaLength)}
	}
	t, err := parseType(json.RawMessage(s), "", 0)
	if err != nil {
		return nil, err
	}
	if t.prim != "" || t.fields == nil {
		return nil, &SchemaError{Reason: "top level is not a struct"}
	}
	return t, nil
}

func parseType(raw json.RawMessage, at string, depth int) (*dtype, error) {
	if depth > maxSchemaDepth {
		return nil, &SchemaError{Field: at, Reason: fmt.Sprintf("nested deeper than %d", maxSchemaDepth)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, &SchemaError{Field: at, Reason: "bad type name"}
		}
		if _, ok := primitives[name]; ok {
			return &dtype{prim: name}, nil
		}
		if m := decimalType.FindStringSubmatch(name); m != nil {
			p, _ := strconv.Atoi(m[1])
			s, _ := strconv.Atoi(m[2])
			if p < 1 || p > 38 || s > p {
				return nil, &SchemaError{Field: at, Reason: "decimal precision/scale out of range: " + name}
			}
			return &dtype{prim: "decimal", precision: int32(p), scale: int32(s)}, nil
		}
		return nil, &SchemaError{Field: at, Reason: "unsupported type " + strconv.Quote(name)}
	}
	m, err := object(raw)
	if err != nil {
		return nil, &SchemaError{Field: at, Reason: "bad type: " + err.Error()}
	}
	f := &fields{m: m}
	kind := f.str("type", true)
	if f.err != nil {
		return nil, &SchemaError{Field: at, Reason: f.err.Error()}
	}
	t := &dtype{}
	switch kind {
	case "struct":
		var list []json.RawMessage
		if err := json.Unmarshal(f.get("fields", true), &list); err != nil || f.err != nil {
			return nil, &SchemaError{Field: at, Reason: "struct without a fields list"}
		}
		t.fields = make([]field, 0, len(list))
		seen := map[string]bool{}
		for _, fr := range list {
			fd, err := parseField(fr, at, depth)
			if err != nil {
				return nil, err
			}
			if seen[fd.name] {
				return nil, &SchemaError{Field: join(at, fd.name), Reason: "duplicate field name"}
			}
			seen[fd.name] = true
			t.fields = append(t.fields, fd)
		}
	case "array":
		if t.elem, err = parseType(f.get("elementType", true), join(at, "element"), depth+1); err != nil {
			return nil, err
		}
		t.containsNull = f.boolean("containsNull", true)
	case "map":
		if t.key, err = parseType(f.get("keyType", true), join(at, "key"), depth+1); err != nil {
			return nil, err
		}
		if t.value, err = parseType(f.get("valueType", true), join(at, "value"), depth+1); err != nil {
			return nil, err
		}
		t.valueContainsNull = f.boolean("valueContainsNull", true)
	default:
		return nil, &SchemaError{Field: at, Reason: "unsupported type " + strconv.Quote(kind)}
	}
	if f.err != nil {
		return nil, &SchemaError{Field: at, Reason: f.err.Error()}
	}
	return t, nil
}

func parseField(raw json.RawMessage, at string, depth int) (field, error) {
	m, err := object(raw)
	if err != nil {
		return field{}, &SchemaError{Field: at, Reason: "bad field: " + err.Error()}
	}
	f := &fields{m: m}
	fd := field{name: f.str("name", true), nullable: f.boolean("nullable", true)}
	if f.err != nil {
		return field{}, &SchemaError{Field: at, Reason: f.err.Error()}
	}
	if fd.name == "" {
		return field{}, &SchemaError{Field: at, Reason: "empty field name"}
	}
	if md := f.get("metadata", false); md != nil {
		if fd.metadata, err = object(md); err != nil {
			return field{}, &SchemaError{Field: join(at, fd.name), Reason: "bad metadata: " + err.Error()}
		}
	}
	fd.typ, err = parseType(f.get("type", true), join(at, fd.name), depth+1)
	if err != nil {
		return field{}, err
	}
	return fd, nil
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// arrowSchema converts a parsed top-level struct to an Arrow schema.
func (t *dtype) arrowSchema() *arrow.Schema {
	fs := make([]arrow.Field, len(t.fields))
	for i, f := range t.fields {
		fs[i] = arrow.Field{Name: f.name, Type: f.typ.arrow(), Nullable: f.nullable}
	}
	return arrow.NewSchema(fs, nil)
}

func (t *dtype) arrow() arrow.DataType {
	switch {
	case t.prim == "decimal":
		return &arrow.Decimal128Type{Precision: t.precision, Scale: t.scale}
	case t.prim != "":
		return primitives[t.prim]
	case t.elem != nil:
		return arrow.ListOfField(arrow.Field{Name: "element", Type: t.elem.arrow(), Nullable: t.containsNull})
	case t.key != nil:
		m := arrow.MapOf(t.key.arrow(), t.value.arrow())
		m.SetItemNullable(t.valueContainsNull)
		return m
	default:
		return arrow.StructOf(t.arrowSchema().Fields()...)
	}
}

// walk calls fn for every field, nested ones included, with its dotted path.
func (t *dtype) walk(at string, fn func(path string, f field)) {
	switch {
	case t.fields != nil:
		for _, f := range t.fields {
			p := join(at, f.name)
			fn(p, f)
			f.typ.walk(p, fn)
		}
	case t.elem != nil:
		t.elem.walk(join(at, "element"), fn)
	case t.key != nil:
		t.key.walk(join(at, "key"), fn)
		t.value.walk(join(at, "value"), fn)
	}
}

// Delta schema JSON, for writing.
type jsonField struct {
	Name     string         `json:"name"`
	Type     any            `json:"type"`
	Nullable bool           `json:"nullable"`
	Metadata map[string]any `json:"metadata"`
}

type jsonStruct struct {
	Type   string      `json:"type"` // "struct"
	Fields []jsonField `json:"fields"`
}

type jsonArray struct {
	Type         string `json:"type"` // "array"
	ElementType  any    `json:"elementType"`
	ContainsNull bool   `json:"containsNull"`
}

type jsonMap struct {
	Type              string `json:"type"` // "map"
	KeyType           any    `json:"keyType"`
	ValueType         any    `json:"valueType"`
	ValueContainsNull bool   `json:"valueContainsNull"`
}

// schemaString converts an Arrow schema to a Delta schemaString. It also
// reports whether the schema uses timestamp_ntz, which needs the
// timestampNtz table feature.
func schemaString(s *arrow.Schema) (string, bool, error) {
	ntz := false
	st, err := fromArrowFields(s.Fields(), "", 0, &ntz)
	if err != nil {
		return "", false, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", false, err
	}
	return string(b), ntz, nil
}

func fromArrowFields(fs []arrow.Field, at string, depth int, ntz *bool) (jsonStruct, error) {
	st := jsonStruct{Type: "struct", Fields: make([]jsonField, 0, len(fs))}
	seen := map[string]bool{}
	for _, f := range fs {
		p := join(at, f.Name)
		if f.Name == "" {
			return st, &SchemaError{Field: p, Reason: "empty field name"}
		}
		if seen[f.Name] {
			return st, &SchemaError{Field: p, Reason: "duplicate field name"}
		}
		seen[f.Name] = true
		t, err := fromArrow(f.Type, p, depth+1, ntz)
		if err != nil {
			return st, err
		}
		st.Fields = append(st.Fields, jsonField{Name: f.Name, Type: t, Nullable: f.Nullable, Metadata: map[string]any{}})
	}
	return st, nil
}

func fromArrow(t arrow.DataType, at string, depth int, ntz *bool) (any, error) {
	if depth > maxSchemaDepth {
		return nil, &SchemaError{Field: at, Reason: fmt.Sprintf("nested deeper than %d", maxSchemaDepth)}
	}
	switch t := t.(type) {
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.Int8Type:
		return "byte", nil
	case *arrow.Int16Type:
		return "short", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int64Type:
		return "long", nil
	case *arrow.Float32Type:
		return "float", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.StringType, *arrow.LargeStringType:
		return "string", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return "binary", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.TimestampType:
		// Delta timestamps are microseconds. Accepting another unit would
		// record a schema the data files do not match.
		if t.Unit != arrow.Microsecond {
			return nil, &SchemaError{Field: at, Reason: "timestamp unit " + t.Unit.String() + ", Delta needs us"}
		}
		if t.TimeZone == "" {
			*ntz = true
			return "timestamp_ntz", nil
		}
		return "timestamp", nil
	case *arrow.Decimal128Type:
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, &SchemaError{Field: at, Reason: "decimal precision/scale out of range"}
		}
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.StructType:
		return fromArrowFields(t.Fields(), at, depth, ntz)
	case *arrow.ListType:
		return arrayFromArrow(t.ElemField(), at, depth, ntz)
	case *arrow.LargeListType:
		return arrayFromArrow(t.ElemField(), at, depth, ntz)
	case *arrow.MapType:
		k, err := fromArrow(t.KeyType(), join(at, "key"), depth+1, ntz)
		if err != nil {
			return nil, err
		}
		v, err := fromArrow(t.ItemType(), join(at, "value"), depth+1, ntz)
		if err != nil {
			return nil, err
		}
		return jsonMap{Type: "map", KeyType: k, ValueType: v, ValueContainsNull: t.ItemField().Nullable}, nil
	}
	return nil, &SchemaError{Field: at, Reason: "Arrow type " + t.String() + " has no Delta equivalent"}
}

func arrayFromArrow(elem arrow.Field, at string, depth int, ntz *bool) (any, error) {
	e, err := fromArrow(elem.Type, join(at, "element"), depth+1, ntz)
	if err != nil {
		return nil, err
	}
	return jsonArray{Type: "array", ElementType: e, ContainsNull: elem.Nullable}, nil
}
