package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads the ONNX TensorProto messages that carry reference inputs
// and outputs in ONNX test data sets (onnx.proto: TensorProto). Only the
// fields those files use are read: dims (1), data_type (2), float_data (4),
// int32_data (5), int64_data (7), name (8), raw_data (9), double_data (10),
// uint64_data (11). Anything else is skipped or, for data, refused.

// ONNX TensorProto.DataType values (onnx.proto).
const (
	onnxFloat  = 1
	onnxUint8  = 2
	onnxInt8   = 3
	onnxUint16 = 4
	onnxInt16  = 5
	onnxInt32  = 6
	onnxInt64  = 7
	onnxBool   = 9
	onnxDouble = 11
	onnxUint32 = 12
	onnxUint64 = 13
)

var errUnsupportedProto = errors.New("tensorproto: unsupported data type")

// maxProtoElements keeps fuzzed dims from allocating without bound.
const maxProtoElements = 1 << 24

type tensorProto struct {
	name      string
	dims      []int64
	dataType  int64
	floats    []float32
	doubles   []float64
	int32s    []int64 // int32_data holds every narrow integer type and bool
	int64s    []int64
	uint64s   []uint64
	raw       []byte
	hasRaw    bool
	otherData bool // string_data, external_data, segment
}

// parseTensorProto decodes b into a Tensor.
func parseTensorProto(b []byte) (Tensor, error) {
	var p tensorProto
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Tensor{}, fmt.Errorf("tensorproto: tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var err error
		switch {
		case num == 1:
			err = readVarints(&b, typ, func(v uint64) { p.dims = append(p.dims, int64(v)) })
		case num == 2 && typ == protowire.VarintType:
			err = readVarints(&b, typ, func(v uint64) { p.dataType = int64(v) })
		case num == 4:
			err = readFixed32s(&b, typ, func(v uint32) { p.floats = append(p.floats, math.Float32frombits(v)) })
		case num == 5:
			err = readVarints(&b, typ, func(v uint64) { p.int32s = append(p.int32s, int64(int32(v))) })
		case num == 7:
			err = readVarints(&b, typ, func(v uint64) { p.int64s = append(p.int64s, int64(v)) })
		case num == 8 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Tensor{}, fmt.Errorf("tensorproto: name: %w", protowire.ParseError(n))
			}
			p.name, b = string(v), b[n:]
		case num == 9 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Tensor{}, fmt.Errorf("tensorproto: raw_data: %w", protowire.ParseError(n))
			}
			p.raw, p.hasRaw, b = v, true, b[n:]
		case num == 10:
			err = readFixed64s(&b, typ, func(v uint64) { p.doubles = append(p.doubles, math.Float64frombits(v)) })
		case num == 11:
			err = readVarints(&b, typ, func(v uint64) { p.uint64s = append(p.uint64s, v) })
		default:
			if num == 3 || num == 6 || num == 13 || num == 14 {
				p.otherData = true
			}
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Tensor{}, fmt.Errorf("tensorproto: field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
		if err != nil {
			return Tensor{}, fmt.Errorf("tensorproto: field %d: %w", num, err)
		}
	}
	return p.tensor()
}

func readVarints(b *[]byte, typ protowire.Type, f func(uint64)) error {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		f(v)
		*b = (*b)[n:]
		return nil
	case protowire.BytesType:
		packed, n := protowire.ConsumeBytes(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		*b = (*b)[n:]
		for len(packed) > 0 {
			v, n := protowire.ConsumeVarint(packed)
			if n < 0 {
				return protowire.ParseError(n)
			}
			f(v)
			packed = packed[n:]
		}
		return nil
	}
	return fmt.Errorf("wire type %d", typ)
}

func readFixed32s(b *[]byte, typ protowire.Type, f func(uint32)) error {
	switch typ {
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		f(v)
		*b = (*b)[n:]
		return nil
	case protowire.BytesType:
		packed, n := protowire.ConsumeBytes(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if len(packed)%4 != 0 {
			return errors.New("packed fixed32 length not a multiple of 4")
		}
		*b = (*b)[n:]
		for i := 0; i < len(packed); i += 4 {
			f(binary.LittleEndian.Uint32(packed[i:]))
		}
		return nil
	}
	return fmt.Errorf("wire type %d", typ)
}

func readFixed64s(b *[]byte, typ protowire.Type, f func(uint64)) error {
	switch typ {
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		f(v)
		*b = (*b)[n:]
		return nil
	case protowire.BytesType:
		packed, n := protowire.ConsumeBytes(*b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if len(packed)%8 != 0 {
			return errors.New("packed fixed64 length not a multiple of 8")
		}
		*b = (*b)[n:]
		for i := 0; i < len(packed); i += 8 {
			f(binary.LittleEndian.Uint64(packed[i:]))
		}
		return nil
	}
	return fmt.Errorf("wire type %d", typ)
}

func (p *tensorProto) tensor() (Tensor, error) {
	if p.otherData {
		return Tensor{}, fmt.Errorf("%w: segment, string or external data", errUnsupportedProto)
	}
	if len(p.dims) > MaxRank {
		return Tensor{}, fmt.Errorf("tensorproto: rank %d over %d", len(p.dims), MaxRank)
	}
	n := int64(1)
	for _, d := range p.dims {
		if d < 0 || (d > 0 && n > maxProtoElements/d) {
			return Tensor{}, fmt.Errorf("tensorproto: bad dims %v", p.dims)
		}
		n *= d
	}
	shape := append([]int64{}, p.dims...)
	var t Tensor
	var err error
	switch p.dataType {
	case onnxFloat:
		t, err = build(p, shape, n, 4, p.floats, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case onnxDouble:
		t, err = build(p, shape, n, 8, p.doubles, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case onnxInt64:
		t, err = build(p, shape, n, 8, p.int64s, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case onnxInt32:
		t, err = build(p, shape, n, 4, narrow[int32](p.int32s), func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case onnxInt16:
		t, err = build(p, shape, n, 2, narrow[int16](p.int32s), func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case onnxInt8:
		t, err = build(p, shape, n, 1, narrow[int8](p.int32s), func(b []byte) int8 { return int8(b[0]) })
	case onnxUint16:
		t, err = build(p, shape, n, 2, narrow[uint16](p.int32s), func(b []byte) uint16 { return binary.LittleEndian.Uint16(b) })
	case onnxUint8:
		t, err = build(p, shape, n, 1, narrow[uint8](p.int32s), func(b []byte) uint8 { return b[0] })
	case onnxBool:
		bools := make([]bool, len(p.int32s))
		for i, v := range p.int32s {
			bools[i] = v != 0
		}
		t, err = build(p, shape, n, 1, bools, func(b []byte) bool { return b[0] != 0 })
	case onnxUint32:
		u := make([]uint32, len(p.uint64s))
		for i, v := range p.uint64s {
			u[i] = uint32(v)
		}
		t, err = build(p, shape, n, 4, u, func(b []byte) uint32 { return binary.LittleEndian.Uint32(b) })
	case onnxUint64:
		t, err = build(p, shape, n, 8, p.uint64s, func(b []byte) uint64 { return binary.LittleEndian.Uint64(b) })
	default:
		return Tensor{}, fmt.Errorf("%w: %d", errUnsupportedProto, p.dataType)
	}
	t.Name = p.name
	return t, err
}

func narrow[T int32 | int16 | int8 | uint16 | uint8](in []int64) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

// build takes the elements from raw_data if present, else from the typed
// field, and checks their count against the dims.
func build[T Element](p *tensorProto, shape []int64, n int64, size int, typed []T, dec func([]byte) T) (Tensor, error) {
	data := typed
	if p.hasRaw {
		if int64(len(p.raw)) != n*int64(size) {
			return Tensor{}, fmt.Errorf("tensorproto: raw_data is %d bytes, want %d", len(p.raw), n*int64(size))
		}
		data = make([]T, n)
		for i := range data {
			data[i] = dec(p.raw[i*size:])
		}
	}
	if int64(len(data)) != n {
		return Tensor{}, fmt.Errorf("tensorproto: %d elements, dims want %d", len(data), n)
	}
	if data == nil {
		data = []T{}
	}
	return NewTensor("", shape, data), nil
}

// FuzzTensorProto checks that the reader never panics and that what it
// accepts is a consistent Tensor.
func FuzzTensorProto(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tn, err := parseTensorProto(b)
		if err != nil {
			return
		}
		want := int64(1)
		for _, d := range tn.Shape {
			want *= d
		}
		if got := int64(dataLen(tn.Data)); got != want {
			t.Fatalf("accepted tensor with %d elements for shape %v", got, tn.Shape)
		}
		if datatypeOf(tn.Data) != tn.Datatype || tn.Datatype == Invalid {
			t.Fatalf("datatype %v for data %T", tn.Datatype, tn.Data)
		}
	})
}

func TestParseTensorProto(t *testing.T) {
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(tag(num, protowire.VarintType), v)
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(tag(num, protowire.BytesType), v)
	}
	f32 := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	packedVarints := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = protowire.AppendVarint(b, v)
		}
		return b
	}
	tests := []struct {
		name    string
		in      []byte
		want    Tensor
		wantErr error // nil: accept; errUnsupportedProto or errAny
	}{
		{"float raw", cat(varint(1, 2), varint(2, onnxFloat), bytesField(8, []byte("x")), bytesField(9, f32(1.5, -2))),
			NewTensor("x", []int64{2}, []float32{1.5, -2}), nil},
		{"float packed", cat(bytesField(1, packedVarints(1, 2)), varint(2, onnxFloat), bytesField(4, f32(3, 4))),
			NewTensor("", []int64{1, 2}, []float32{3, 4}), nil},
		{"int64 unpacked", cat(varint(1, 2), varint(2, onnxInt64), varint(7, 5), varint(7, math.MaxUint64)),
			NewTensor("", []int64{2}, []int64{5, -1}), nil},
		{"bool int32_data", cat(varint(2, onnxBool), varint(1, 2), bytesField(5, packedVarints(1, 0))),
			NewTensor("", []int64{2}, []bool{true, false}), nil},
		{"uint8 raw", cat(varint(2, onnxUint8), varint(1, 3), bytesField(9, []byte{1, 2, 255})),
			NewTensor("", []int64{3}, []uint8{1, 2, 255}), nil},
		{"scalar", cat(varint(2, onnxInt32), bytesField(9, []byte{7, 0, 0, 0})),
			NewTensor("", []int64{}, []int32{7}), nil},
		{"empty dim", cat(varint(2, onnxFloat), varint(1, 0)),
			NewTensor("", []int64{0}, []float32{}), nil},
		{"string", cat(varint(2, 8), varint(1, 1), bytesField(6, []byte("a"))), Tensor{}, errUnsupportedProto},
		{"float16", cat(varint(2, 10), varint(1, 1), bytesField(9, []byte{0, 0})), Tensor{}, errUnsupportedProto},
		{"count mismatch", cat(varint(2, onnxFloat), varint(1, 3), bytesField(9, f32(1))), Tensor{}, errAny},
		{"raw ragged", cat(varint(2, onnxFloat), varint(1, 1), bytesField(9, []byte{1, 2, 3})), Tensor{}, errAny},
		{"negative dim", cat(varint(2, onnxFloat), varint(1, math.MaxUint64)), Tensor{}, errAny},
		{"huge dims", cat(varint(2, onnxFloat), varint(1, 1<<20), varint(1, 1<<20)), Tensor{}, errAny},
		{"truncated", []byte{0x4a, 0x05, 0x01}, Tensor{}, errAny},
		{"packed float ragged", cat(varint(2, onnxFloat), bytesField(4, []byte{1, 2, 3})), Tensor{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTensorProto(tt.in)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("parse: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr == errUnsupportedProto && !errors.Is(err, errUnsupportedProto):
				t.Fatalf("parse: got %v, want %v", err, tt.wantErr)
			case tt.wantErr != nil:
				return
			}
			if msg := diffTensor(got, tt.want, 0); msg != "" || got.Name != tt.want.Name {
				t.Fatalf("got %+v, want %+v: %s", got, tt.want, msg)
			}
		})
	}
}

var errAny = errors.New("any error")
