package runtime

// Limits. Model files and request tensors come from outside the trusted
// code: a model repository on a mounted volume, tensors from callers. Each
// bound keeps one input from exhausting the memory of the enclave, whose
// memory is small and expensive.
const (
	// DefaultMaxModelBytes bounds one model file (Options.MaxModelBytes).
	// The whole file is read into memory and hashed before ONNX Runtime
	// parses it, so this is also the transient memory cost of a load.
	// 512 MiB holds common vision and tabular models; protobuf itself caps
	// a model at 2 GiB.
	DefaultMaxModelBytes = 512 << 20

	// MaxModels bounds the models in one repository: each holds a session
	// with its own weights and thread pool.
	MaxModels = 64

	// DefaultMaxInputElements bounds the elements of one input tensor
	// (Options.MaxInputElements). Models with dynamic dimensions accept any
	// size there; 64 Mi elements (256 MiB of FP32) is far above a 224×224
	// image batch and well below what would exhaust the enclave.
	DefaultMaxInputElements = 64 << 20

	// MaxRank bounds a tensor's number of dimensions. ONNX Runtime kernels
	// rarely go beyond 8; a bound keeps shape arithmetic on untrusted shapes
	// cheap.
	MaxRank = 16

	// maxNameLen bounds a model name (a directory name in the repository).
	maxNameLen = 64
)
