package oip

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeInferRequest checks that decoding never panics, fails only
// with the package's errors, and that an accepted request re-encodes to a
// body that decodes to the same request.
func FuzzDecodeInferRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","inputs":[{"name":"a","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}],"outputs":[{"name":"y"}]}`,
		`{"inputs":[{"name":"b","shape":[3],"datatype":"BOOL","data":[true,false,true]},{"name":"c","shape":[],"datatype":"INT64","data":[-9223372036854775808]}]}`,
		`{"inputs":[{"name":"u","shape":[1,0],"datatype":"UINT8","data":[[]]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeInferRequest(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || (!errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported)) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		enc, err := EncodeInferRequest(req)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		again, err := DecodeInferRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(req, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v", req, again)
		}
	})
}

// FuzzDecodeInferResponse is the client side's parser.
func FuzzDecodeInferResponse(f *testing.F) {
	f.Add([]byte(`{"model_name":"m","model_version":"1","id":"x","outputs":[{"name":"y","shape":[1,2],"datatype":"FP64","data":[0.5,1e-300]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := DecodeInferResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		enc, err := EncodeInferResponse(resp)
		if err != nil {
			t.Fatalf("accepted response does not encode: %v", err)
		}
		again, err := DecodeInferResponse(enc)
		if err != nil || !reflect.DeepEqual(resp, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
