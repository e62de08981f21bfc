// Package attest defines what cofre knows about attestation evidence: the
// Evidence envelope, the normalized Claims a verifier extracts from it, the
// Producer and Verifier interfaces each TEE format implements, and the
// report-data binding that ties evidence to a nonce, a workload key and a
// workload digest.
//
// A Verifier answers one question: is this evidence genuine? It checks the
// vendor signature, certificate chain, collateral and TCB level, and returns
// Claims. It does not decide whether the claimed measurement is acceptable;
// that is policy, and lives in package appraise.
//
// Each format lives in its own package (attest/sim, attest/snp, attest/tdx,
// attest/sgx, attest/tpm, attest/nvgpu, attest/maa); package attest/formats
// wires them into a Registry. Vendor collateral reaches verifiers only through
// a collateral.Source passed in Options: there is no implicit network access.
package attest
