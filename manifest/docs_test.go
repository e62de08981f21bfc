package manifest

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/appraise"
)

// TestSchema checks that docs/manifest.schema.json is valid JSON and that
// each object it describes lists exactly the fields of the Go type.
func TestSchema(t *testing.T) {
	b, err := os.ReadFile("../docs/manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("schema is not valid JSON: %v", err)
	}
	defs := schema["$defs"].(map[string]any)
	props := func(node any, path ...string) []string {
		for _, p := range path {
			node = node.(map[string]any)[p]
		}
		var keys []string
		for k := range node.(map[string]any)["properties"].(map[string]any) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	tests := []struct {
		name   string
		typ    reflect.Type
		schema []string
	}{
		{"manifest", reflect.TypeFor[Manifest](), props(schema)},
		{"owner", reflect.TypeFor[Owner](), props(schema, "properties", "owners", "additionalProperties")},
		{"package", reflect.TypeFor[Package](), props(defs, "package")},
		{"reference", reflect.TypeFor[appraise.Reference](), props(defs, "reference")},
		{"service", reflect.TypeFor[Service](), props(defs, "service")},
		{"host param", reflect.TypeFor[HostParam](), props(defs, "service", "properties", "host_params", "additionalProperties")},
		{"volume", reflect.TypeFor[Volume](), props(defs, "service", "properties", "volumes", "additionalProperties")},
		{"secret", reflect.TypeFor[Secret](), props(defs, "secret")},
		{"import", reflect.TypeFor[Import](), props(defs, "secret", "properties", "import")},
		{"user", reflect.TypeFor[User](), props(schema, "properties", "users", "additionalProperties")},
		{"role", reflect.TypeFor[Role](), props(schema, "properties", "roles", "additionalProperties")},
		{"recovery", reflect.TypeFor[Recovery](), props(schema, "properties", "recovery")},
		{"attestation", reflect.TypeFor[Attestation](), props(schema, "properties", "attestation")},
		{"toleration", reflect.TypeFor[appraise.Toleration](), props(defs, "toleration")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for k := range jsonFields(tt.typ) {
				want = append(want, k)
			}
			slices.Sort(want)
			if !slices.Equal(tt.schema, want) {
				t.Errorf("schema properties %v, Go fields %v", tt.schema, want)
			}
		})
	}
}

// TestDocExample checks that the example in docs/manifest.md is the full
// valid example and parses.
func TestDocExample(t *testing.T) {
	md, err := os.ReadFile("../docs/manifest.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "## Example")
	if !ok {
		t.Fatal("docs/manifest.md has no Example section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block in the Example section")
	}
	full, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if example != string(full) {
		t.Error("the example in docs/manifest.md differs from testdata/valid/full.yaml")
	}
	if _, err := Parse("manifest.md", []byte(example)); err != nil {
		t.Fatal(err)
	}
}
