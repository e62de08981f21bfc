package oip

// Limits of the codec and the handler. Each bounds what an unauthenticated
// or hostile request can make the service allocate or compute before the
// model runs.
const (
	// MaxBodySize bounds a plaintext inference request body, 16 MiB. The
	// largest input cofre serves, a 1×224×224 FP32 image, is about 1 MiB
	// as JSON; 16 MiB leaves room for a batch without letting one request
	// hold much of the enclave's memory (the body, its decoded tensors and
	// the model's activations are all resident at once).
	MaxBodySize = 16 << 20

	// MaxElements bounds the total number of tensor elements in one request
	// or response, 4 Mi: a 3×1024×1024 image fits; at 8 bytes per FP64 or
	// INT64 element the decoded tensors stay under 32 MiB. The count is
	// checked from the declared shapes before any data is allocated.
	MaxElements = 1 << 22

	// MaxRank bounds a tensor's rank, 8: ONNX vision and tabular models use
	// at most 5 (N, C, D, H, W). The rank also bounds the nesting depth of
	// nested data arrays, which the data parser walks recursively.
	MaxRank = 8

	// MaxTensors bounds the inputs, and separately the requested outputs,
	// of one request, 64: models with more inputs are not served by cofre,
	// and each tensor costs a lookup against the model's metadata.
	MaxTensors = 64

	// MaxNameSize bounds a tensor name, a request id and a model name in
	// bytes, 256: ONNX graph names are short; names are echoed in errors and
	// responses and logged.
	MaxNameSize = 256

	// MaxParameters bounds the members of a "parameters" object, 32. The
	// values are not interpreted (only a few names are refused), but each
	// is kept in memory.
	MaxParameters = 32
)
