// Package tpm verifies TPM 2.0 attestations made with go-tpm-tools, evidence
// format attest.FormatTPM ("tpm.gotpmtools"), such as those of Google Compute
// Engine Shielded and Confidential VMs.
//
// # Payload
//
// The payload is a go-tpm-tools attest.Attestation protobuf in binary wire
// format, as client.Key.Attest returns it: the AK public area, the AK
// certificate and optional intermediates, one TPM2_Quote per PCR bank, and
// the TCG event log. Unknown protobuf fields are refused.
//
// # What Verify checks
//
//   - The payload parses: protobuf without unknown fields, within the limits
//     of limits.go; every quote is a TPMS_ATTEST of type quote whose PCR
//     selection is exactly the PCR values supplied with it, one quote per
//     bank, all with the same extraData; the signatures, the AK public area,
//     the certificates and the event log decode (attest.ErrMalformed).
//   - The AK certificate chains, at opts.Time(), to Google's EK/AK roots
//     (DefaultRoots, embedded; WithRoots replaces them), allows
//     digitalSignature, and certifies the key of the AK public area
//     (attest.ErrCertificate). An attestation without an AK certificate is
//     refused: this verifier keeps no list of trusted AK keys.
//   - The quote over the SHA-256 PCR bank: its PCR digest matches the PCR
//     values and the AK's signature over it verifies (attest.ErrSignature).
//     A SHA-256 quote is required; quotes over other banks are parsed but
//     not used, and SHA-1 is never trusted.
//   - The event log replays to the quoted SHA-256 PCRs (attest.ErrSignature),
//     and go-tpm-tools (server.VerifyAttestation, which re-checks the quote)
//     extracts the machine state from it (attest.ErrMalformed if it cannot,
//     including when it panics: event types and much event data are in no
//     digest, so the submitter chooses them even under a genuine quote).
//
// # Report data and nonce
//
// The TPM signs the quote's extraData, at most 64 bytes. A cofre producer
// passes its 64-byte report data (attest.ReportData) as the go-tpm-tools
// nonce, so extraData is the report data. The verifier cannot know the
// relying party's nonce, so it verifies the quote with the extraData the
// quote itself carries and returns it as Claims.ReportData; the binding to
// the expected nonce, key and workload digest is checked later, in appraisal,
// with attest.CheckBinding. Evidence whose extraData is not 64 bytes (such as
// go-tpm-tools' own test attestations) verifies with a warning, but can never
// pass CheckBinding.
//
// # Claims
//
//   - TEE is attest.TEETPM; TCBStatus is attest.TCBUnevaluated (TPMs have no
//     vendor TCB verdict); Debug is false.
//   - Measurement is SHA-256 over the values of the PCRs the SHA-256 quote
//     selects, concatenated in ascending index order: the TPM's own pcrDigest
//     for an AK that signs with SHA-256. go-tpm-tools' client.Attest selects
//     all 24 PCRs, so Measurement changes with anything measured after boot;
//     policies that want only the boot chain pin PCRs by index
//     (appraise reference `raw: {pcrs.7: "<hex>"}`).
//   - PlatformID is SHA-256 of the AK certificate's SubjectPublicKeyInfo: the
//     AK identifies one (v)TPM, and so one VM.
//   - TCB["gce_firmware"] is the GCE virtual firmware version, when the event
//     log's S-CRTM version event names one.
//   - Signer, ProductID and SVN stay empty: a TPM quote has no code signer or
//     product identity.
//   - Raw: "pcr_bank" ("sha256"), "pcr_selection", "pcrs" (index → value);
//     "ak_cert_subject", "ak_cert_issuer", "ak_cert_serial" (hex),
//     "ak_cert_sha256"; "gce_instance" (zone, project_id, project_number,
//     instance_name, instance_id, numbers as decimal strings) from the AK
//     certificate's Google extension, present only for production GCE
//     instances; "gce_technology" (NONE, AMD_SEV, AMD_SEV_ES, AMD_SEV_SNP,
//     INTEL_TDX) and "gce_firmware_version" or "scrtm_version_id" from the
//     event log; "secure_boot" (enabled, and pk, kek, db, dbx each as
//     certificates plus a hash count); "linux_kernel_cmdline" and
//     "grub_file_digests" when the boot went through GRUB; "efi_app_digests";
//     "tee_attestation_unverified" ("sevsnp" or "tdx") when the attestation
//     carries such evidence.
//
// Warnings report: extraData that is not 64 bytes; Secure Boot disabled or
// unknown; no event log; no extractable GRUB state; SEV-SNP or TDX evidence
// or a COS canonical event log carried but not verified; revocation not
// checked.
//
// # What Verify does not check
//
//   - Revocation: the AK certificate's CRL is not fetched, so
//     opts.Collateral is not used (and may be nil).
//   - The attestation's instance_info field, which the client fills and no
//     signature covers: GCE instance information comes only from the
//     verified AK certificate.
//   - The AK public area's attributes (restricted, fixedTPM…): only its key
//     is compared with the certificate, which is what the CA vouches for.
//   - The TPM clock, reset and restart counters and firmware version in the
//     quote, which a TPM obfuscates for keys outside the endorsement
//     hierarchy.
//   - SEV-SNP or TDX evidence embedded in the attestation (attest/snp and
//     attest/tdx verify those formats), the COS canonical event log and the
//     container state go-tpm-tools derives from it, and quotes over banks
//     other than SHA-256.
//   - Whether the PCR values, boot chain or Secure Boot databases are
//     acceptable: that is policy, in package appraise.
//   - Freshness: the report data binds the relying party's nonce, which
//     appraisal checks.
package tpm
