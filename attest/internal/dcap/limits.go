package dcap

import "github.com/cofre-cc/cofre/attest/collateral"

// Limits on untrusted collateral. The quotes' limits live with their parsers
// (attest/sgx/internal/quote, attest/tdx/internal/quote and layout), those of
// TCB info, QE identity and the PCK extension with theirs (pcs/limits.go).

// maxCRLSize bounds a PCK or root CA CRL. Intel's processor CA CRL is the
// largest item Intel PCS serves and is a few hundred KiB at most; the bound
// is the collateral package's per-item bound, so a CRL any Source can
// deliver is parsed, and a larger one from a custom Source is refused before
// any ASN.1 parsing.
const maxCRLSize = collateral.MaxItemSize

// maxSigningChainSize bounds the TCB signing chain PEM (two P-256
// certificates, about 2 KiB).
const maxSigningChainSize = 32 << 10
