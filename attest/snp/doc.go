// Package snp verifies AMD SEV-SNP attestation reports, evidence format
// "sevsnp.report" (attest.FormatSEVSNP), and produces them inside a
// SEV-SNP guest (Producer: configfs-tsm, or /dev/sev-guest).
//
// # Payload
//
// The payload is the raw attestation report as the AMD secure processor
// signs it (abi.ReportSize = 1184 bytes, little-endian, SEV-SNP firmware ABI
// specification 56860, table "ATTESTATION_REPORT"), optionally followed
// directly by the certificate table that the Linux SNP_GET_EXT_REPORT ioctl
// (or the configfs-tsm "auxblob") returns:
//
//	report  [1184]byte
//	table   []entry, ended by an all-zero entry
//	        entry = GUID [16]byte ‖ offset uint32le ‖ length uint32le
//	        (offset counts from the start of the table)
//	blobs   the certificates the entries point at, then any padding
//
// Entries are recognized by the GUIDs of AMD's GHCB specification 56421:
// VCEK, VLEK, ASK (or ASVK) and ARK; others are ignored. A payload without a
// table is a bare report. A payload is at most 64 KiB past the report.
//
// # What is verified
//
//   - The report parses and its reserved (must-be-zero) fields are zero,
//     through go-sev-guest's abi package; the version is 2 to 5 and the
//     signature algorithm is ECDSA P-384 with SHA-384.
//   - The endorsement key certificate: the VCEK from the certificate table if
//     it carries one, else from opts.Collateral (collateral.KindVCEK, keyed by
//     product line, CHIP_ID and REPORTED_TCB); a VLEK only from the table,
//     since AMD's KDS serves VLEKs to cloud providers only.
//   - Its chain to AMD's root key (ARK) at opts.Time(), with go-sev-guest's
//     verify package, including the KDS certificate profile (subject names,
//     RSA-PSS signatures, extensions). The ARK is always one of the
//     verifier's trust anchors (go-sev-guest's embedded AMD roots unless
//     overridden); an ARK carried by the table or the collateral must equal
//     it. The ASK may come from the table or from collateral.KindASKARK, and
//     otherwise is the embedded one; either way the ARK must have signed it.
//   - The VCEK is this chip's at this TCB: its HWID extension equals CHIP_ID
//     (unless the host masked CHIP_ID) and its TCB extensions equal
//     REPORTED_TCB.
//   - The report signature.
//   - REPORTED_TCB is no higher than CURRENT_TCB in any component
//     (attest.ErrTCB otherwise: a VCEK cannot be derived for a TCB the
//     firmware does not run).
//   - Revocation: the ARK-signed CRL (collateral.KindAMDCRL, amd_crl.der, with Product
//     set, AMD KDS's /vcek/v1/{product}/crl) must not list the ASK. A CRL
//     that is missing or past its nextUpdate is a warning; one that does not
//     parse or is not signed by the ARK is refused (attest.ErrCollateral).
//
// The product line (Milan, Genoa, Turin) whose root must sign the chain is
// the one in the report's signed CPUID fields (version 3 and later), else
// the one the VCEK's productName extension names, as in go-sev-guest. To
// look a VCEK up for a version 2 report, the table's extra-platform-info
// entry is used if present, else Milan.
//
// # What is not checked
//
// The verifier vouches for the report's authenticity only. It does not
// compare MEASUREMENT, HOST_DATA, ID/author key digests, the guest policy,
// VMPL, GUEST_SVN or the TCB against minimums: that is policy (package
// appraise), which sees them in Claims and Claims.Raw. AMD publishes no TCB
// verdict, so Claims.TCBStatus is attest.TCBUnevaluated. Freshness and the
// report-data binding are checked by the caller (attest.CheckBinding).
// VCEK serial numbers are not looked up in the CRL (AMD issues them all as
// serial 0 and revokes by TCB instead), and the VLEK endpoint's CRL is not
// fetched: revocation of VLEK chains is reported as not checked.
// ID and author key signatures (the ID block) are not re-verified: the AMD
// secure processor verified them at launch and signs their digests.
//
// Limitations of go-sev-guest v0.15.0 that show through: Turin VCEKs carry
// an fmcSPL extension the library does not know, so their chains are
// refused; reports newer than version 5 are refused as malformed.
//
// # Claims
//
// Measurement is MEASUREMENT (48 bytes); Signer is AUTHOR_KEY_DIGEST when
// AUTHOR_KEY_EN is set, else ID_KEY_DIGEST; ProductID is the product line;
// SVN is GUEST_SVN; TCB holds "bootloader", "tee", "snp", "microcode" (and
// "fmc" on Turin) from REPORTED_TCB; Debug is the policy's DEBUG bit;
// ReportData is REPORT_DATA (64 bytes); PlatformID is CHIP_ID (64 bytes,
// zero when masked). Raw holds the remaining report fields.
package snp
