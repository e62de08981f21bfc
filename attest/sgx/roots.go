package sgx

import "github.com/cofre-cc/cofre/attest/internal/dcap"

// IntelRootFingerprint is the SHA-256 of the embedded Intel SGX Root CA's
// DER encoding, the default trust anchor of a Verifier. The certificate and
// its source are documented, and its fingerprint tested, in
// attest/internal/dcap, which SGX and TDX verification share.
const IntelRootFingerprint = dcap.IntelRootFingerprint
