package tdx

import "github.com/cofre-cc/cofre/attest/tdx/internal/quote"

// maxPayloadSize bounds a tdx.quote.v4 payload; see quote.MaxSize for the
// reasoning (a real quote is about 5 KB).
const maxPayloadSize = quote.MaxSize

// maxTCBInfoSize bounds the TCB info JSON. Intel's TDX TCB info for one
// FMSPC is 5–10 KB (a handful of TCB levels of 16+16 components each, plus
// TDX module identities); 256 KiB leaves room for years of added levels
// while bounding the JSON decoder's work on a hostile source.
const maxTCBInfoSize = 256 << 10

// maxQEIdentitySize bounds the QE identity JSON. Intel's is under 1 KB
// (one identity and a few TCB levels).
const maxQEIdentitySize = 64 << 10

// maxSigningChainSize bounds the TCB signing chain PEM: two P-256
// certificates, under 2 KB.
const maxSigningChainSize = 16 << 10

// maxCRLSize bounds one CRL. Intel's root CA CRL is a few hundred bytes and
// its PCK CA CRLs a few KB (tens of KB for the processor CA as revocations
// accumulate); 1 MiB bounds the DER parser's work and memory.
const maxCRLSize = 1 << 20

// maxTCBLevels bounds the TCB levels of a TCB info, a TDX module identity
// or a QE identity. Intel publishes fewer than 20 per list; the bound caps
// the evaluation loop over collateral that passed its signature check only
// because a caller trusted a test root.
const maxTCBLevels = 1024
