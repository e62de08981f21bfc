// Package maa consumes Microsoft Azure Attestation (MAA) tokens, evidence
// format attest.FormatMAA ("azure.maa.jwt"), so that a workload Azure
// Attestation has attested can be admitted by a cofre policy.
//
// The payload is the token exactly as MAA returned it: a compact JWS
// (header.payload.signature, base64url without padding). Build a Verifier
// with the MAA instances you trust and verify with a collateral source that
// holds their signing keys:
//
//	v, err := maa.NewVerifier(maa.Config{TrustedIssuers: []string{"https://sharedeus2.eus2.attest.azure.net"}})
//	claims, err := v.Verify(ctx, ev, attest.Options{Collateral: src})
//
// # What is verified
//
//   - Syntax: three segments of canonical base64url; header and payload are
//     JSON objects without duplicate member names (limits in limits.go).
//   - Algorithm: "alg" must be RS256. "none", HMAC (HS256 keyed with the
//     public key is the classic confusion attack) and every other algorithm
//     are refused with attest.ErrSignature, as is a "crit" header.
//   - Issuer: "iss" must be one of Config.TrustedIssuers, exactly; otherwise
//     attest.ErrCertificate.
//   - Signing key: the JWKS is fetched only through opts.Collateral, as
//     collateral.Request{Kind: collateral.KindJWKS, URL: iss +
//     "/.well-known/openid-configuration"} (an online source follows
//     jwks_uri; an offline bundle holds jwks.json). A nil Collateral is
//     refused with attest.ErrCollateral. The key is the one whose "kid"
//     matches the header's; keys are never taken from the token itself, and
//     a "jku" header is never fetched: it is only required to be an https
//     URL on the issuer's origin (else attest.ErrCertificate). Keys may carry
//     an x5c chain, "n"/"e", or both (which must agree); they must be RSA of
//     1024 to 8192 bits, with "alg" RS256 and "use" sig when given. An x5c
//     chain must be internally consistent (each certificate signed by the
//     next, a self-issued last one by itself) and its leaf valid at
//     opts.Time().
//   - Signature: RS256 over the first two segments, by that key (jwx).
//   - Validity: "exp" is required; "exp", "nbf" and "iat" are checked at
//     opts.Time() with one minute of leeway (clockSkew). A token outside its
//     validity is refused with attest.ErrCertificate.
//   - Version: "x-ms-ver" must be one of Config.Versions (default "1.0").
//   - Claims: x-ms-attestation-type selects the claim set. An Azure VM guest
//     token ("azurevm") carries its TEE claims in x-ms-isolation-tee
//     ("sevsnpvm" or "tdxvm"); MAA's SevSnpVm, TdxVm and SgxEnclave
//     endpoints put them at the top level. Required claims (measurement,
//     report data for SEV-SNP and TDX, the debug flag, MRSIGNER for SGX) must
//     be present with the right type and size, else attest.ErrMalformed.
//
// # Refusal classes
//
//   - attest.ErrMalformed: not a compact JWS, duplicate JSON members, a
//     missing or mistyped claim, an unknown x-ms-attestation-type or x-ms-ver.
//   - attest.ErrSignature: an algorithm other than RS256, a "crit" header, a
//     kid the issuer's JWKS does not list, a signature that does not verify.
//   - attest.ErrCertificate: an untrusted iss, a jku off the issuer's origin,
//     a token outside exp/nbf/iat, a signing certificate outside its validity
//     or whose x5c signatures do not verify.
//   - attest.ErrCollateral: no collateral source, no JWKS, a JWKS that does
//     not parse, or a selected key that is not a usable RS256 key.
//   - attest.ErrTCB: MAA's TDX attester_tcb_status is unknown or Revoked.
//
// # Claims mapping
//
//   - SEV-SNP: x-ms-sevsnpvm-launchmeasurement → Measurement, -reportdata →
//     ReportData (64 bytes), -is-debuggable → Debug, -guestsvn → SVN,
//     -idkeydigest → Signer; -bootloader-svn, -tee-svn, -snpfw-svn,
//     -microcode-svn → TCB "bootloader", "tee", "snp", "microcode";
//     host data, key digests, family and image IDs, report ID, VMPL,
//     migration and SMT flags → Raw.
//   - TDX: tdx_mrtd → Measurement, tdx_report_data → ReportData (64 bytes),
//     tdx_td_attributes_debug (or TDATTRIBUTES bit 0, or a dbgstat other
//     than "disabled…") → Debug, tdx_seamsvn → TCB "seamsvn"; RTMRs, MRSEAM,
//     MRSIGNERSEAM, MRCONFIGID, MROWNER(CONFIG), TEE_TCB_SVN, attributes,
//     XFAM → Raw. attester_tcb_status is MAA's verdict on Intel's TCB level:
//     it becomes TCBStatus (an unknown or Revoked level is refused with
//     attest.ErrTCB; a non-UpToDate one is a warning), and
//     attester_advisory_ids become Advisories.
//   - SGX: x-ms-sgx-mrenclave → Measurement, -mrsigner → Signer,
//     -product-id → ProductID (decimal), -svn → SVN, -is-debuggable → Debug,
//     -report-data → ReportData (only newer tokens carry it; the report data
//     is then empty), -ehd (enclave held data) and KSS identities → Raw.
//   - x-ms-compliance-status (SEV-SNP, TDX) → Raw "compliance_status", with a
//     warning unless it is "azure-compliant-cvm". Debug mode is a warning.
//   - Raw also holds "issuer", "kid", "version", validity times, the policy
//     hash, x-ms-runtime ("runtime", and "tee_runtime" from
//     x-ms-isolation-tee) and the x-ms-azurevm-* boot claims ("azurevm").
//   - Every claim set carries the warning that Azure Attestation, not cofre,
//     saw the hardware evidence. TCBStatus is attest.TCBUnevaluated unless MAA
//     states one (TDX only).
//
// # What is NOT checked
//
//   - The hardware evidence itself. cofre trusts the MAA instance's
//     appraisal of the SEV-SNP report, TDX or SGX quote and their vendor
//     chains; it does not see them.
//   - Who MAA is: the x5c chain is not verified up to a Microsoft root, and
//     the SGX quote MAA embeds in its self-signed signing certificates (the
//     attestation of MAA's own enclave) is not verified. Trust in a key comes
//     from its presence in the trusted issuer's JWKS, so the collateral
//     source must reach the issuer over authenticated TLS or be a bundle
//     taken from it. Keys removed from the JWKS stop verifying; there is no
//     other revocation.
//   - The attestation policy MAA applied: x-ms-policy-hash is reported, not
//     compared. A shared instance's default policy admits any genuine TEE.
//   - Freshness and binding: nonces, x-ms-runtime and the report data are
//     reported, and attest.CheckBinding or appraisal must check them. In
//     MAA's flows the report data usually holds SHA-256 of the runtime data
//     followed by zeros.
//   - The x-ms-azurevm-* boot claims (secure boot, debuggers, OS) are passed
//     on in Raw unjudged. SEV-SNP and SGX TCB levels: MAA gives no verdict,
//     so TCBStatus stays Unevaluated. PlatformID (CHIP_ID, FMSPC) and the
//     SEV-SNP processor family are not in MAA's tokens and stay empty.
//   - The deprecated unprefixed SGX claims (sgx-mrenclave, is-debuggable…)
//     are ignored, not cross-checked against the x-ms-sgx-* ones.
package maa
