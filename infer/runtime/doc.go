// Package runtime runs ONNX models with ONNX Runtime for cofre infer.
//
// Open loads every model of a model repository directory; LoadModel loads one
// file. Each Model records the SHA-256 of exactly the bytes ONNX Runtime
// parsed (the file is read into memory once, hashed, and the session is built
// from that buffer, so a file swapped after the hash cannot be what runs);
// the service puts these hashes in its attestation claims. Model.Infer checks
// every input's name, datatype and shape against the model before running it
// and returns the outputs; a Model is safe for concurrent Infer calls, which
// share one ONNX Runtime session.
//
// ONNX Runtime is a C++ shared library (libonnxruntime.so.1, version 1.24)
// loaded at run time through github.com/yalue/onnxruntime_go, so the package
// builds without it. Its path comes from Options.LibraryPath, else from the
// environment variable COFRE_ONNXRUNTIME_LIB — the one place this package
// reads the environment, because the library is a property of the host, like
// the dynamic loader's search path. `make onnxruntime` fetches a pinned build
// into bin/onnxruntime/. The binding's environment is process-wide: the first
// successful load fixes the library for the life of the process, and it is
// never unloaded.
//
// The package does not: serve HTTP or the Open Inference Protocol (see the
// infer package), authenticate callers, verify the library's own hash (the
// workload measurement covers the image that ships it), load models with
// external data files, or serve FP16, BF16 or string tensors, sequences and
// maps (such models are refused at load with ErrUnsupportedModel).
package runtime
