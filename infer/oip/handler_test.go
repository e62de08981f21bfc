package oip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/sealed"
)

// testBackend serves a few tiny models computed in Go; the ONNX Runtime
// backend is tested in infer/runtime.
type testBackend struct{ notReady bool }

var testModels = map[string]ModelMetadata{
	"sum": {Name: "sum", Versions: []string{"1"}, Platform: "onnxruntime_onnx",
		Inputs:  []TensorMetadata{{"a", FP32, []int64{-1, 2}}, {"b", FP32, []int64{-1, 2}}},
		Outputs: []TensorMetadata{{"sum", FP32, []int64{-1, 2}}, {"count", Int64, []int64{1}}}},
	"ident":  {Name: "ident", Platform: "onnxruntime_onnx", Inputs: []TensorMetadata{{"x", Int8, []int64{-1}}}, Outputs: []TensorMetadata{{"y", Int8, []int64{-1}}}},
	"boom":   {Name: "boom", Inputs: []TensorMetadata{{"x", FP32, []int64{1}}}, Outputs: []TensorMetadata{{"y", FP32, []int64{1}}}},
	"picky":  {Name: "picky", Inputs: []TensorMetadata{{"x", FP32, []int64{1}}}, Outputs: []TensorMetadata{{"y", FP32, []int64{1}}}},
	"nan":    {Name: "nan", Inputs: []TensorMetadata{{"x", FP32, []int64{1}}}, Outputs: []TensorMetadata{{"y", FP32, []int64{1}}}},
	"gone":   {Name: "gone", Inputs: []TensorMetadata{{"x", FP32, []int64{1}}}, Outputs: []TensorMetadata{{"y", FP32, []int64{1}}}},
	"absent": {Name: "absent", Inputs: []TensorMetadata{{"x", FP32, []int64{1}}}, Outputs: []TensorMetadata{{"y", FP32, []int64{1}}}},
}

func (b *testBackend) Model(name string) (ModelMetadata, bool) {
	md, ok := testModels[name]
	return md, ok
}

func (b *testBackend) Ready() bool { return !b.notReady }

func (b *testBackend) Infer(ctx context.Context, model string, in []Tensor) ([]Tensor, error) {
	switch model {
	case "sum":
		x, y := in[0].Data.([]float32), in[1].Data.([]float32)
		if len(x) != len(y) {
			return nil, fmt.Errorf("%w: a and b differ in shape", ErrInvalidInput)
		}
		s := make([]float32, len(x))
		for i := range x {
			s[i] = x[i] + y[i]
		}
		return []Tensor{
			{Name: "sum", Datatype: FP32, Shape: in[0].Shape, Data: s},
			{Name: "count", Datatype: Int64, Shape: []int64{1}, Data: []int64{int64(len(s))}},
		}, nil
	case "ident":
		return []Tensor{{Name: "y", Datatype: Int8, Shape: in[0].Shape, Data: in[0].Data}}, nil
	case "boom":
		return nil, errors.New("session exploded at node Conv_3")
	case "picky":
		return nil, fmt.Errorf("%w: x must be positive", ErrInvalidInput)
	case "nan":
		return []Tensor{{Name: "y", Datatype: FP32, Shape: []int64{1}, Data: []float32{float32(math.NaN())}}}, nil
	case "gone":
		return nil, ErrModelNotFound
	}
	return []Tensor{{Name: "other", Datatype: FP32, Shape: []int64{1}, Data: []float32{1}}}, nil
}

func newServer(t *testing.T, b Backend, opts Options) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h, err := Handler(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &logs
}

func do(t *testing.T, srv *httptest.Server, method, path, ct string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestGetEndpoints(t *testing.T) {
	srv, _ := newServer(t, &testBackend{}, Options{ServerVersion: "0.1"})
	down, _ := newServer(t, &testBackend{notReady: true}, Options{})
	tests := []struct {
		name   string
		srv    *httptest.Server
		path   string
		status int
		body   string
	}{
		{"server", srv, "/v2", 200, `{"name":"cofre-infer","version":"0.1","extensions":[]}`},
		{"live", srv, "/v2/health/live", 200, `{"live":true}`},
		{"live when not ready", down, "/v2/health/live", 200, `{"live":true}`},
		{"ready", srv, "/v2/health/ready", 200, `{"ready":true}`},
		{"not ready", down, "/v2/health/ready", 400, `{"ready":false}`},
		{"model", srv, "/v2/models/ident", 200, `{"name":"ident","platform":"onnxruntime_onnx","inputs":[{"name":"x","datatype":"INT8","shape":[-1]}],"outputs":[{"name":"y","datatype":"INT8","shape":[-1]}]}`},
		{"unknown model", srv, "/v2/models/nope", 404, `{"error":"model \"nope\" not found"}`},
		{"model ready", srv, "/v2/models/sum/ready", 200, `{"name":"sum","ready":true}`},
		{"model not ready", down, "/v2/models/sum/ready", 400, `{"name":"sum","ready":false}`},
		{"unknown model ready", srv, "/v2/models/nope/ready", 404, `{"error":"model \"nope\" not found"}`},
		{"bad model name", srv, "/v2/models/a%01b", 400, `{"error":"oip: malformed message: model name: contains a control character"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := do(t, tt.srv, "GET", tt.path, "", nil)
			if status != tt.status || string(body) != tt.body {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
		})
	}
	if status, _, _ := do(t, srv, "DELETE", "/v2/models/sum", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d, want 405", status)
	}
	if status, _, _ := do(t, srv, "GET", "/v2/models/sum/infer", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET infer: %d, want 405", status)
	}
}

func TestInfer(t *testing.T) {
	srv, _ := newServer(t, &testBackend{}, Options{})
	tests := []struct {
		name, model, body, want string
	}{
		{"flat", "sum",
			`{"id":"r1","inputs":[{"name":"a","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[2,2],"datatype":"FP32","data":[0.5,0.5,0.5,0.5]}]}`,
			`{"model_name":"sum","model_version":"1","id":"r1","outputs":[{"name":"sum","shape":[2,2],"datatype":"FP32","data":[1.5,2.5,3.5,4.5]},{"name":"count","shape":[1],"datatype":"INT64","data":[4]}]}`},
		{"nested, inputs in any order, one output requested", "sum",
			`{"inputs":[{"name":"b","shape":[1,2],"datatype":"FP32","data":[[1,1]]},{"name":"a","shape":[1,2],"datatype":"FP32","data":[[2,3]]}],"outputs":[{"name":"count"}]}`,
			`{"model_name":"sum","model_version":"1","outputs":[{"name":"count","shape":[1],"datatype":"INT64","data":[2]}]}`},
		{"int8 identity", "ident",
			`{"inputs":[{"name":"x","shape":[3],"datatype":"INT8","data":[-128,0,127]}]}`,
			`{"model_name":"ident","outputs":[{"name":"y","shape":[3],"datatype":"INT8","data":[-128,0,127]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := do(t, srv, "POST", "/v2/models/"+tt.model+"/infer", "application/json", []byte(tt.body))
			if status != 200 || string(body) != tt.want {
				t.Fatalf("got %d %s\nwant %s", status, body, tt.want)
			}
			if hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", hdr)
			}
		})
	}
}

func TestInferErrors(t *testing.T) {
	srv, logs := newServer(t, &testBackend{}, Options{})
	down, _ := newServer(t, &testBackend{notReady: true}, Options{})
	one := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1234.5]}]}`
	sum := func(a, b string) string {
		return `{"inputs":[{"name":"a",` + a + `},{"name":"b",` + b + `}]}`
	}
	okT := `"shape":[1,2],"datatype":"FP32","data":[1,2]`
	tests := []struct {
		name   string
		srv    *httptest.Server
		model  string
		ct     string
		body   string
		status int
		substr string
	}{
		{"unknown model", srv, "nope", "application/json", one, 404, `model \"nope\" not found`},
		{"malformed JSON", srv, "sum", "application/json", `{"inputs":`, 400, "body"},
		{"bad data names field", srv, "sum", "application/json", sum(okT, `"shape":[1,2],"datatype":"FP32","data":[1,"x"]`), 400, "inputs[1].data"},
		{"datatype differs from model", srv, "sum", "application/json", sum(okT, `"shape":[1,2],"datatype":"FP64","data":[1,2]`), 400, "inputs.b.datatype: FP64, model wants FP32"},
		{"fixed dimension differs", srv, "sum", "application/json", sum(okT, `"shape":[2,1],"datatype":"FP32","data":[1,2]`), 400, "inputs.b.shape"},
		{"rank differs", srv, "sum", "application/json", sum(okT, `"shape":[2],"datatype":"FP32","data":[1,2]`), 400, "inputs.b.shape: rank 1"},
		{"missing input", srv, "sum", "application/json", `{"inputs":[{"name":"a",` + okT + `}]}`, 400, `needs input \"b\"`},
		{"extra input", srv, "sum", "application/json", `{"inputs":[{"name":"a",` + okT + `},{"name":"b",` + okT + `},{"name":"c",` + okT + `}]}`, 400, `has no input \"c\"`},
		{"unknown output", srv, "sum", "application/json", `{"inputs":[{"name":"a",` + okT + `},{"name":"b",` + okT + `}],"outputs":[{"name":"mean"}]}`, 400, `has no output \"mean\"`},
		{"backend refuses input", srv, "picky", "application/json", one, 400, "x must be positive"},
		{"backend lost the model", srv, "gone", "application/json", one, 404, `model \"gone\" not found`},
		{"backend fails", srv, "boom", "application/json", one, 500, `{"error":"internal error"}`},
		{"backend output NaN", srv, "nan", "application/json", one, 500, `{"error":"internal error"}`},
		{"backend output missing", srv, "absent", "application/json", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y"}]}`, 500, `{"error":"internal error"}`},
		{"BYTES", srv, "ident", "application/json", `{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["a"]}]}`, 400, "datatype BYTES"},
		{"too many elements", srv, "ident", "application/json", `{"inputs":[{"name":"x","shape":[99999999],"datatype":"INT8","data":[]}]}`, 413, "inputs[0].shape"},
		{"body too large", srv, "ident", "application/json", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[1]}]}` + strings.Repeat(" ", MaxBodySize), 413, "body over"},
		{"wrong content type", srv, "ident", "text/plain", one, 415, "Content-Type must be"},
		{"no content type", srv, "ident", "", one, 415, "Content-Type must be"},
		{"sealed without key", srv, "ident", sealed.MediaType, one, 415, "not enabled"},
		{"not ready", down, "ident", "application/json", one, 503, "not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, tt.srv, "POST", "/v2/models/"+tt.model+"/infer", tt.ct, []byte(tt.body))
			if status != tt.status || !strings.Contains(string(body), tt.substr) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tt.status, tt.substr)
			}
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Fatalf("body %s is not an error object", body)
			}
		})
	}
	// 500 details are logged, tensor data is not.
	if !strings.Contains(logs.String(), "session exploded") || !strings.Contains(logs.String(), "not finite") {
		t.Errorf("log lacks 500 details: %s", logs)
	}
	if strings.Contains(logs.String(), "1234.5") {
		t.Errorf("log contains tensor data: %s", logs)
	}
}

func TestHandlerOptions(t *testing.T) {
	if _, err := Handler(nil, Options{}); err == nil {
		t.Error("nil backend accepted")
	}
	if _, err := Handler(&testBackend{}, Options{RequireSealed: true}); err == nil {
		t.Error("RequireSealed without a key accepted")
	}
}

func TestSealed(t *testing.T) {
	const path = "/v2/models/sum/infer"
	plain := []byte(`{"id":"s1","inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[[1,2]]},{"name":"b","shape":[1,2],"datatype":"FP32","data":[[10,20]]}],"outputs":[{"name":"sum"}]}`)
	want := `{"model_name":"sum","model_version":"1","id":"s1","outputs":[{"name":"sum","shape":[1,2],"datatype":"FP32","data":[11,22]}]}`
	for _, kem := range []sealed.KEM{sealed.X25519, sealed.P256} {
		t.Run(kem.String(), func(t *testing.T) {
			key, err := sealed.GenerateKey(kem)
			if err != nil {
				t.Fatal(err)
			}
			srv, _ := newServer(t, &testBackend{}, Options{Key: key, RequireSealed: true})
			pub, err := sealed.ParsePublicJWK(key.PublicJWK())
			if err != nil {
				t.Fatal(err)
			}
			seal := func(t *testing.T, ctx string, b []byte) ([]byte, *sealed.ResponseOpener) {
				body, op, err := sealed.SealRequest(pub, ctx, b)
				if err != nil {
					t.Fatal(err)
				}
				return body, op
			}

			t.Run("round trip", func(t *testing.T) {
				body, op := seal(t, "POST "+path, plain)
				status, hdr, resp := do(t, srv, "POST", path, sealed.MediaType, body)
				if status != 200 || hdr.Get("Content-Type") != sealed.MediaType {
					t.Fatalf("got %d %s", status, hdr.Get("Content-Type"))
				}
				if bytes.Contains(resp, []byte("model_name")) {
					t.Fatal("response is not sealed")
				}
				got, err := op.Open(resp)
				if err != nil || string(got) != want {
					t.Fatalf("opened %s %v", got, err)
				}
			})
			t.Run("errors after opening are sealed", func(t *testing.T) {
				body, op := seal(t, "POST "+path, []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1,2]}]}`))
				status, hdr, resp := do(t, srv, "POST", path, sealed.MediaType, body)
				if status != 400 || hdr.Get("Content-Type") != sealed.MediaType {
					t.Fatalf("got %d %s", status, hdr.Get("Content-Type"))
				}
				got, err := op.Open(resp)
				if err != nil || !strings.Contains(string(got), "inputs[0].data") {
					t.Fatalf("opened %s %v", got, err)
				}
			})
			t.Run("plaintext refused", func(t *testing.T) {
				status, _, resp := do(t, srv, "POST", path, "application/json", plain)
				if status != 415 || !strings.Contains(string(resp), "accepts only sealed") {
					t.Fatalf("got %d %s", status, resp)
				}
			})
			generic := `{"error":"the sealed request body could not be opened"}`
			tampered, _ := seal(t, "POST "+path, plain)
			tampered[len(tampered)-3] ^= 1
			otherModel, _ := seal(t, "POST /v2/models/ident/infer", plain)
			other, err := sealed.GenerateKey(kem)
			if err != nil {
				t.Fatal(err)
			}
			otherKey, _, err := sealed.SealRequest(other.PublicKey(), "POST "+path, plain)
			if err != nil {
				t.Fatal(err)
			}
			good, _ := seal(t, "POST "+path, plain)
			badSuite := append([]byte{0, 0x20, 0, 1, 0, 3}, good[6:]...)
			for name, body := range map[string][]byte{
				"tampered":                tampered,
				"sealed for another path": otherModel,
				"sealed to another key":   otherKey,
				"unsupported suite":       badSuite,
				"short":                   good[:10],
				"empty":                   nil,
			} {
				t.Run(name, func(t *testing.T) {
					status, hdr, resp := do(t, srv, "POST", path, sealed.MediaType, body)
					if status != 400 || string(resp) != generic || hdr.Get("Content-Type") != "application/json" {
						t.Fatalf("got %d %s", status, resp)
					}
				})
			}
			t.Run("too large", func(t *testing.T) {
				status, _, _ := do(t, srv, "POST", path, sealed.MediaType, make([]byte, MaxBodySize+sealedOverhead+1))
				if status != 413 {
					t.Fatalf("got %d, want 413", status)
				}
			})
		})
	}
}

// TestSealedOptional checks a service with a key that still takes plain
// JSON when RequireSealed is off.
func TestSealedOptional(t *testing.T) {
	key, err := sealed.GenerateKey(sealed.X25519)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newServer(t, &testBackend{}, Options{Key: key})
	status, _, body := do(t, srv, "POST", "/v2/models/ident/infer", "application/json; charset=utf-8", []byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[5]}]}`))
	if status != 200 || !strings.Contains(string(body), `"data":[5]`) {
		t.Fatalf("got %d %s", status, body)
	}
}
