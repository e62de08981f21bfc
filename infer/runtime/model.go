package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Options configures model loading and inference. The zero value is usable.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (libonnxruntime.so.1).
	// Default: the value of $COFRE_ONNXRUNTIME_LIB. The first successful
	// load fixes it for the process.
	LibraryPath string
	// IntraOpThreads is the number of threads one inference may use inside
	// an operator. Default 0: ONNX Runtime's choice (one per core).
	IntraOpThreads int
	// MaxModelBytes bounds each model file. Default DefaultMaxModelBytes.
	MaxModelBytes int64
	// MaxInputElements bounds the elements of each input tensor. Default
	// DefaultMaxInputElements.
	MaxInputElements int64
}

func (o Options) maxModelBytes() int64 {
	if o.MaxModelBytes > 0 {
		return o.MaxModelBytes
	}
	return DefaultMaxModelBytes
}

func (o Options) maxInputElements() int64 {
	if o.MaxInputElements > 0 {
		return o.MaxInputElements
	}
	return DefaultMaxInputElements
}

// TensorInfo describes a model input or output. A dimension of -1 is
// dynamic: any size is accepted there. A nil Shape means the model gives no
// shape at all (unknown rank): any shape is accepted, and ONNX Runtime checks
// it when running; an empty non-nil Shape is a scalar.
type TensorInfo struct {
	Name     string
	Datatype Datatype
	Shape    []int64
}

// Model is a loaded ONNX model. Its methods are safe for concurrent use.
type Model struct {
	name    string
	sum     [sha256.Size]byte
	size    int64
	inputs  []TensorInfo
	outputs []TensorInfo
	maxIn   int64

	mu      sync.RWMutex // guards session; Infer holds it shared, Close exclusive
	session *ort.DynamicAdvancedSession
}

// Name returns the model's name.
func (m *Model) Name() string { return m.name }

// SHA256 returns the SHA-256 of the model bytes that were loaded.
func (m *Model) SHA256() [sha256.Size]byte { return m.sum }

// Size returns the model file's size in bytes.
func (m *Model) Size() int64 { return m.size }

// Inputs returns the model's inputs, in the model's order.
func (m *Model) Inputs() []TensorInfo { return cloneInfos(m.inputs) }

// Outputs returns the model's outputs, in the model's order.
func (m *Model) Outputs() []TensorInfo { return cloneInfos(m.outputs) }

func cloneInfos(in []TensorInfo) []TensorInfo {
	out := make([]TensorInfo, len(in))
	for i, t := range in {
		out[i] = TensorInfo{Name: t.Name, Datatype: t.Datatype, Shape: slices.Clone(t.Shape)}
	}
	return out
}

// LoadModel loads the ONNX model file at path under the given name, which
// follows the rule given on Open.
func LoadModel(name, path string, opts Options) (*Model, error) {
	if !validModelName(name) {
		return nil, fmt.Errorf("%w: invalid model name %q", ErrBadModel, name)
	}
	if err := initRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}
	data, err := readModel(path, opts.maxModelBytes())
	if err != nil {
		return nil, err
	}
	return newModel(name, data, opts)
}

// readModel reads the whole file, refusing more than limit bytes. The size
// is checked on the bytes read, not on a Stat that a growing file could
// outrun.
func readModel(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrModelTooLarge, path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrBadModel, path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s exceeds limit %d", ErrModelTooLarge, path, limit)
	}
	return data, nil
}

// newModel builds a session from data; the hash is of these same bytes.
func newModel(name string, data []byte, opts Options) (*Model, error) {
	sum := sha256.Sum256(data)
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, name, err)
	}
	noShape, err := unshaped(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadModel, name, err)
	}
	m := &Model{name: name, sum: sum, size: int64(len(data)), maxIn: opts.maxInputElements()}
	var errs []error
	if len(ins) == 0 {
		// The binding indexes the first input unconditionally.
		errs = append(errs, errors.New("model has no inputs"))
	}
	if len(outs) == 0 {
		errs = append(errs, errors.New("model has no outputs"))
	}
	m.inputs, err = infos("input", ins, noShape)
	errs = append(errs, err)
	m.outputs, err = infos("output", outs, noShape)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedModel, name, err)
	}

	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: session options: %v", ErrNoRuntime, err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
		return nil, fmt.Errorf("runtime: intra-op threads %d: %v", opts.IntraOpThreads, err)
	}
	// ONNX Runtime's Run is safe to call concurrently on one session; the
	// binding's DynamicAdvancedSession keeps only immutable names besides it.
	m.session, err = ort.NewDynamicAdvancedSessionWithONNXData(data, names(m.inputs), names(m.outputs), so)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, name, err)
	}
	return m, nil
}

func infos(kind string, in []ort.InputOutputInfo, noShape map[string]bool) ([]TensorInfo, error) {
	out := make([]TensorInfo, 0, len(in))
	var errs []error
	for _, i := range in {
		if i.OrtValueType != ort.ONNXTypeTensor {
			errs = append(errs, fmt.Errorf("%s %q is a %v, only tensors are served", kind, i.Name, i.OrtValueType))
			continue
		}
		d := fromORT(i.DataType)
		if d == Invalid {
			errs = append(errs, fmt.Errorf("%s %q has unsupported element type %v", kind, i.Name, i.DataType))
			continue
		}
		shape := append([]int64{}, i.Dimensions...)
		if noShape[i.Name] && len(shape) == 0 {
			shape = nil
		}
		out = append(out, TensorInfo{Name: i.Name, Datatype: d, Shape: shape})
	}
	return out, errors.Join(errs...)
}

func names(ts []TensorInfo) []string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Name
	}
	return n
}

// Infer runs the model on inputs, keyed by input name, and returns every
// output keyed by name. It checks all inputs first and, if any is refused,
// returns the joined *InputError values (errors.Is(err, ErrBadInput)) without
// running the model. Infer neither modifies nor retains the inputs' data;
// the caller must not modify it during the call. Cancelling ctx aborts a
// running inference.
func (m *Model) Infer(ctx context.Context, inputs map[string]Tensor) (map[string]Tensor, error) {
	if err := m.check(inputs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, ErrClosed
	}

	var values []ort.Value
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	ins := make([]ort.Value, len(m.inputs))
	for i, info := range m.inputs {
		v, err := toValue(inputs[info.Name])
		if err != nil {
			return nil, fmt.Errorf("%w: input %q: %v", ErrInference, info.Name, err)
		}
		values = append(values, v)
		ins[i] = v
	}
	outs := make([]ort.Value, len(m.outputs))
	for i, info := range m.outputs {
		// The binding cannot return rank-0 outputs it allocates itself, so
		// outputs of static shape are allocated here.
		if static(info.Shape) {
			v, err := newEmptyValue(info.Datatype, info.Shape)
			if err != nil {
				return nil, fmt.Errorf("%w: output %q: %v", ErrInference, info.Name, err)
			}
			values = append(values, v)
			outs[i] = v
		}
	}

	ro, err := ort.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: run options: %v", ErrInference, err)
	}
	defer ro.Destroy()
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		ro.Terminate()
		close(terminated)
	})
	runErr := m.session.RunWithOptions(ins, outs, ro)
	cancelled := !stop()
	if cancelled {
		// The AfterFunc has started: wait for it before ro is destroyed.
		<-terminated
	}
	// Outputs the binding allocated must be destroyed even on error.
	for i, v := range outs {
		if v != nil && !static(m.outputs[i].Shape) {
			values = append(values, v)
		}
	}
	if runErr != nil && cancelled {
		return nil, fmt.Errorf("%w: %w", ErrInference, context.Cause(ctx))
	}
	if runErr != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInference, m.name, runErr)
	}

	result := make(map[string]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromValue(m.outputs[i].Name, v)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInference, err)
		}
		result[t.Name] = t
	}
	return result, nil
}

func static(shape []int64) bool {
	if shape == nil {
		return false // unknown rank
	}
	for _, d := range shape {
		if d < 0 {
			return false
		}
	}
	return true
}

// check runs every input check and joins the failures.
func (m *Model) check(inputs map[string]Tensor) error {
	var errs []error
	known := make(map[string]bool, len(m.inputs))
	for _, info := range m.inputs {
		known[info.Name] = true
		t, ok := inputs[info.Name]
		if !ok {
			errs = append(errs, &InputError{Input: info.Name, Check: "missing", Want: "present", Got: "absent"})
			continue
		}
		errs = append(errs, checkTensor(info, t, m.maxIn)...)
	}
	for name := range inputs {
		if !known[name] {
			errs = append(errs, &InputError{Input: name, Check: "name", Want: "one of " + strings.Join(names(m.inputs), ", "), Got: "unknown input"})
		}
	}
	return errors.Join(errs...)
}

func checkTensor(info TensorInfo, t Tensor, maxElements int64) []error {
	var errs []error
	bad := func(check, want, got string) {
		errs = append(errs, &InputError{Input: info.Name, Check: check, Want: want, Got: got})
	}
	if t.Name != "" && t.Name != info.Name {
		bad("name", strconv.Quote(info.Name), strconv.Quote(t.Name))
	}
	if t.Datatype != info.Datatype {
		bad("datatype", info.Datatype.String(), t.Datatype.String())
	}
	if got := datatypeOf(t.Data); got != info.Datatype {
		bad("data", "[]"+goType(info.Datatype), fmt.Sprintf("%T", t.Data))
	}
	switch {
	case info.Shape == nil && len(t.Shape) > MaxRank:
		bad("rank", "≤ "+strconv.Itoa(MaxRank), strconv.Itoa(len(t.Shape)))
		return errs
	case info.Shape != nil && len(t.Shape) != len(info.Shape):
		bad("rank", strconv.Itoa(len(info.Shape)), strconv.Itoa(len(t.Shape)))
		return errs
	}
	elements := int64(1)
	for i, d := range t.Shape {
		if d < 0 {
			bad(fmt.Sprintf("dim[%d]", i), "≥ 0", strconv.FormatInt(d, 10))
			return errs
		}
		if info.Shape != nil && info.Shape[i] >= 0 && d != info.Shape[i] {
			bad(fmt.Sprintf("dim[%d]", i), strconv.FormatInt(info.Shape[i], 10), strconv.FormatInt(d, 10))
		}
		// Bound before multiplying so the product cannot overflow.
		if d != 0 && elements > maxElements/d {
			bad("elements", "≤ "+strconv.FormatInt(maxElements, 10), "more")
			return errs
		}
		elements *= d
	}
	if elements > maxElements {
		bad("elements", "≤ "+strconv.FormatInt(maxElements, 10), strconv.FormatInt(elements, 10))
	}
	if n := dataLen(t.Data); n >= 0 && int64(n) != elements {
		bad("data", strconv.FormatInt(elements, 10)+" elements", strconv.Itoa(n)+" elements")
	}
	return errs
}

func goType(d Datatype) string {
	return [...]string{Invalid: "?", Bool: "bool", Uint8: "uint8", Uint16: "uint16", Uint32: "uint32",
		Uint64: "uint64", Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
		FP32: "float32", FP64: "float64"}[d]
}

// Close releases the session. It waits for running inferences; later calls
// to Infer return ErrClosed. Close is idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil
	}
	err := m.session.Destroy()
	m.session = nil
	return err
}
