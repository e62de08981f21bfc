package delta

import (
	"bytes"
	"encoding/json"
	"maps"
	"path"
	"reflect"
	"testing"
)

// FuzzCommit fuzzes the JSON action parser on whole commit files. Whatever
// it accepts must be safe to use: data paths clean, relative and inside the
// table; and an accepted add must survive our writer's encoding unchanged
// (parse, marshal, parse).
func FuzzCommit(f *testing.F) {
	f.Add([]byte(cpProtocolJSON + "\n" + cpMetadataJSON + "\n" + jsonAdd("p=a/1.parquet", "a") + "\n"))
	f.Add([]byte(jsonRemove("p=a%20b/1.parquet") + "\n" + `{"txn":{"appId":"x","version":3}}`))
	f.Add([]byte(`{"add":{"path":"file:///t/x%3Ay","partitionValues":{"p":null},"size":0,"modificationTime":0,"dataChange":false,"stats":"{}"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		budget := 1000
		actions, err := parseCommit(data, "f.json", "/t", &budget)
		if err != nil {
			return
		}
		for _, a := range actions {
			if a.kind != actAdd && a.kind != actRemove {
				continue
			}
			p := a.add.Path
			if checkRelPath(p) != "" || p != path.Clean(p) {
				t.Fatalf("accepted unsafe path %q", p)
			}
			if a.kind != actAdd {
				continue
			}
			var buf bytes.Buffer
			writeLine(&buf, "add", map[string]any{
				"path": encodeLogPath(p), "partitionValues": a.add.PartitionValues, "size": a.add.Size,
				"modificationTime": a.add.ModificationTime, "dataChange": a.add.DataChange, "stats": nullable(a.add.Stats),
			})
			again, err := parseAction(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), "/t")
			if err != nil {
				t.Fatalf("re-parse of %s: %v", buf.Bytes(), err)
			}
			g, w := again.add, a.add
			if g.Path != w.Path || g.Size != w.Size || g.ModificationTime != w.ModificationTime || g.DataChange != w.DataChange ||
				!maps.Equal(g.PartitionValues, w.PartitionValues) || (g.Stats != w.Stats && !jsonSame(g.Stats, w.Stats)) {
				t.Fatalf("round trip changed %+v into %+v", w, g)
			}
		}
	})
}

// jsonSame: encoding/json re-escapes strings (e.g. invalid UTF-8), so
// compare stats by value.
func jsonSame(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// FuzzSchema fuzzes the Delta schema parser. An accepted schema must map
// to Arrow and back to the same Arrow schema.
func FuzzSchema(f *testing.F) {
	f.Add(`{"type":"struct","fields":[{"name":"a","type":"long","nullable":true,"metadata":{}}]}`)
	f.Add(`{"type":"struct","fields":[{"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"array","elementType":"decimal(10,2)","containsNull":true},"valueContainsNull":false},"nullable":false,"metadata":{"delta.invariants":"x"}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseSchema(s)
		if err != nil {
			return
		}
		as := d.arrowSchema()
		back, _, err := schemaString(as)
		if err != nil {
			t.Fatalf("accepted schema does not map back: %v", err)
		}
		d2, err := parseSchema(back)
		if err != nil {
			t.Fatalf("our own schema %s does not parse: %v", back, err)
		}
		if !d2.arrowSchema().Equal(as) {
			t.Fatalf("round trip changed %v into %v", as, d2.arrowSchema())
		}
	})
}
