package runtime

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// defaultLib is where `make onnxruntime` puts the library, relative to this
// package's directory.
const defaultLib = "../../bin/onnxruntime/libonnxruntime.so.1"

// testOptions returns Options with the ONNX Runtime library, or skips the
// test when the library is absent (failing instead when
// COFRE_REQUIRE_ONNXRUNTIME=1).
func testOptions(t testing.TB) Options {
	t.Helper()
	lib := os.Getenv(EnvLibrary)
	if lib == "" {
		lib = defaultLib
	}
	if _, err := os.Stat(lib); err != nil {
		msg := fmt.Sprintf("ONNX Runtime library not found (%v): set %s or run `make onnxruntime`", err, EnvLibrary)
		if os.Getenv("COFRE_REQUIRE_ONNXRUNTIME") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	return Options{LibraryPath: abs, IntraOpThreads: 1}
}

// diffTensor describes how got differs from want ("" if equal). Floats
// compare within |got-want| ≤ atol + rtol·|want| with rtol = atol = tol
// (tol 0: exact); NaN equals NaN.
func diffTensor(got, want Tensor, tol float64) string {
	if got.Datatype != want.Datatype {
		return fmt.Sprintf("datatype %v, want %v", got.Datatype, want.Datatype)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	switch w := want.Data.(type) {
	case []float32:
		g := got.Data.([]float32)
		return diffFloats(len(g), len(w), func(i int) (float64, float64) { return float64(g[i]), float64(w[i]) }, tol)
	case []float64:
		g := got.Data.([]float64)
		return diffFloats(len(g), len(w), func(i int) (float64, float64) { return g[i], w[i] }, tol)
	}
	if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
		return fmt.Sprintf("data %v, want %v", abbrev(got.Data), abbrev(want.Data))
	}
	return ""
}

func diffFloats(ng, nw int, at func(int) (float64, float64), tol float64) string {
	if ng != nw {
		return fmt.Sprintf("%d elements, want %d", ng, nw)
	}
	for i := range ng {
		g, w := at(i)
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if math.Abs(g-w) > tol+tol*math.Abs(w) {
			return fmt.Sprintf("element %d: %g, want %g (tolerance %g)", i, g, w, tol)
		}
	}
	return ""
}

func abbrev(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Minimal ONNX ModelProto writer for test models (onnx.proto field numbers).

type vi struct {
	name string
	elem int   // TensorProto.DataType
	dims []any // int64 (dim_value) or string (dim_param)
	// noShape omits the shape field: unknown rank.
	noShape bool
}

func field(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (v vi) encode() []byte {
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		switch d := d.(type) {
		case int64:
			dim = varintField(nil, 1, uint64(d))
		case string:
			dim = field(nil, 2, []byte(d))
		}
		shape = field(shape, 1, dim)
	}
	tensorType := varintField(nil, 1, uint64(v.elem))
	if !v.noShape {
		tensorType = field(tensorType, 2, shape)
	}
	typ := field(nil, 1, tensorType)
	out := field(nil, 1, []byte(v.name))
	return field(out, 2, typ)
}

// onnxModel returns a ModelProto (IR 8, opset 13) with one node.
func onnxModel(op string, inputs, outputs []vi) []byte {
	var node []byte
	for _, in := range inputs {
		node = field(node, 1, []byte(in.name))
	}
	for _, out := range outputs {
		node = field(node, 2, []byte(out.name))
	}
	node = field(node, 4, []byte(op))
	graph := field(nil, 1, node)
	graph = field(graph, 2, []byte("g"))
	for _, in := range inputs {
		graph = field(graph, 11, in.encode())
	}
	for _, out := range outputs {
		graph = field(graph, 12, out.encode())
	}
	opset := field(nil, 1, nil)
	opset = varintField(opset, 2, 13)
	m := varintField(nil, 1, 8)
	m = field(m, 7, graph)
	return field(m, 8, opset)
}

// addModel is c = a + b over FP32 [N, 3].
func addModel() []byte {
	x := func(n string) vi { return vi{name: n, elem: onnxFloat, dims: []any{"N", int64(3)}} }
	return onnxModel("Add", []vi{x("a"), x("b")}, []vi{x("c")})
}

// identityModel is y = x over FP32 of unknown rank.
func identityModel() []byte {
	u := func(n string) vi { return vi{name: n, elem: onnxFloat, noShape: true} }
	return onnxModel("Identity", []vi{u("x")}, []vi{u("y")})
}

// writeRepo writes models into a fresh repository directory.
func writeRepo(t testing.TB, models map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range models {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, ModelFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
