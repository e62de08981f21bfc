package agent

import "time"

const (
	// defaultMaxBody bounds a request body when Config.MaxBody is zero. An
	// evidence request is 64 bytes of report data, a 32-byte measurement, a
	// signer of at most 64 bytes and a short product id: about 400 bytes of
	// JSON. 4 KiB leaves room for whitespace and nothing else.
	defaultMaxBody = 4 << 10

	// maxFieldSize bounds signer and product_id: it is what sim.v1
	// verifiers accept (SHA-512 is the largest digest a workload reports),
	// so evidence with more would only be refused later.
	maxFieldSize = 64

	// maxEvidenceSize bounds the evidence a client accepts from an agent:
	// the sim.v1 verifier's own payload limit. A real payload is under
	// 2 KiB.
	maxEvidenceSize = 64 << 10

	// maxResponseBody bounds a successful JSON response the client reads:
	// the largest is evidence (maxEvidenceSize, base64 in JSON: 4/3 of it)
	// plus a few fields.
	maxResponseBody = 128 << 10

	// maxErrorBody bounds a non-2xx response body: a code and a message.
	maxErrorBody = 16 << 10

	// maxErrorString bounds the code and message of an *APIError the
	// client returns (the CLI prints them to a terminal).
	maxErrorString = 512
)

// Server timeouts. Requests are tiny and answered from memory (an ECDSA
// signature), so a client slower than these is stuck or hostile; short
// timeouts keep one from holding connections of a node-wide service.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 10 * time.Second
)

// defaultClientTimeout bounds each client request when Client.Timeout is
// zero: the agent is on the same node and answers from memory.
const defaultClientTimeout = 10 * time.Second
