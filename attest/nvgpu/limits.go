package nvgpu

// maxPayloadSize bounds an nvidia.spdm payload. A real H100 report is
// 4,049 bytes (37-byte request, 64 blocks of 55 bytes, 354 bytes of opaque
// data, a 96-byte signature); even 254 blocks of SHA-512 digests and the
// SPDM maximum of opaque data stay under 20 KiB. The bound keeps a hostile
// caller from making the verifier hash or copy megabytes.
const maxPayloadSize = 64 << 10

// maxOpaqueSize is SPDM 1.1's own bound on OpaqueLength (DSP0274 1.1,
// MEASUREMENTS response: "shall be less than or equal to 1024").
const maxOpaqueSize = 1024

// maxChainLength bounds the certificates taken from the collateral chain.
// NVIDIA's chain is five long (attestation key, device, provisioner ICA,
// GH100 identity, root); the bound stops a hostile collateral source from
// making the verifier parse and try an unbounded pool of certificates.
const maxChainLength = 8

// minChainLength is the attestation key certificate, the device certificate
// that issued it (whose serial becomes Claims.PlatformID) and the root.
const minChainLength = 3

// maxChainSize bounds the PEM chain. NVIDIA's is under 5 KiB.
const maxChainSize = 64 << 10
