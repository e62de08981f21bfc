// Package sgx verifies Intel SGX DCAP quotes, version 3 (evidence format
// attest.FormatSGX, "sgx.quote.v3"), the way Intel's Quote Verification
// Library does, without depending on it, and produces them inside a
// Gramine enclave (Producer: /dev/attestation).
//
// Use NewVerifier and call Verify with an attest.Options whose Collateral is
// a collateral.Source holding Intel PCS collateral for the platform: TCB info
// (tcb_info.json), QE identity (qe_identity.json) and the TCB signing chain
// (tcb_signing_chain.pem) are required; the PCK CA CRL (pck_crl.der) and the
// root CA CRL (root_crl.der) are optional. A nil Collateral is refused with
// attest.ErrCollateral; nothing is ever fetched from the network here.
//
// # Payload
//
// The payload is the quote exactly as the quoting enclave produced it
// (sgx_qe_get_quote): version 3, attestation key type 2 (ECDSA P-256), TEE
// type 0, and certification data type 5 (the PEM PCK certificate chain).
// Quotes with other certification data (encrypted PPID, types 1–4) need a
// PCK certificate from elsewhere and are refused as malformed.
//
// # Checks
//
// Verify refuses unless all of these hold, in this order. Steps 3 to 9 are
// what every Intel DCAP quote must satisfy, SGX or TDX, and are implemented
// once, for both, in attest/internal/dcap.
//
//  1. The quote parses, with every length bounded and consistent and every
//     reserved field of both report bodies zero (attest.ErrMalformed).
//  2. The QE vendor ID is Intel's: only Intel's QE identity is known
//     (attest.ErrCollateral).
//  3. The certification data holds exactly PCK leaf, PCK CA (Platform or
//     Processor) and root; the root is byte-for-byte the trusted Intel SGX
//     Root CA (embedded, see IntelRootFingerprint); each certificate is
//     valid at opts.Time() and issued by the next; subject names match
//     their roles; no certificate carries an unknown critical extension
//     (attest.ErrCertificate). The leaf carries a well-formed SGX extension
//     (PPID, TCB, PCE-ID, FMSPC, SGX type).
//  4. The PCK key signs the QE report, the QE report data is
//     SHA-256(attestation key ‖ QE authentication data) followed by 32 zero
//     bytes, and the attestation key signs header ‖ ISV enclave report body
//     (attest.ErrSignature; every failure is reported).
//  5. The TCB signing chain is a certificate named "Intel SGX TCB Signing",
//     issued directly by the trusted root and valid at opts.Time()
//     (attest.ErrCollateral).
//  6. For each CRL that is available: the PCK CA's CRL does not list the
//     PCK certificate, and the root CA's CRL lists neither the PCK CA
//     (attest.ErrCertificate) nor the TCB Signing certificate
//     (attest.ErrCollateral). A CRL that is present must be issued and
//     correctly signed by its CA and current: thisUpdate ≤ opts.Time() ≤
//     nextUpdate (attest.ErrCollateral).
//  7. TCB info for the PCK certificate's FMSPC (SGX, version 2 or 3) and
//     the QE identity (id "QE", version 2) are signed by the TCB Signing
//     certificate over the exact bytes of their "tcbInfo" and
//     "enclaveIdentity" members, and issueDate ≤ opts.Time() ≤ nextUpdate;
//     TCB info's FMSPC and PCE-ID equal the PCK certificate's
//     (attest.ErrCollateral).
//  8. The QE report matches the QE identity: MRSIGNER, ISVPRODID, and
//     MISCSELECT and ATTRIBUTES under their masks (attest.ErrCollateral).
//     The QE's ISVSVN meets some QE TCB level (attest.ErrTCB).
//  9. The PCK certificate's TCB (16 SGX TCB components and PCESVN) meets
//     some TCB level of TCB info; the first such level in document order is
//     the platform's (attest.ErrTCB).
//
// The claimed TCB status combines the platform's and the QE's levels as the
// union of their facets (SW hardening needed, configuration needed, out of
// date, revoked). Where Intel's library says anything it agrees: a QE that
// is OutOfDate turns UpToDate and SWHardeningNeeded into OutOfDate, and the
// two configuration-needed statuses into OutOfDateConfigurationNeeded; a QE
// that is UpToDate leaves the platform's status. A combined status of
// Revoked is refused (attest.ErrTCB). The TCB date is the earlier of the two
// levels' dates, and the advisories are the union of both. Any status but
// UpToDate, a debug enclave, and a missing CRL are warnings in the claims,
// not refusals.
//
// # Claims
//
// Measurement is MRENCLAVE, Signer MRSIGNER, ProductID ISVPRODID in decimal,
// SVN ISVSVN, ReportData the 64 bytes of report data, PlatformID the FMSPC,
// Debug the ATTRIBUTES DEBUG bit. TCB holds "pcesvn", "comp01".."comp16"
// (from the PCK certificate, the values the TCB level was matched on) and
// "qe_isvsvn". Raw holds the enclave's cpusvn, miscselect, attributes,
// config_id, config_svn, isv_ext_prod_id and isv_family_id, and the
// platform's pce_id, pck_cpusvn, sgx_type, platform_tcb_status,
// qe_tcb_status and tcb_evaluation_data_number.
//
// The PPID and the platform instance ID of the PCK certificate, and the QE's
// user data in the quote header, identify one physical machine. They are not
// secret, but they let relying parties link attestations across workloads, so
// they are deliberately left out of the claims.
//
// # Not checked
//
//   - Whether MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN, the report data or the
//     TCB status are acceptable: that is policy (package appraise), as is
//     the report-data binding (attest.CheckBinding).
//   - The enclave's own ATTRIBUTES and MISCSELECT beyond reporting them.
//   - The header's QE SVN and PCE SVN (informational; the QE report's ISVSVN
//     and the PCK certificate's PCESVN are what is matched).
//   - The quote's CPUSVN against the PCK certificate's: Intel's library
//     matches TCB levels on the certified values only.
//   - The PCK certificate's platform configuration (dynamic platform, cached
//     keys, SMT) and SGX type, which are reported but not judged.
//   - Freshness of the quote: it carries no time; freshness comes from a
//     nonce in the report data.
//   - TCB info's tcbEvaluationDataNumber against a minimum, and the QE
//     identity's against TCB info's.
//   - Quote versions other than 3 (TDX quotes, version 4, are package tdx's),
//     and QEs other than Intel's.
//
// Collateral documents are parsed strictly: unknown JSON members are
// refused. A future PCS data model with new members therefore fails closed
// (attest.ErrCollateral) until this package learns it.
package sgx
