package runtime

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzInputCheck feeds arbitrary shapes and data lengths to the input
// checks, which see caller-controlled values before anything reaches ONNX
// Runtime: they must never panic or overflow, and what they accept must be
// consistent.
func FuzzInputCheck(f *testing.F) {
	shaped := &Model{
		name:   "fuzz",
		inputs: []TensorInfo{{Name: "x", Datatype: FP32, Shape: []int64{-1, 3}}},
		maxIn:  1 << 10,
	}
	unknownRank := &Model{
		name:   "fuzz",
		inputs: []TensorInfo{{Name: "x", Datatype: FP32, Shape: nil}},
		maxIn:  1 << 10,
	}
	f.Fuzz(func(t *testing.T, shapeBytes []byte, n uint16, anyRank bool) {
		m := shaped
		if anyRank {
			m = unknownRank
		}
		var shape []int64
		for len(shapeBytes) >= 8 && len(shape) < 2*MaxRank {
			shape = append(shape, int64(binary.LittleEndian.Uint64(shapeBytes)))
			shapeBytes = shapeBytes[8:]
		}
		err := m.check(map[string]Tensor{"x": NewTensor("x", shape, make([]float32, n))})
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v is not ErrBadInput", err)
			}
			return
		}
		elements := int64(1)
		for _, d := range shape {
			if d < 0 || (d > 0 && elements > m.maxIn/d) {
				t.Fatalf("accepted shape %v", shape)
			}
			elements *= d
		}
		if elements != int64(n) || elements > m.maxIn || len(shape) > MaxRank {
			t.Fatalf("accepted shape %v with %d elements", shape, n)
		}
		if !anyRank && (len(shape) != 2 || shape[1] != 3) {
			t.Fatalf("accepted shape %v for [-1 3]", shape)
		}
	})
}
