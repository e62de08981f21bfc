package oip

import (
	"testing"
)

// image224 is a 1×1×224×224 FP32 request, the size of the demonstration
// model's input.
func image224(b *testing.B) []byte {
	data := make([]float32, 224*224)
	for i := range data {
		data[i] = float32(i%255) / 255
	}
	body, err := EncodeInferRequest(&InferRequest{Inputs: []Tensor{{Name: "image", Datatype: FP32, Shape: []int64{1, 1, 224, 224}, Data: data}}})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkDecodeInferRequest224(b *testing.B) {
	body := image224(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeInferRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
