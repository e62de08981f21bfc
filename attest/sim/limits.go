package sim

// maxPayloadSize bounds a sim.v1 payload. A real one is under 2 KiB (a
// report and one or two certificates); the bound stops a hostile caller
// from making the verifier parse megabytes of JSON.
const maxPayloadSize = 64 << 10

// maxChainLength bounds the certificates a payload may carry: the platform
// certificate and at most two intermediates.
const maxChainLength = 3

// maxFieldSize bounds measurement and signer values (SHA-512 is the largest
// digest a workload would report).
const maxFieldSize = 64
