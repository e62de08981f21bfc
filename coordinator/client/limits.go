package client

import "time"

const (
	// maxResponseBody bounds a JSON response. The largest are a manifest
	// (api.MaxRequestBody, 1 MiB, base64 in JSON: 1.4 MiB) with its
	// version log, and the coordinator's own evidence (a TPM quote with
	// its event log stays under 1 MiB, base64 again). A coordinator that
	// sends more is broken or hostile; reading on would only fill memory.
	maxResponseBody = 8 << 20

	// maxErrorBody bounds a non-2xx response body: an api.Error is a code,
	// a message and at most a few dozen reasons of short strings.
	maxErrorBody = 64 << 10

	// defaultTimeout bounds each request when Options.Timeout is zero. An
	// activation verifies hardware evidence, possibly fetching vendor
	// collateral on the server side: seconds, not minutes.
	defaultTimeout = 30 * time.Second
)

const (
	// maxReasons bounds the reasons of one *APIError: a refused
	// activation fails a handful of checks; the server caps them too.
	maxReasons = 64

	// maxErrorString bounds each string of an *APIError, in bytes. Real
	// values are messages and hex digests (a SHA-384 measurement is 96
	// hex digits).
	maxErrorString = 512
)
