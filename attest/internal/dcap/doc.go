// Package dcap verifies what every Intel DCAP quote must satisfy, SGX
// (quote version 3, package attest/sgx) and TDX (quote version 4, package
// attest/tdx) alike, so that the security logic the two share is written,
// tested and audited once.
//
// A verifier parses its quote, then calls Verify with the quote's PCK chain,
// QE report, attestation key and signed bytes, and Options naming its TEE,
// trust root, time, collateral source and CRL date policy. Verify checks, in
// order (see Verify for the details and the refusal classes):
//
//   - the PCK certificate chain: leaf, PCK Platform or Processor CA, and the
//     trusted root byte for byte; validity at the given time; issuer names,
//     signatures and roles (subject names, CA constraints); a P-256 leaf
//     key; and the leaf's SGX extension (FMSPC, PCE-ID, TCB components,
//     PCESVN, CPUSVN, SGX type), parsed by package pcs;
//   - the QE report: signed by the PCK key, with report data
//     SHA-256(attestation key ‖ QE authentication data) ‖ 32 zero bytes;
//     and the quote signature by the attestation key;
//   - the TCB signing chain: "Intel SGX TCB Signing", issued by the root;
//   - the PCK CA's and the root CA's CRLs, when the collateral source has
//     them (a missing CRL is a warning);
//   - TCB info and QE identity of the right TEE ("SGX" v2/v3 and "QE", or
//     "TDX" v3 and "TD_QE"), parsed strictly with their exact signed bytes
//     kept, their signatures, issue and next-update dates, and TCB info's
//     FMSPC and PCE-ID against the PCK certificate's;
//   - the QE report against the QE identity (MRSIGNER, ISVPRODID, masked
//     MISCSELECT and ATTRIBUTES), and the QE's TCB level.
//
// The caller then rates its platform with MatchPlatform (SGX components and
// PCESVN from the PCK certificate, plus TEE_TCB_SVN for TDX), adds any part
// of its own (the TDX module, with MatchISVSVN), and combines the parts'
// levels with Combine, which refuses a Revoked one and merges statuses as
// the union of their facets (stricter than, and wherever it speaks equal
// to, Intel's QVL rule). Subpackage layout parses the quote structures both
// versions share; subpackage pcs parses Intel PCS's formats.
//
// # Not covered
//
// Quote headers and bodies, and so the QE vendor ID check, the quote
// version, MRENCLAVE, MRTD and the other measured values, are the
// verifiers'. So are the claims, the TDX module identity, which TEE_TCB_SVN
// components the platform levels rate, and the warnings about TCB status and
// debug mode. Policy (which measurements, statuses or advisories are
// acceptable) is package appraise's. Nothing here fetches: collateral comes
// only from Options.Collateral, and a nil source is refused.
//
// The verifiers disagreed on one rule before sharing this package, and the
// difference is kept as an explicit option rather than decided here: a CRL
// outside its validity period is refused for SGX and used with a warning
// for TDX (see CRLDates).
package dcap
