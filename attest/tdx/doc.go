// Package tdx verifies Intel TDX quotes, evidence format "tdx.quote.v4"
// (attest.FormatTDX), against Intel's root of trust and Intel PCS
// collateral, offline, and produces them inside a TD (Producer:
// configfs-tsm, or /dev/tdx_guest).
//
//	v := tdx.NewVerifier(tdx.Config{}) // Intel SGX Root CA, embedded
//	claims, err := v.Verify(ctx, ev, attest.Options{Now: t, Collateral: collateral.Dir(dir)})
//
// # Payload
//
// The payload is a raw TDX quote, version 4, as /dev/tdx_guest (TDX_CMD_GET_QUOTE)
// or configfs-tsm (outblob) return it: a 48-byte header (attestation key
// type 2, ECDSA P-256; TEE type 0x81), the 584-byte TD quote body of TDX
// 1.0, and the signature data with certification data type 6 (QE report)
// whose nested certification data is type 5 (the PEM PCK certificate chain:
// PCK certificate, PCK Platform or Processor CA, Intel SGX Root CA). It is
// at most 64 KiB. Bytes after the signature data are outside every
// signature; they are ignored and counted in Raw["trailing_bytes"]. Version
// 5 quotes (TDX 1.5 bodies) and P-384 attestation keys are refused as
// malformed.
//
// # Collateral
//
// Collateral comes only from opts.Collateral; a nil source is refused with
// attest.ErrCollateral and nothing is ever fetched from the network here.
// The verifier asks, with TEE "tdx", for:
//
//   - collateral.KindTCBSigningChain: the PEM chain whose first certificate,
//     "Intel SGX TCB Signing", signs TCB info and QE identity;
//   - collateral.KindTCBInfo, with FMSPC (upper-case hex) from the PCK
//     certificate: Intel PCS's JSON {"tcbInfo": …, "signature": …},
//     TDX TCB info version 3;
//   - collateral.KindQEIdentity: Intel PCS's JSON {"enclaveIdentity": …,
//     "signature": …} for the TD QE, version 2;
//   - optionally collateral.KindRootCRL and collateral.KindPCKCRL (CA
//     "platform" or "processor", after the PCK certificate's issuer), DER
//     or PEM.
//
// # What is verified
//
// Everything but the quote layout, the TDX module and the claims is what
// every Intel DCAP quote must satisfy, SGX or TDX, and is implemented once,
// for both, in attest/internal/dcap.
//
//   - The quote's layout (package internal/quote): sizes and size fields
//     that must agree, header values, certification data types, the QE
//     report's must-be-zero fields, exactly three PEM certificates in the
//     PCK chain; a QE vendor ID other than Intel's is refused with
//     attest.ErrCollateral (Intel collateral cannot describe it).
//   - The PCK chain: the leaf is an "Intel SGX PCK Certificate" issued by
//     an "Intel SGX PCK Platform CA" or "… Processor CA"; the chain's root
//     is byte for byte the verifier's root; each certificate is valid at
//     opts.Time() and issued by the next; none carries an unknown critical
//     extension; the leaf is not a CA, its key is P-256 and its SGX
//     extension (FMSPC, PCE ID, SGX TCB components, PCESVN, CPUSVN, SGX
//     type) parses.
//   - The signatures: the PCK key signed the QE report; the QE report data
//     is SHA-256(attestation key ‖ QE authentication data) followed by 32
//     zero bytes; the attestation key signed the header and TD quote body.
//   - The collateral: the TCB signing chain is the "Intel SGX TCB Signing"
//     certificate, issued by the root and valid at opts.Time(), optionally
//     followed by the root itself; its key signed the exact bytes of
//     "tcbInfo" and "enclaveIdentity"; both parse strictly (unknown members
//     are refused, so a future PCS data model fails closed), with the
//     identifiers, versions and tcbType above, every TCB level with a known
//     status, an RFC 3339 date and (for platform levels) 16 SGX and 16 TDX
//     components; issueDate ≤ opts.Time() ≤ nextUpdate for both.
//   - Revocation, when the CRLs are available: the root CA CRL must not list
//     the PCK CA (attest.ErrCertificate) or the TCB signing certificate
//     (attest.ErrCollateral); the PCK CRL must not list the PCK certificate
//     (attest.ErrCertificate). A CRL must name and be signed by its issuer.
//     A CRL that is not available is a warning ("… CRL not available"); one
//     past its nextUpdate is still used, since revocations are permanent,
//     and is a warning (its thisUpdate is not checked); one that does not
//     parse or verify is refused. (SGX refuses a CRL outside its validity
//     period instead: see dcap.CRLDates.)
//   - The collateral describes this quote: FMSPC and PCE ID equal the PCK
//     certificate's; MRSIGNERSEAM and the masked SEAMATTRIBUTES equal the
//     TDX module's ("tdxModule" for major version 0, else the identity
//     "TDX_<major>"); the QE report's MRSIGNER, ISVPRODID, masked MISCSELECT
//     and masked ATTRIBUTES equal the TD QE identity's.
//   - The TCB level, as Intel's DCAP quote verification does: the first
//     platform level met by the PCK certificate's SGX components and PCESVN
//     and by TEE_TCB_SVN (from index 2 when the module's major version is
//     not 0), the first level of the TDX module identity met by
//     TEE_TCB_SVN[0], and the first QE identity level met by the QE's
//     ISVSVN. No matching level, or a combined status of Revoked, is
//     attest.ErrTCB. The combined status is the union of the three levels'
//     facets (an out-of-date module or QE makes the whole OutOfDate, and so
//     on); any status but UpToDate is a warning, not a refusal.
//
// Refusals are *attest.CheckError values naming the check, the field and
// the expected and actual values; checks of one stage that fail together
// are joined. Each refusal wraps exactly one attest.Err* class.
//
// # What is not checked
//
// The verifier vouches for the quote's authenticity and Intel's verdict on
// the platform, nothing more. It does not compare MRTD, RTMRs, MRCONFIGID,
// MROWNER, MROWNERCONFIG, TD_ATTRIBUTES, XFAM or the TCB against policy:
// that is package appraise, which finds them in Claims and Claims.Raw. It
// does not check the report-data binding (the caller does, with
// attest.CheckBinding) and does not replay RTMRs against an event log. A
// debug TD is accepted with a warning. It does not require a minimum
// tcbEvaluationDataNumber (it is in Raw), and it does not evaluate the
// platform-CA extensions of multi-socket platforms (platform instance ID,
// dynamic platform, cached keys, SMT) or the SGX type. The
// header's reserved bytes 8–11 and the QE authentication data are signed
// but not interpreted. The PPID in the PCK certificate is not exposed: it
// identifies one machine.
//
// # Claims
//
// Measurement is MRTD (48 bytes). Signer is empty and SVN is 0: a TD has no
// code signer or security version of its own (MRSIGNERSEAM is the TDX
// module's signer, Intel, and MROWNER is set by the host at launch; both
// are in Raw). ProductID is empty. TCB holds "tdx_module_svn",
// "tdx_module_major" and "tdx_late_microcode" (TEE_TCB_SVN bytes 0, 1 and 2,
// the ones Intel's TCB info rates; all 16 are in Raw["tee_tcb_svn"]),
// "pcesvn" from the PCK certificate and "qesvn", the QE's ISVSVN. Debug is
// TD_ATTRIBUTES bit 0. ReportData is REPORTDATA (64 bytes). PlatformID is
// the FMSPC (6 bytes). TCBStatus, TCBDate and Advisories are the combined
// status, the earliest date and the union of advisories of the matched
// platform, TDX module and QE levels. Raw holds mr_seam, mr_signer_seam,
// seam_attributes, td_attributes (and td_attributes_flags, the names of its
// set bits), xfam, mr_config_id, mr_owner, mr_owner_config, rtmr0–rtmr3,
// tee_tcb_svn, cpusvn (the PCK certificate's 16 SGX TCB components), pce_id,
// pck_ca, qe_mrenclave, the per-part statuses tcb_status_platform,
// tcb_status_tdx_module (with tdx_module_identity) and tcb_status_qe, and
// the tcbEvaluationDataNumber of the TCB info and the QE identity.
//
// # go-tdx-guest
//
// The package depends on the standard library only. Its tests use
// github.com/google/go-tdx-guest as a source of real vectors (a Sapphire
// Rapids quote, Intel PCS responses, CRLs) and as a differential oracle: its
// quote parser must read every field as internal/quote does, and its
// verifier must refuse every tampered signature that this one refuses.
// go-tdx-guest's verify package is not used for verification: it refuses
// every TCB status other than UpToDate once collateral is used (cofre
// reports them as warnings and lets policy decide), rates a TDX module by
// its identity alone and drops the platform level's status, reaches
// collateral only through URL-keyed HTTP responses with issuer chains in
// headers, accepts only Platform-CA PCK chains, does not wrap its errors (so
// refusals could not be classified), and logs through a global logger to
// stdout. Its abi.QuoteToProto also panics on a truncated signature data
// section, so untrusted bytes are parsed by internal/quote.
package tdx
