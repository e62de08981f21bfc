// Package oip implements the HTTP/REST binding of the Open Inference
// Protocol v2 (the KServe v2 / Triton protocol): the JSON types, a strict
// and bounded codec for inference requests and responses, and an
// http.Handler that serves the health, metadata and inference endpoints in
// front of a Backend.
//
// The handler optionally accepts request bodies sealed with package sealed
// (Content-Type sealed.MediaType) and then seals its answer back, so an
// inference request is opaque to anything between the client and the
// attested service, a TLS-terminating proxy included.
//
// Decoding is strict: unknown fields are refused, every tensor's datatype,
// shape and element count are checked against each other and against the
// limits in limits.go, and every number must be representable in the
// declared datatype (an INT8 tensor refuses 128 and 1.5). Data may be a flat
// row-major array or nested arrays matching the shape.
//
// The package does not run models (Backend does), does not authenticate
// callers (wrap the handler with token.RequireAttestation), does not
// implement the binary tensor data extension, the BYTES and 16-bit
// datatypes, model versions in paths, or the model repository and
// statistics extensions.
package oip
