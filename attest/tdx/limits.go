package tdx

import "github.com/cofre-cc/cofre/attest/tdx/internal/quote"

// maxPayloadSize bounds a tdx.quote.v4 payload; see quote.MaxSize for the
// reasoning (a real quote is about 5 KB). The limits on collateral are
// attest/internal/dcap's, which SGX and TDX verification share.
const maxPayloadSize = quote.MaxSize
