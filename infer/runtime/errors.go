package runtime

import (
	"errors"
	"fmt"
)

// EnvLibrary names the environment variable that holds the path of the ONNX
// Runtime shared library when Options.LibraryPath is empty.
const EnvLibrary = "COFRE_ONNXRUNTIME_LIB"

var (
	// ErrNoRuntime means the ONNX Runtime shared library is missing or
	// cannot be loaded.
	ErrNoRuntime = errors.New("runtime: ONNX Runtime library unavailable (set " + EnvLibrary + " or Options.LibraryPath to libonnxruntime.so.1; `make onnxruntime` fetches it into bin/onnxruntime/)")
	// ErrRuntimeConflict means a second library path was requested after the
	// process-wide runtime was initialized with another one.
	ErrRuntimeConflict = errors.New("runtime: ONNX Runtime already initialized from another library")
	// ErrBadModel means a model file is unreadable or not a valid ONNX
	// model that ONNX Runtime can run.
	ErrBadModel = errors.New("runtime: bad model")
	// ErrUnsupportedModel means a valid model uses inputs or outputs this
	// package does not serve: element types other than those of Datatype,
	// sequences, maps, or no inputs at all.
	ErrUnsupportedModel = errors.New("runtime: unsupported model")
	// ErrModelTooLarge means a model file exceeds Options.MaxModelBytes.
	ErrModelTooLarge = errors.New("runtime: model too large")
	// ErrBadRepository means the repository directory does not follow the
	// layout documented on Open.
	ErrBadRepository = errors.New("runtime: bad model repository")
	// ErrBadInput means inference inputs do not match the model. The joined
	// errors are *InputError values naming each mismatch.
	ErrBadInput = errors.New("runtime: bad input")
	// ErrInference means ONNX Runtime failed while running a model whose
	// inputs passed the checks.
	ErrInference = errors.New("runtime: inference failed")
	// ErrClosed means the model or repository was closed.
	ErrClosed = errors.New("runtime: closed")
)

// InputError is one refused inference input. It names the input, the check
// that failed, and the expected and actual values; it never carries tensor
// data. It matches ErrBadInput with errors.Is.
type InputError struct {
	Input string // input tensor name, as sent by the caller
	Check string // "name", "missing", "datatype", "rank", "dim[i]", "data", "elements"
	Want  string
	Got   string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("runtime: input %q: %s: want %s, got %s", e.Input, e.Check, e.Want, e.Got)
}

// Unwrap makes errors.Is(err, ErrBadInput) hold.
func (e *InputError) Unwrap() error { return ErrBadInput }
