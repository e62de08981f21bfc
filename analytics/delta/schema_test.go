package delta

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestSchemaToArrow(t *testing.T) {
	const s = `{"type":"struct","fields":[
		{"name":"l","type":"long","nullable":false,"metadata":{}},
		{"name":"d","type":"decimal( 38 , 10 )","nullable":true,"metadata":{"comment":"x"}},
		{"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
		{"name":"ntz","type":"timestamp_ntz","nullable":true,"metadata":{}},
		{"name":"a","type":{"type":"array","elementType":"string","containsNull":false},"nullable":true,"metadata":{}},
		{"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"struct","fields":[{"name":"x","type":"date","nullable":true}]},"valueContainsNull":true},"nullable":true,"metadata":{}}
	]}`
	d, err := parseSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	got := d.arrowSchema()
	val := arrow.MapOf(arrow.BinaryTypes.String, arrow.StructOf(arrow.Field{Name: "x", Type: arrow.FixedWidthTypes.Date32, Nullable: true}))
	want := arrow.NewSchema([]arrow.Field{
		{Name: "l", Type: arrow.PrimitiveTypes.Int64},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ntz", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "a", Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String}), Nullable: true},
		{Name: "m", Type: val, Nullable: true},
	}, nil)
	if !got.Equal(want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	// And back: Arrow → Delta → Arrow is stable.
	back, ntz, err := schemaString(got)
	if err != nil || !ntz {
		t.Fatalf("schemaString: %v, ntz %v", err, ntz)
	}
	d2, err := parseSchema(back)
	if err != nil || !d2.arrowSchema().Equal(want) {
		t.Errorf("round trip: %v\n%s", err, back)
	}
}

func TestSchemaRefusals(t *testing.T) {
	field := func(typ string) string {
		return `{"type":"struct","fields":[{"name":"f","type":` + typ + `,"nullable":true,"metadata":{}}]}`
	}
	deep := `"long"`
	for range maxSchemaDepth + 1 {
		deep = `{"type":"array","elementType":` + deep + `,"containsNull":true}`
	}
	tests := []struct{ name, schema, reason string }{
		{"not json", `{`, "bad type"},
		{"top level primitive", `"long"`, "top level is not a struct"},
		{"top level array", `{"type":"array","elementType":"long","containsNull":true}`, "top level is not a struct"},
		{"unknown primitive", field(`"variant"`), `unsupported type "variant"`},
		{"unknown nested", field(`{"type":"udt"}`), `unsupported type "udt"`},
		{"decimal precision", field(`"decimal(39,0)"`), "out of range"},
		{"decimal scale", field(`"decimal(5,6)"`), "out of range"},
		{"decimal negative scale", field(`"decimal(5,-1)"`), "unsupported type"},
		{"no nullable", `{"type":"struct","fields":[{"name":"f","type":"long"}]}`, `"nullable": missing`},
		{"empty name", `{"type":"struct","fields":[{"name":"","type":"long","nullable":true}]}`, "empty field name"},
		{"duplicate field", `{"type":"struct","fields":[{"name":"f","type":"long","nullable":true},{"name":"f","type":"long","nullable":true}]}`, "duplicate field name"},
		{"duplicate key", `{"type":"struct","fields":[{"name":"f","name":"g","type":"long","nullable":true}]}`, "duplicate key"},
		{"struct without fields", field(`{"type":"struct"}`), "without a fields list"},
		{"array without containsNull", field(`{"type":"array","elementType":"long"}`), `"containsNull": missing`},
		{"map without value", field(`{"type":"map","keyType":"string","valueContainsNull":true}`), "bad type"},
		{"too deep", field(deep), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSchema(tt.schema)
			var se *SchemaError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("got %v, want a SchemaError containing %q", err, tt.reason)
			}
		})
	}
}
