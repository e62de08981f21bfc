package oip

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeData(t *testing.T) {
	tests := []struct {
		name  string
		dt    Datatype
		shape []int64
		data  string
		want  any
	}{
		{"flat fp32", FP32, []int64{2, 2}, `[1, 2.5, -3e2, 0]`, []float32{1, 2.5, -300, 0}},
		{"nested fp32", FP32, []int64{2, 2}, `[[1, 2.5], [-3e2, 0]]`, []float32{1, 2.5, -300, 0}},
		{"nested rank 3", Int64, []int64{2, 1, 2}, ` [ [[1,2]] , [[3,4]] ] `, []int64{1, 2, 3, 4}},
		{"scalar", FP64, []int64{}, `[0.1]`, []float64{0.1}},
		{"empty", Int32, []int64{0}, `[]`, []int32{}},
		{"empty nested", Int32, []int64{2, 0}, `[[],[]]`, []int32{}},
		{"empty flat rank 2", Int32, []int64{2, 0}, `[]`, []int32{}},
		{"bool", Bool, []int64{3}, `[true,false,true]`, []bool{true, false, true}},
		{"uint8 bounds", Uint8, []int64{2}, `[0,255]`, []uint8{0, 255}},
		{"int8 bounds", Int8, []int64{2}, `[-128,127]`, []int8{-128, 127}},
		{"int32 bounds", Int32, []int64{2}, `[-2147483648,2147483647]`, []int32{-2147483648, 2147483647}},
		{"int64 bounds", Int64, []int64{2}, `[-9223372036854775808,9223372036854775807]`, []int64{-9223372036854775808, 9223372036854775807}},
		{"fp32 max", FP32, []int64{1}, `[3.4028234663852886e38]`, []float32{3.4028234663852886e38}},
		{"fp32 underflow to zero", FP32, []int64{1}, `[1e-50]`, []float32{0}},
		{"negative zero int", Int8, []int64{1}, `[-0]`, []int8{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Elements(tt.shape, MaxElements)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeData([]byte(tt.data), tt.dt, tt.shape, n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeDataRefusals(t *testing.T) {
	tests := []struct {
		name  string
		dt    Datatype
		shape []int64
		data  string
	}{
		{"not an array", FP32, []int64{1}, `1`},
		{"object", FP32, []int64{1}, `{}`},
		{"too few flat", FP32, []int64{2, 2}, `[1,2,3]`},
		{"too many flat", FP32, []int64{2, 2}, `[1,2,3,4,5]`},
		{"nested row too short", FP32, []int64{2, 2}, `[[1,2],[3]]`},
		{"nested row too long", FP32, []int64{2, 2}, `[[1,2],[3,4,5]]`},
		{"nested too many rows", FP32, []int64{2, 2}, `[[1,2],[3,4],[5,6]]`},
		{"nested too few rows", FP32, []int64{2, 2}, `[[1,2]]`},
		{"mixed nesting", FP32, []int64{2, 2}, `[[1,2],3,4]`},
		{"too deep", FP32, []int64{2, 1}, `[[[1]],[[2]]]`},
		{"nested for rank 1", FP32, []int64{1}, `[[1]]`},
		{"uint8 over", Uint8, []int64{1}, `[256]`},
		{"uint8 negative", Uint8, []int64{1}, `[-1]`},
		{"int8 over", Int8, []int64{1}, `[128]`},
		{"int8 under", Int8, []int64{1}, `[-129]`},
		{"int32 over", Int32, []int64{1}, `[2147483648]`},
		{"int64 over", Int64, []int64{1}, `[9223372036854775808]`},
		{"int fraction", Int32, []int64{1}, `[1.5]`},
		{"int exponent", Int32, []int64{1}, `[1e3]`},
		{"int with .0", Int64, []int64{1}, `[1.0]`},
		{"fp32 over", FP32, []int64{1}, `[3.5e38]`},
		{"fp64 over", FP64, []int64{1}, `[1e309]`},
		{"string element", FP32, []int64{1}, `["1"]`},
		{"null element", FP32, []int64{1}, `[null]`},
		{"bool for number", FP32, []int64{1}, `[true]`},
		{"number for bool", Bool, []int64{1}, `[1]`},
		{"inf", FP32, []int64{1}, `[inf]`},
		{"NaN", FP64, []int64{1}, `[NaN]`},
		{"hex float", FP64, []int64{1}, `[0x1p3]`},
		{"underscore", Int64, []int64{1}, `[1_0]`},
		{"leading zero", Int64, []int64{1}, `[01]`},
		{"leading plus", Int64, []int64{1}, `[+1]`},
		{"bare dot", FP32, []int64{1}, `[1.]`},
		{"trailing comma", FP32, []int64{2}, `[1,2,]`},
		{"missing comma", FP32, []int64{2}, `[1 2]`},
		{"unterminated", FP32, []int64{2}, `[1,2`},
		{"trailing data", FP32, []int64{1}, `[1] 2`},
		{"empty input", FP32, []int64{1}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Elements(tt.shape, MaxElements)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodeData([]byte(tt.data), tt.dt, tt.shape, n); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestElements(t *testing.T) {
	tests := []struct {
		shape []int64
		want  int64
		err   error
	}{
		{[]int64{}, 1, nil},
		{[]int64{1, 3, 224, 224}, 150528, nil},
		{[]int64{0, 1 << 40}, 0, nil},
		{[]int64{-1}, 0, ErrMalformed},
		{[]int64{MaxElements + 1}, 0, ErrTooLarge},
		{[]int64{1 << 32, 1 << 32}, 0, ErrTooLarge},
		{[]int64{1 << 62, 4}, 0, ErrTooLarge},
		{make([]int64, MaxRank+1), 0, ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := Elements(tt.shape, MaxElements)
		if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
			t.Errorf("Elements(%v) = %d, %v; want %d, %v", tt.shape, got, err, tt.want, tt.err)
		}
	}
}

func TestDecodeInferRequest(t *testing.T) {
	req, err := DecodeInferRequest([]byte(`{"id":"r1","parameters":{"x":1},"inputs":[
		{"name":"a","shape":[1,2],"datatype":"FP32","data":[[1,2]],"parameters":{"p":"q"}},
		{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]}],
		"outputs":[{"name":"sum"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &InferRequest{ID: "r1", Inputs: []Tensor{
		{Name: "a", Datatype: FP32, Shape: []int64{1, 2}, Data: []float32{1, 2}},
		{Name: "b", Datatype: Bool, Shape: []int64{2}, Data: []bool{true, false}},
	}, Outputs: []string{"sum"}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v", req)
	}
	// Round trip through the encoder.
	b, err := EncodeInferRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeInferRequest(b)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("round trip: %+v %v", again, err)
	}
}

func TestDecodeInferRequestRefusals(t *testing.T) {
	in := func(s string) string { return `{"inputs":[` + s + `]}` }
	big := strings.Repeat("x", MaxNameSize+1)
	many := strings.Repeat(`{"name":"o"},`, MaxTensors) + `{"name":"o"}`
	tests := []struct {
		name, body string
		want       error
		field      string
	}{
		{"not JSON", `{`, ErrMalformed, "body"},
		{"trailing data", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]} {}`, ErrMalformed, "body"},
		{"unknown field", `{"inputs":[],"input":[]}`, ErrMalformed, "body"},
		{"unknown tensor field", in(`{"name":"a","shape":[1],"datatype":"FP32","data":[1],"dims":[1]}`), ErrMalformed, "body"},
		{"no inputs", `{"inputs":[]}`, ErrMalformed, "inputs"},
		{"missing inputs", `{"id":"x"}`, ErrMalformed, "inputs"},
		{"missing name", in(`{"shape":[1],"datatype":"FP32","data":[1]}`), ErrMalformed, "inputs[0].name"},
		{"long name", in(`{"name":"` + big + `","shape":[1],"datatype":"FP32","data":[1]}`), ErrTooLarge, "inputs[0].name"},
		{"control char in name", in(`{"name":"a\u0001","shape":[1],"datatype":"FP32","data":[1]}`), ErrMalformed, "inputs[0].name"},
		{"long id", `{"id":"` + big + `","inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`, ErrTooLarge, "id"},
		{"missing shape", in(`{"name":"a","datatype":"FP32","data":[1]}`), ErrMalformed, "inputs[0].shape"},
		{"fractional shape", in(`{"name":"a","shape":[1.5],"datatype":"FP32","data":[1]}`), ErrMalformed, "inputs.shape"},
		{"negative dim", in(`{"name":"a","shape":[-1],"datatype":"FP32","data":[1]}`), ErrMalformed, "inputs[0].shape"},
		{"rank over limit", in(`{"name":"a","shape":[1,1,1,1,1,1,1,1,1],"datatype":"FP32","data":[1]}`), ErrTooLarge, "inputs[0].shape"},
		{"elements over limit", in(`{"name":"a","shape":[4194305],"datatype":"FP32","data":[1]}`), ErrTooLarge, "inputs[0].shape"},
		{"data too short for shape", in(`{"name":"a","shape":[4194304],"datatype":"FP32","data":[]}`), ErrMalformed, "inputs[0].data"},
		{"missing datatype", in(`{"name":"a","shape":[1],"data":[1]}`), ErrMalformed, "inputs[0].datatype"},
		{"lowercase datatype", in(`{"name":"a","shape":[1],"datatype":"fp32","data":[1]}`), ErrMalformed, "inputs[0].datatype"},
		{"BYTES", in(`{"name":"a","shape":[1],"datatype":"BYTES","data":["x"]}`), ErrUnsupported, "inputs[0].datatype"},
		{"FP16", in(`{"name":"a","shape":[1],"datatype":"FP16","data":[1]}`), ErrUnsupported, "inputs[0].datatype"},
		{"missing data", in(`{"name":"a","shape":[1],"datatype":"FP32"}`), ErrMalformed, "inputs[0].data"},
		{"binary data", in(`{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}`), ErrUnsupported, "inputs[0].parameters.binary_data_size"},
		{"binary output", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}`, ErrUnsupported, "outputs[0].parameters.binary_data"},
		{"data out of range", in(`{"name":"a","shape":[1],"datatype":"INT8","data":[300]}`), ErrMalformed, "inputs[0].data"},
		{"duplicate input", in(`{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"a","shape":[1],"datatype":"FP32","data":[1]}`), ErrMalformed, "inputs[1].name"},
		{"duplicate output", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y"},{"name":"y"}]}`, ErrMalformed, "outputs[1].name"},
		{"too many outputs", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[` + many + `]}`, ErrTooLarge, "outputs"},
		{"too many parameters", `{"parameters":{` + params(MaxParameters+1) + `},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`, ErrTooLarge, "parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeInferRequest([]byte(tt.body))
			var fe *FieldError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if fe.Field != tt.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tt.field, err)
			}
		})
	}
}

func params(n int) string {
	var s []string
	for i := range n {
		s = append(s, `"p`+strings.Repeat("x", i)+`":1`)
	}
	return strings.Join(s, ",")
}

func TestTotalElementBudget(t *testing.T) {
	bud := &tensorBudget{left: 3}
	w := wireTensor{Name: "a", Shape: []int64{2}, Datatype: "FP32", Data: []byte(`[1,2]`)}
	if _, err := bud.decode(&w, "inputs[0]"); err != nil {
		t.Fatal(err)
	}
	_, err := bud.decode(&w, "inputs[1]")
	var fe *FieldError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Field != "inputs[1].shape" {
		t.Fatalf("second tensor over the budget: got %v, want ErrTooLarge on inputs[1].shape", err)
	}
}

func TestTooManyInputs(t *testing.T) {
	var ins []string
	for i := range MaxTensors + 1 {
		ins = append(ins, `{"name":"a`+strings.Repeat("x", i)+`","shape":[1],"datatype":"FP32","data":[1]}`)
	}
	_, err := DecodeInferRequest([]byte(`{"inputs":[` + strings.Join(ins, ",") + `]}`))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if _, err := DecodeInferRequest(make([]byte, MaxBodySize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("body over limit: got %v, want ErrTooLarge", err)
	}
}

func TestInferResponseRoundTrip(t *testing.T) {
	resp := &InferResponse{ModelName: "m", ModelVersion: "1", ID: "r", Outputs: []Tensor{
		{Name: "f", Datatype: FP32, Shape: []int64{3}, Data: []float32{0.1, -1e-45, 3.4028235e38}},
		{Name: "d", Datatype: FP64, Shape: []int64{2}, Data: []float64{0.1, 5e-324}},
		{Name: "i8", Datatype: Int8, Shape: []int64{2}, Data: []int8{-128, 127}},
		{Name: "u8", Datatype: Uint8, Shape: []int64{1, 1}, Data: []uint8{255}},
		{Name: "i32", Datatype: Int32, Shape: []int64{1}, Data: []int32{-7}},
		{Name: "i64", Datatype: Int64, Shape: []int64{0}, Data: []int64{}},
		{Name: "b", Datatype: Bool, Shape: []int64{}, Data: []bool{true}},
	}}
	b, err := EncodeInferResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeInferResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, resp)
	}
}

func TestEncodeRefusals(t *testing.T) {
	nan := float32(0)
	nan = nan / nan
	tests := []struct {
		name string
		t    Tensor
		want error
	}{
		{"NaN", Tensor{Name: "y", Datatype: FP32, Shape: []int64{1}, Data: []float32{nan}}, ErrMalformed},
		{"wrong slice type", Tensor{Name: "y", Datatype: FP32, Shape: []int64{1}, Data: []float64{1}}, ErrMalformed},
		{"length mismatch", Tensor{Name: "y", Datatype: Int64, Shape: []int64{2}, Data: []int64{1}}, ErrMalformed},
		{"no name", Tensor{Datatype: Int64, Shape: []int64{1}, Data: []int64{1}}, ErrMalformed},
		{"invalid datatype", Tensor{Name: "y", Shape: []int64{1}, Data: []int64{1}}, ErrMalformed},
		{"nil data", Tensor{Name: "y", Datatype: Bool, Shape: []int64{1}}, ErrMalformed},
		{"too large", Tensor{Name: "y", Datatype: Bool, Shape: []int64{MaxElements + 1}, Data: []bool{}}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EncodeInferResponse(&InferResponse{ModelName: "m", Outputs: []Tensor{tt.t}}); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDatatype(t *testing.T) {
	for d := Bool; d <= FP64; d++ {
		got, err := ParseDatatype(d.String())
		if err != nil || got != d {
			t.Errorf("%v: %v %v", d, got, err)
		}
	}
	if DatatypeInvalid.String() != "INVALID" || Datatype(99).String() != "Datatype(99)" {
		t.Error("String of invalid datatypes")
	}
	if _, err := DatatypeInvalid.MarshalText(); err == nil {
		t.Error("invalid datatype marshalled")
	}
	var d Datatype
	if err := d.UnmarshalText([]byte("UINT64")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("UINT64: %v", err)
	}
}
