package runtime

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The binding reports a graph input or output with no shape at all (unknown
// rank) exactly like a scalar: zero dimensions. The two need opposite
// handling — a scalar input must be rank 0, an unshaped one may be any rank
// — so unshaped reads the model's graph to tell them apart. It reads only
// these fields of onnx.proto and skips everything else, initializers
// included, without copying:
//
//	ModelProto.graph (7) → GraphProto.input (11), output (12)
//	→ ValueInfoProto.name (1), type (2) → TypeProto.tensor_type (1)
//	→ TypeProto.Tensor.shape (2)
const (
	fieldModelGraph      = 7
	fieldGraphInput      = 11
	fieldGraphOutput     = 12
	fieldValueInfoName   = 1
	fieldValueInfoType   = 2
	fieldTypeTensorType  = 1
	fieldTensorTypeShape = 2
)

// unshaped returns the names of graph inputs and outputs whose tensor type
// has no shape field.
func unshaped(model []byte) (map[string]bool, error) {
	out := map[string]bool{}
	err := eachBytes(model, func(num protowire.Number, graph []byte) error {
		if num != fieldModelGraph {
			return nil
		}
		return eachBytes(graph, func(num protowire.Number, vi []byte) error {
			if num != fieldGraphInput && num != fieldGraphOutput {
				return nil
			}
			name, isTensor, hasShape, err := valueInfo(vi)
			if err != nil {
				return err
			}
			if isTensor && !hasShape {
				out[name] = true
			}
			return nil
		})
	})
	return out, err
}

func valueInfo(vi []byte) (name string, isTensor, hasShape bool, err error) {
	err = eachBytes(vi, func(num protowire.Number, b []byte) error {
		switch num {
		case fieldValueInfoName:
			name = string(b)
		case fieldValueInfoType:
			return eachBytes(b, func(num protowire.Number, tt []byte) error {
				if num != fieldTypeTensorType {
					return nil
				}
				isTensor = true
				return eachBytes(tt, func(num protowire.Number, _ []byte) error {
					if num == fieldTensorTypeShape {
						hasShape = true
					}
					return nil
				})
			})
		}
		return nil
	})
	return name, isTensor, hasShape, err
}

var errProto = errors.New("malformed protobuf")

// eachBytes calls f for every length-delimited field of message b and skips
// the others.
func eachBytes(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errProto, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %w", errProto, num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", errProto, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}
