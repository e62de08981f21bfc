package runtime

import (
	"fmt"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
)

// Datatype is a tensor element type, named as in the Open Inference Protocol
// v2 (KServe / Triton): "FP32", "INT64", "UINT8", …
type Datatype int

// Datatypes this package serves. FP16, BF16 and BYTES (strings) are not
// served: models using them are refused at load with ErrUnsupportedModel.
//
// Do NOT reorder: values may be stored.
const (
	Invalid Datatype = iota
	Bool
	Uint8
	Uint16
	Uint32
	Uint64
	Int8
	Int16
	Int32
	Int64
	FP32
	FP64
)

var datatypeNames = [...]string{
	Invalid: "INVALID",
	Bool:    "BOOL",
	Uint8:   "UINT8",
	Uint16:  "UINT16",
	Uint32:  "UINT32",
	Uint64:  "UINT64",
	Int8:    "INT8",
	Int16:   "INT16",
	Int32:   "INT32",
	Int64:   "INT64",
	FP32:    "FP32",
	FP64:    "FP64",
}

// String returns the OIP v2 name ("FP32"), or "INVALID".
func (d Datatype) String() string {
	if d < 0 || int(d) >= len(datatypeNames) {
		return "Datatype(" + strconv.Itoa(int(d)) + ")"
	}
	return datatypeNames[d]
}

// ParseDatatype maps an OIP v2 datatype name to a Datatype. Names are
// case-sensitive, as in the protocol. An unknown or unserved name is
// ErrBadInput.
func ParseDatatype(s string) (Datatype, error) {
	for d := Bool; d <= FP64; d++ {
		if datatypeNames[d] == s {
			return d, nil
		}
	}
	const show = 16 // s comes from a request: echo only a prefix
	if len(s) > show {
		s = s[:show] + "…"
	}
	return Invalid, fmt.Errorf("%w: unsupported datatype %q", ErrBadInput, s)
}

// Element is the Go element types of a Tensor's Data.
type Element interface {
	bool | uint8 | uint16 | uint32 | uint64 | int8 | int16 | int32 | int64 | float32 | float64
}

// Tensor is a named, typed, dense tensor in row-major order.
type Tensor struct {
	// Name is the model's input or output name.
	Name string
	// Datatype is the element type; it must match Data's element type.
	Datatype Datatype
	// Shape holds the dimensions; empty for a scalar. All are ≥ 0.
	Shape []int64
	// Data is a slice whose element type matches Datatype ([]float32 for
	// FP32, []int64 for INT64, []bool for BOOL, …) with exactly as many
	// elements as Shape gives (1 for a scalar).
	Data any
}

// NewTensor returns a Tensor whose Datatype follows from T.
func NewTensor[T Element](name string, shape []int64, data []T) Tensor {
	return Tensor{Name: name, Datatype: datatypeOf(data), Shape: shape, Data: data}
}

// datatypeOf returns the Datatype of a []T, or Invalid for any other value.
func datatypeOf(data any) Datatype {
	switch data.(type) {
	case []bool:
		return Bool
	case []uint8:
		return Uint8
	case []uint16:
		return Uint16
	case []uint32:
		return Uint32
	case []uint64:
		return Uint64
	case []int8:
		return Int8
	case []int16:
		return Int16
	case []int32:
		return Int32
	case []int64:
		return Int64
	case []float32:
		return FP32
	case []float64:
		return FP64
	}
	return Invalid
}

// dataLen returns the length of a supported Data slice, or -1.
func dataLen(data any) int {
	switch v := data.(type) {
	case []bool:
		return len(v)
	case []uint8:
		return len(v)
	case []uint16:
		return len(v)
	case []uint32:
		return len(v)
	case []uint64:
		return len(v)
	case []int8:
		return len(v)
	case []int16:
		return len(v)
	case []int32:
		return len(v)
	case []int64:
		return len(v)
	case []float32:
		return len(v)
	case []float64:
		return len(v)
	}
	return -1
}

// fromORT maps a binding element type to a Datatype (Invalid if unserved).
func fromORT(t ort.TensorElementDataType) Datatype {
	switch t {
	case ort.TensorElementDataTypeBool:
		return Bool
	case ort.TensorElementDataTypeUint8:
		return Uint8
	case ort.TensorElementDataTypeUint16:
		return Uint16
	case ort.TensorElementDataTypeUint32:
		return Uint32
	case ort.TensorElementDataTypeUint64:
		return Uint64
	case ort.TensorElementDataTypeInt8:
		return Int8
	case ort.TensorElementDataTypeInt16:
		return Int16
	case ort.TensorElementDataTypeInt32:
		return Int32
	case ort.TensorElementDataTypeInt64:
		return Int64
	case ort.TensorElementDataTypeFloat:
		return FP32
	case ort.TensorElementDataTypeDouble:
		return FP64
	}
	return Invalid
}

// toValue wraps t (already checked: Data matches Datatype and Shape) in a
// binding value. The value shares t.Data's memory; ONNX Runtime does not
// write inputs.
func toValue(t Tensor) (ort.Value, error) {
	switch v := t.Data.(type) {
	case []bool:
		return newValue(t.Shape, v)
	case []uint8:
		return newValue(t.Shape, v)
	case []uint16:
		return newValue(t.Shape, v)
	case []uint32:
		return newValue(t.Shape, v)
	case []uint64:
		return newValue(t.Shape, v)
	case []int8:
		return newValue(t.Shape, v)
	case []int16:
		return newValue(t.Shape, v)
	case []int32:
		return newValue(t.Shape, v)
	case []int64:
		return newValue(t.Shape, v)
	case []float32:
		return newValue(t.Shape, v)
	case []float64:
		return newValue(t.Shape, v)
	}
	return nil, fmt.Errorf("unsupported data %T", t.Data)
}

func newValue[T Element](shape []int64, data []T) (ort.Value, error) {
	if len(shape) == 0 {
		// The binding's Tensor refuses rank 0; Scalar is its rank-0 form.
		return ort.NewScalar(data[0])
	}
	return ort.NewTensor(ort.Shape(shape), data)
}

// newEmptyValue allocates an output value of a static shape.
func newEmptyValue(d Datatype, shape []int64) (ort.Value, error) {
	switch d {
	case Bool:
		return newEmpty[bool](shape)
	case Uint8:
		return newEmpty[uint8](shape)
	case Uint16:
		return newEmpty[uint16](shape)
	case Uint32:
		return newEmpty[uint32](shape)
	case Uint64:
		return newEmpty[uint64](shape)
	case Int8:
		return newEmpty[int8](shape)
	case Int16:
		return newEmpty[int16](shape)
	case Int32:
		return newEmpty[int32](shape)
	case Int64:
		return newEmpty[int64](shape)
	case FP32:
		return newEmpty[float32](shape)
	case FP64:
		return newEmpty[float64](shape)
	}
	return nil, fmt.Errorf("unsupported datatype %v", d)
}

func newEmpty[T Element](shape []int64) (ort.Value, error) {
	if len(shape) == 0 {
		return ort.NewEmptyScalar[T]()
	}
	return ort.NewEmptyTensor[T](ort.Shape(shape))
}

// fromValue copies a binding output value into a Tensor.
func fromValue(name string, v ort.Value) (Tensor, error) {
	switch x := v.(type) {
	case *ort.Tensor[bool]:
		return fromTensor(name, x), nil
	case *ort.Tensor[uint8]:
		return fromTensor(name, x), nil
	case *ort.Tensor[uint16]:
		return fromTensor(name, x), nil
	case *ort.Tensor[uint32]:
		return fromTensor(name, x), nil
	case *ort.Tensor[uint64]:
		return fromTensor(name, x), nil
	case *ort.Tensor[int8]:
		return fromTensor(name, x), nil
	case *ort.Tensor[int16]:
		return fromTensor(name, x), nil
	case *ort.Tensor[int32]:
		return fromTensor(name, x), nil
	case *ort.Tensor[int64]:
		return fromTensor(name, x), nil
	case *ort.Tensor[float32]:
		return fromTensor(name, x), nil
	case *ort.Tensor[float64]:
		return fromTensor(name, x), nil
	case *ort.Scalar[bool]:
		return fromScalar(name, x), nil
	case *ort.Scalar[uint8]:
		return fromScalar(name, x), nil
	case *ort.Scalar[uint16]:
		return fromScalar(name, x), nil
	case *ort.Scalar[uint32]:
		return fromScalar(name, x), nil
	case *ort.Scalar[uint64]:
		return fromScalar(name, x), nil
	case *ort.Scalar[int8]:
		return fromScalar(name, x), nil
	case *ort.Scalar[int16]:
		return fromScalar(name, x), nil
	case *ort.Scalar[int32]:
		return fromScalar(name, x), nil
	case *ort.Scalar[int64]:
		return fromScalar(name, x), nil
	case *ort.Scalar[float32]:
		return fromScalar(name, x), nil
	case *ort.Scalar[float64]:
		return fromScalar(name, x), nil
	}
	return Tensor{}, fmt.Errorf("output %q: unsupported value %T", name, v)
}

func fromTensor[T Element](name string, t *ort.Tensor[T]) Tensor {
	// Copy: the binding's slice dies with its value, destroyed after Infer.
	data := append([]T(nil), t.GetData()...)
	if data == nil {
		data = []T{}
	}
	return NewTensor(name, []int64(t.GetShape()), data)
}

func fromScalar[T Element](name string, s *ort.Scalar[T]) Tensor {
	return NewTensor(name, []int64{}, []T{s.GetData()})
}
