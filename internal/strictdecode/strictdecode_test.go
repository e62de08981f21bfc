package strictdecode

import (
	"strings"
	"testing"
)

type inner struct {
	Values []string `json:"values"`
}

type doc struct {
	Name  string            `json:"name"`
	Items []inner           `json:"items"`
	Extra map[string]inner  `json:"extra,omitempty"`
	Free  map[string]string `json:"free,omitempty"`
}

func TestDecode(t *testing.T) {
	var d doc
	if err := Decode([]byte("name: a\nitems: [{values: [x]}]\nextra: {k: {values: [yy]}}\nfree: {AnyCase: v}\n"), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "a" || d.Items[0].Values[0] != "x" || d.Extra["k"].Values[0] != "yy" || d.Free["AnyCase"] != "v" {
		t.Fatalf("decoded %+v", d)
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"duplicate yaml key", "name: a\nitems: [{values: [x]}]\nitems: []\n", "already set"},
		{"duplicate json key", `{"name":"a","items":[{"values":["x"]}],"items":[]}`, "already set"},
		{"duplicate nested key", "items: [{values: [x], values: []}]", "already set"},
		{"case variant", "NAME: a", `unknown field "NAME"`},
		{"nested case variant", "items: [{Values: [x]}]", `items[0]: unknown field "Values"`},
		{"unknown in map value", "extra: {k: {valuez: [y]}}", `extra.k: unknown field "valuez"`},
		{"unknown field", "nmae: a", `unknown field "nmae"`},
		{"two documents", "name: a\n---\nname: b\n", "more than one document"},
		{"not yaml", "name: [", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tt.in), &d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("name: a\nitems: [{values: [x]}]\nextra: {k: {values: [yy]}}\n"))
	f.Add([]byte(`{"name":"a","items":[{"values":["x"]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d doc
		_ = Decode(b, &d) // must not panic
	})
}
