package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// TensorMetadata describes a model input or output. A dimension of -1 is
// dynamic (any size).
type TensorMetadata struct {
	Name     string   `json:"name"`
	Datatype Datatype `json:"datatype"`
	Shape    []int64  `json:"shape"`
}

// ModelMetadata is the model metadata response (GET /v2/models/{name}).
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"` // "onnxruntime_onnx" for ONNX Runtime
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// InferRequest is a decoded inference request. Outputs lists the requested
// output names; empty means all of the model's outputs.
type InferRequest struct {
	ID      string
	Inputs  []Tensor
	Outputs []string
}

// InferResponse is an inference response.
type InferResponse struct {
	ModelName    string
	ModelVersion string
	ID           string
	Outputs      []Tensor
}

// Wire forms. parameters objects are accepted and bounded but not
// interpreted, except that the binary data extension's names are refused:
// silently ignoring them would misread the request.
type (
	parameters map[string]json.RawMessage

	wireTensor struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Parameters parameters      `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data"`
	}
	wireOutput struct {
		Name       string     `json:"name"`
		Parameters parameters `json:"parameters,omitempty"`
	}
	wireInferRequest struct {
		ID         string       `json:"id,omitempty"`
		Parameters parameters   `json:"parameters,omitempty"`
		Inputs     []wireTensor `json:"inputs"`
		Outputs    []wireOutput `json:"outputs,omitempty"`
	}
	wireInferResponse struct {
		ModelName    string       `json:"model_name"`
		ModelVersion string       `json:"model_version,omitempty"`
		ID           string       `json:"id,omitempty"`
		Parameters   parameters   `json:"parameters,omitempty"`
		Outputs      []wireTensor `json:"outputs"`
	}
)

// binaryParameters are the binary tensor data extension's parameter names.
var binaryParameters = []string{"binary_data_size", "binary_data", "binary_data_output"}

func checkParameters(p parameters, field string) error {
	if len(p) > MaxParameters {
		return fieldErr(ErrTooLarge, field, "%d members (limit %d)", len(p), MaxParameters)
	}
	for _, name := range binaryParameters {
		if _, ok := p[name]; ok {
			return fieldErr(ErrUnsupported, field+"."+name, "the binary data extension is not supported; send JSON data")
		}
	}
	return nil
}

func checkName(s, field string) error {
	switch {
	case s == "":
		return fieldErr(ErrMalformed, field, "missing or empty")
	case len(s) > MaxNameSize:
		return fieldErr(ErrTooLarge, field, "%d bytes (limit %d)", len(s), MaxNameSize)
	case !utf8.ValidString(s):
		return fieldErr(ErrMalformed, field, "not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fieldErr(ErrMalformed, field, "contains a control character")
		}
	}
	return nil
}

// strictUnmarshal decodes one JSON value into v, refusing unknown fields and
// trailing data, and turns encoding/json's errors into FieldErrors.
func strictUnmarshal(b []byte, v any) error {
	if len(b) > MaxBodySize {
		return fieldErr(ErrTooLarge, "body", "%d bytes (limit %d)", len(b), MaxBodySize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fieldErr(ErrMalformed, te.Field, "JSON %s where %s is expected", te.Value, te.Type)
		}
		return fieldErr(ErrMalformed, "body", "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldErr(ErrMalformed, "body", "data after the JSON object")
	}
	return nil
}

// tensorBudget counts the elements decoded so far against MaxElements.
type tensorBudget struct{ left int64 }

func (bud *tensorBudget) decode(w *wireTensor, field string) (Tensor, error) {
	if err := checkName(w.Name, field+".name"); err != nil {
		return Tensor{}, err
	}
	if err := checkParameters(w.Parameters, field+".parameters"); err != nil {
		return Tensor{}, err
	}
	dt, err := ParseDatatype(w.Datatype)
	if err != nil {
		return Tensor{}, wrapField(err, field+".datatype")
	}
	if w.Shape == nil {
		return Tensor{}, fieldErr(ErrMalformed, field+".shape", "missing")
	}
	n, err := Elements(w.Shape, bud.left)
	if err != nil {
		return Tensor{}, wrapField(err, field+".shape")
	}
	if w.Data == nil {
		return Tensor{}, fieldErr(ErrMalformed, field+".data", "missing")
	}
	data, err := decodeData(w.Data, dt, w.Shape, n)
	if err != nil {
		return Tensor{}, wrapField(err, field+".data")
	}
	bud.left -= n
	return Tensor{Name: w.Name, Datatype: dt, Shape: w.Shape, Data: data}, nil
}

// wrapField turns an error wrapping one of the package's sentinels into a
// FieldError for field, its reason without the sentinel's text.
func wrapField(err error, field string) error {
	s := ErrMalformed
	for _, c := range []error{ErrTooLarge, ErrUnsupported} {
		if errors.Is(err, c) {
			s = c
		}
	}
	return &FieldError{Field: field, Reason: strings.TrimPrefix(err.Error(), s.Error()+": "), Err: s}
}

// DecodeInferRequest decodes an inference request body strictly: no
// unknown fields, at most MaxTensors inputs and outputs, unique names, every
// tensor consistent and within limits.go. Errors are *FieldError.
func DecodeInferRequest(b []byte) (*InferRequest, error) {
	var w wireInferRequest
	if err := strictUnmarshal(b, &w); err != nil {
		return nil, err
	}
	if w.ID != "" {
		if err := checkName(w.ID, "id"); err != nil {
			return nil, err
		}
	}
	if err := checkParameters(w.Parameters, "parameters"); err != nil {
		return nil, err
	}
	if len(w.Inputs) == 0 {
		return nil, fieldErr(ErrMalformed, "inputs", "missing or empty")
	}
	if len(w.Inputs) > MaxTensors {
		return nil, fieldErr(ErrTooLarge, "inputs", "%d tensors (limit %d)", len(w.Inputs), MaxTensors)
	}
	if len(w.Outputs) > MaxTensors {
		return nil, fieldErr(ErrTooLarge, "outputs", "%d tensors (limit %d)", len(w.Outputs), MaxTensors)
	}
	req := &InferRequest{ID: w.ID, Inputs: make([]Tensor, 0, len(w.Inputs))}
	bud := &tensorBudget{left: MaxElements}
	seen := map[string]bool{}
	for i := range w.Inputs {
		field := fmt.Sprintf("inputs[%d]", i)
		t, err := bud.decode(&w.Inputs[i], field)
		if err != nil {
			return nil, err
		}
		if seen[t.Name] {
			return nil, fieldErr(ErrMalformed, field+".name", "duplicate input %q", clip(t.Name))
		}
		seen[t.Name] = true
		req.Inputs = append(req.Inputs, t)
	}
	seen = map[string]bool{}
	for i, o := range w.Outputs {
		field := fmt.Sprintf("outputs[%d]", i)
		if err := checkName(o.Name, field+".name"); err != nil {
			return nil, err
		}
		if err := checkParameters(o.Parameters, field+".parameters"); err != nil {
			return nil, err
		}
		if seen[o.Name] {
			return nil, fieldErr(ErrMalformed, field+".name", "duplicate output %q", clip(o.Name))
		}
		seen[o.Name] = true
		req.Outputs = append(req.Outputs, o.Name)
	}
	return req, nil
}

// encodeTensors turns tensors into their wire form, validating each.
func encodeTensors(ts []Tensor, field string) ([]wireTensor, error) {
	out := make([]wireTensor, 0, len(ts))
	total := int64(0)
	for i := range ts {
		t := &ts[i]
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		n, _ := Elements(t.Shape, MaxElements)
		if total += n; total > MaxElements {
			return nil, fmt.Errorf("%s: %w: more than %d elements in total", field, ErrTooLarge, MaxElements)
		}
		data, err := appendData(nil, t)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, wireTensor{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype.String(), Data: data})
	}
	return out, nil
}

// EncodeInferRequest encodes req as a request body (for clients and tests).
func EncodeInferRequest(req *InferRequest) ([]byte, error) {
	inputs, err := encodeTensors(req.Inputs, "inputs")
	if err != nil {
		return nil, fmt.Errorf("oip: encode request: %w", err)
	}
	w := wireInferRequest{ID: req.ID, Inputs: inputs}
	for _, name := range req.Outputs {
		w.Outputs = append(w.Outputs, wireOutput{Name: name})
	}
	return json.Marshal(w)
}

// EncodeInferResponse encodes resp as a response body. It fails for a
// tensor whose data does not match its datatype and shape, or holds a NaN
// or infinity (JSON has no such numbers).
func EncodeInferResponse(resp *InferResponse) ([]byte, error) {
	outputs, err := encodeTensors(resp.Outputs, "outputs")
	if err != nil {
		return nil, fmt.Errorf("oip: encode response: %w", err)
	}
	return json.Marshal(wireInferResponse{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.ID, Outputs: outputs})
}

// DecodeInferResponse decodes a response body as strictly as
// DecodeInferRequest (for clients).
func DecodeInferResponse(b []byte) (*InferResponse, error) {
	var w wireInferResponse
	if err := strictUnmarshal(b, &w); err != nil {
		return nil, err
	}
	if err := checkName(w.ModelName, "model_name"); err != nil {
		return nil, err
	}
	if len(w.Outputs) > MaxTensors {
		return nil, fieldErr(ErrTooLarge, "outputs", "%d tensors (limit %d)", len(w.Outputs), MaxTensors)
	}
	resp := &InferResponse{ModelName: w.ModelName, ModelVersion: w.ModelVersion, ID: w.ID}
	bud := &tensorBudget{left: MaxElements}
	for i := range w.Outputs {
		t, err := bud.decode(&w.Outputs[i], fmt.Sprintf("outputs[%d]", i))
		if err != nil {
			return nil, err
		}
		resp.Outputs = append(resp.Outputs, t)
	}
	return resp, nil
}
