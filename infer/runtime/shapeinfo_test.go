package runtime

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestUnshaped(t *testing.T) {
	scalar := vi{name: "s", elem: onnxFloat, dims: []any{}}
	tests := []struct {
		name    string
		model   []byte
		want    []string
		wantErr bool
	}{
		{"shaped", addModel(), nil, false},
		{"unknown rank", identityModel(), []string{"x", "y"}, false},
		{"scalar is shaped", onnxModel("Identity", []vi{scalar}, []vi{{name: "t", elem: onnxFloat, dims: []any{}}}), nil, false},
		{"truncated", identityModel()[:10], nil, true},
		{"empty", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unshaped(tt.model)
			if tt.wantErr {
				if !errors.Is(err, errProto) {
					t.Fatalf("got %v, want errProto", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tt.want) {
				t.Fatalf("unshaped %v, want %v", names, tt.want)
			}
		})
	}
}

// TestUnknownRank runs a model whose input has no shape: any rank passes
// the checks, up to MaxRank.
func TestUnknownRank(t *testing.T) {
	opts := testOptions(t)
	m, err := loadBytes(t, "id", identityModel(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := m.Inputs()[0].Shape; s != nil {
		t.Fatalf("input shape %v, want nil (unknown rank)", s)
	}
	for _, shape := range [][]int64{{4}, {2, 2}, {1, 2, 2}} {
		in := NewTensor("x", shape, []float32{1, 2, 3, 4})
		out, err := m.Infer(context.Background(), map[string]Tensor{"x": in})
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		if d := diffTensor(out["y"], NewTensor("y", shape, []float32{1, 2, 3, 4}), 0); d != "" {
			t.Fatalf("shape %v: %s", shape, d)
		}
	}
	tooDeep := make([]int64, MaxRank+1)
	for i := range tooDeep {
		tooDeep[i] = 1
	}
	_, err = m.Infer(context.Background(), map[string]Tensor{"x": NewTensor("x", tooDeep, []float32{1})})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Check != "rank" {
		t.Fatalf("got %v, want a rank InputError", err)
	}
}

// FuzzUnshaped checks that the model-graph reader never panics on arbitrary
// bytes (model files are read before ONNX Runtime sees them).
func FuzzUnshaped(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unshaped(b)
		if err != nil && !errors.Is(err, errProto) {
			t.Fatalf("error %v is not errProto", err)
		}
		if err == nil && got == nil {
			t.Fatal("nil map without error")
		}
	})
}
