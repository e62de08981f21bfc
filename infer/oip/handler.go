package oip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"

	"github.com/cofre-cc/cofre/sealed"
)

// Backend runs models. The handler checks every request against the
// model's metadata before Infer is called, so Infer sees only inputs whose
// names, datatypes and ranks match, with dynamic dimensions filled in.
type Backend interface {
	// Model returns the metadata of the named model, or false if there is
	// no such model.
	Model(name string) (ModelMetadata, bool)
	// Ready reports whether the backend serves inference (its models are
	// loaded).
	Ready() bool
	// Infer runs the named model and returns its outputs, all of them; the
	// handler keeps those the request asked for. An error wrapping
	// ErrInvalidInput is shown to the caller (400); ErrModelNotFound gives
	// 404; anything else is logged and answered with a generic 500.
	Infer(ctx context.Context, model string, inputs []Tensor) ([]Tensor, error)
}

// Options configures Handler.
type Options struct {
	// Key opens sealed request bodies (Content-Type sealed.MediaType) and
	// seals their responses. Or nil: sealed bodies are refused with 415.
	// The sealing context is "POST " + r.URL.Path as this handler sees it,
	// so mount the handler at the root, not under http.StripPrefix.
	Key *sealed.PrivateKey
	// RequireSealed refuses plaintext inference bodies with 415, so patient
	// data can never travel readable by a TLS-terminating proxy because a
	// client forgot to seal. Requires Key. Default false.
	RequireSealed bool
	// Logger receives the details of 500 answers (never tensor data), or
	// nil for none.
	Logger *slog.Logger
	// ServerName and ServerVersion are reported by GET /v2. Defaults
	// "cofre-infer" and "".
	ServerName, ServerVersion string
}

// Handler returns an http.Handler serving the Open Inference Protocol v2
// HTTP/REST endpoints for backend:
//
//	GET  /v2                          server metadata
//	GET  /v2/health/live              {"live":true}
//	GET  /v2/health/ready             {"ready":…}, 400 when not ready
//	GET  /v2/models/{name}            model metadata, 404 if unknown
//	GET  /v2/models/{name}/ready      {"name":…,"ready":…}, 400 when not ready
//	POST /v2/models/{name}/infer      inference
//
// Errors are {"error":"…"} with 400 (malformed, naming the field), 404,
// 413, 415 or 500 (generic; details in the log).
func Handler(backend Backend, opts Options) (http.Handler, error) {
	if backend == nil {
		return nil, errors.New("oip: nil backend")
	}
	if opts.RequireSealed && opts.Key == nil {
		return nil, errors.New("oip: RequireSealed needs a Key")
	}
	h := &handler{b: backend, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.opts.ServerName == "" {
		h.opts.ServerName = "cofre-infer"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2", h.server)
	mux.HandleFunc("GET /v2/health/live", h.live)
	mux.HandleFunc("GET /v2/health/ready", h.ready)
	mux.HandleFunc("GET /v2/models/{name}", h.model)
	mux.HandleFunc("GET /v2/models/{name}/ready", h.modelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", h.infer)
	return mux, nil
}

type handler struct {
	b    Backend
	opts Options
	log  *slog.Logger
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

type errorBody struct {
	Error string `json:"error"`
}

func (h *handler) server(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		Extensions []string `json:"extensions"`
	}{h.opts.ServerName, h.opts.ServerVersion, []string{}})
}

func (h *handler) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	ok := h.b.Ready()
	writeJSON(w, readyStatus(ok), map[string]bool{"ready": ok})
}

// readyStatus follows the protocol: 200 when ready, a 4xx when not.
func readyStatus(ok bool) int {
	if ok {
		return http.StatusOK
	}
	return http.StatusBadRequest
}

// lookup finds the model named in the path, answering 400 or 404 itself.
func (h *handler) lookup(w http.ResponseWriter, r *http.Request) (ModelMetadata, bool) {
	name := r.PathValue("name")
	if err := checkName(name, "model name"); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
		return ModelMetadata{}, false
	}
	md, ok := h.b.Model(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{fmt.Sprintf("model %q not found", name)})
	}
	return md, ok
}

func (h *handler) model(w http.ResponseWriter, r *http.Request) {
	if md, ok := h.lookup(w, r); ok {
		writeJSON(w, http.StatusOK, md)
	}
}

func (h *handler) modelReady(w http.ResponseWriter, r *http.Request) {
	if md, ok := h.lookup(w, r); ok {
		ready := h.b.Ready()
		writeJSON(w, readyStatus(ready), struct {
			Name  string `json:"name"`
			Ready bool   `json:"ready"`
		}{md.Name, ready})
	}
}

// reply writes an inference answer: sealed to the requester when the
// request was sealed (errors too, since they name the caller's fields),
// plain JSON otherwise.
type reply struct {
	w      http.ResponseWriter
	sealer *sealed.ResponseSealer
	h      *handler
}

func (rp *reply) send(status int, body []byte) {
	ct := "application/json"
	if rp.sealer != nil {
		sb, err := rp.sealer.Seal(body)
		if err != nil {
			rp.h.log.Error("oip: seal response", "err", err)
			writeJSON(rp.w, http.StatusInternalServerError, errorBody{"internal error"})
			return
		}
		body, ct = sb, sealed.MediaType
	}
	rp.w.Header().Set("Content-Type", ct)
	rp.w.Header().Set("X-Content-Type-Options", "nosniff")
	rp.w.Header().Set("Cache-Control", "no-store")
	rp.w.WriteHeader(status)
	rp.w.Write(body)
}

func (rp *reply) fail(status int, msg string) {
	b, _ := json.Marshal(errorBody{msg}) // a struct of one string cannot fail
	rp.send(status, b)
}

// statusOf maps a decoding error to its HTTP status.
func statusOf(err error) int {
	if errors.Is(err, ErrTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// sealedOverhead is what sealing adds to a body: header, the largest
// encapsulated key (P-256) and the AEAD tag.
const sealedOverhead = 6 + 65 + 16

func (h *handler) infer(w http.ResponseWriter, r *http.Request) {
	rp := &reply{w: w, h: h}
	md, ok := h.lookup(w, r)
	if !ok {
		return
	}
	if !h.b.Ready() {
		rp.fail(http.StatusServiceUnavailable, "not ready")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	isSealed := mt == sealed.MediaType
	switch {
	case isSealed && h.opts.Key == nil:
		rp.fail(http.StatusUnsupportedMediaType, "sealed request bodies are not enabled on this service")
		return
	case !isSealed && h.opts.RequireSealed:
		rp.fail(http.StatusUnsupportedMediaType, "this service accepts only sealed request bodies (Content-Type "+sealed.MediaType+")")
		return
	case !isSealed && mt != "application/json":
		rp.fail(http.StatusUnsupportedMediaType, "Content-Type must be application/json or "+sealed.MediaType)
		return
	}
	limit := int64(MaxBodySize)
	if isSealed {
		limit += sealedOverhead
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rp.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
			return
		}
		rp.fail(http.StatusBadRequest, "reading the body failed")
		return
	}
	if isSealed {
		// One answer for every failure: which check failed (suite, key,
		// context, tag) is not told to an unauthenticated sender.
		pt, sealer, err := sealed.OpenRequest(h.opts.Key, "POST "+r.URL.Path, body)
		if err != nil {
			rp.fail(http.StatusBadRequest, "the sealed request body could not be opened")
			return
		}
		body, rp.sealer = pt, sealer
	}
	req, err := DecodeInferRequest(body)
	if err != nil {
		rp.fail(statusOf(err), err.Error())
		return
	}
	if err := checkAgainst(md, req); err != nil {
		rp.fail(http.StatusBadRequest, err.Error())
		return
	}
	outs, err := h.b.Infer(r.Context(), md.Name, req.Inputs)
	switch {
	case errors.Is(err, ErrInvalidInput):
		rp.fail(http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, ErrModelNotFound):
		rp.fail(http.StatusNotFound, fmt.Sprintf("model %q not found", md.Name))
		return
	case err != nil:
		h.log.Error("oip: infer", "model", md.Name, "err", err)
		rp.fail(http.StatusInternalServerError, "internal error")
		return
	}
	resp := &InferResponse{ModelName: md.Name, ID: req.ID}
	if len(md.Versions) > 0 {
		resp.ModelVersion = md.Versions[len(md.Versions)-1]
	}
	resp.Outputs, err = selectOutputs(outs, req.Outputs)
	if err == nil {
		body, err = EncodeInferResponse(resp)
	}
	if err != nil {
		h.log.Error("oip: infer: backend output", "model", md.Name, "err", err)
		rp.fail(http.StatusInternalServerError, "internal error")
		return
	}
	rp.send(http.StatusOK, body)
}

// checkAgainst checks a request against the model's metadata: every
// declared input present with its datatype, rank and fixed dimensions, no
// other input, only declared outputs requested. Errors wrap ErrMalformed.
func checkAgainst(md ModelMetadata, req *InferRequest) error {
	byName := make(map[string]*Tensor, len(req.Inputs))
	for i := range req.Inputs {
		byName[req.Inputs[i].Name] = &req.Inputs[i]
	}
	for _, in := range md.Inputs {
		t, ok := byName[in.Name]
		if !ok {
			return fieldErr(ErrMalformed, "inputs", "model %q needs input %q", md.Name, in.Name)
		}
		delete(byName, in.Name)
		if t.Datatype != in.Datatype {
			return fieldErr(ErrMalformed, "inputs."+in.Name+".datatype", "%s, model wants %s", t.Datatype, in.Datatype)
		}
		if len(t.Shape) != len(in.Shape) {
			return fieldErr(ErrMalformed, "inputs."+in.Name+".shape", "rank %d, model wants %v", len(t.Shape), in.Shape)
		}
		for i, d := range in.Shape {
			if d >= 0 && t.Shape[i] != d {
				return fieldErr(ErrMalformed, "inputs."+in.Name+".shape", "%v, model wants %v (-1 is any)", t.Shape, in.Shape)
			}
		}
	}
	for i := range req.Inputs {
		if _, extra := byName[req.Inputs[i].Name]; extra {
			return fieldErr(ErrMalformed, fmt.Sprintf("inputs[%d].name", i), "model %q has no input %q", md.Name, clip(req.Inputs[i].Name))
		}
	}
	for i, name := range req.Outputs {
		if !slices.ContainsFunc(md.Outputs, func(o TensorMetadata) bool { return o.Name == name }) {
			return fieldErr(ErrMalformed, fmt.Sprintf("outputs[%d].name", i), "model %q has no output %q", md.Name, clip(name))
		}
	}
	return nil
}

// selectOutputs keeps the requested outputs in request order, or all.
func selectOutputs(outs []Tensor, want []string) ([]Tensor, error) {
	if len(want) == 0 {
		return outs, nil
	}
	sel := make([]Tensor, 0, len(want))
	for _, name := range want {
		i := slices.IndexFunc(outs, func(t Tensor) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("backend returned no output %q", name)
		}
		sel = append(sel, outs[i])
	}
	return sel, nil
}
