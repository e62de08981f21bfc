// Package layout parses the parts of the Intel DCAP quote layout that SGX
// quotes (version 3) and TDX quotes (version 4) share: the SGX report body
// (REPORTBODY), which is the QE's report in both and the attested enclave's
// in SGX quotes; the QE report certification data (QE report, its PCK
// signature, QE authentication data and the nested certification data, which
// must be type 5, a PEM PCK certificate chain); the PEM chain itself; and
// Intel's QE vendor ID.
//
// Parsing only: bytes become typed values, lengths are checked against what
// remains before they are used, and reserved fields must be zero. There is no
// cryptography and no policy here. The quote headers and bodies, which differ
// between the versions, are parsed by attest/sgx/internal/quote and
// attest/tdx/internal/quote.
//
// Layout and offsets follow "Intel SGX ECDSA Quote Library API", Appendix A
// (Quote Format, version 3), and "Intel TDX DCAP Quote Generation Library and
// Quote Verification Library API", appendix "Quote Format" (version 4), which
// reuses the version 3 structures inside certification data type 6. Numbers
// are little-endian; signatures and keys are big-endian r ‖ s and x ‖ y.
package layout
