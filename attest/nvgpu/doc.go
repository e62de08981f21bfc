// Package nvgpu verifies NVIDIA GPU attestation reports, evidence format
// nvidia.spdm (attest.FormatNVGPU), as produced by Hopper (H100) GPUs in
// confidential-computing mode.
//
// # Payload
//
// The payload is binary: the SPDM 1.1 GET_MEASUREMENTS request the
// verifier's side sent, immediately followed by the MEASUREMENTS response
// the GPU returned. This is what the NVIDIA driver hands out as the
// "attestation report" (NVML nvmlDeviceGetConfComputeGpuAttestationReport);
// NVIDIA's samples store it as hex text, which the caller decodes first.
//
//	request  (37 bytes): 0x11 0xE0 param1=0x01 (signature) param2=0xFF (all
//	                     blocks) ‖ nonce (32) ‖ slot (1)
//	response:            0x11 0x60 param1=0 param2=slot ‖ number of blocks (1)
//	                     ‖ record length (3, LE) ‖ measurement record ‖
//	                     responder nonce (32) ‖ opaque length (2, LE) ‖
//	                     opaque data ‖ signature (96: ECDSA P-384 r ‖ s)
//
// Each measurement block is index ‖ 0x01 (DMTF) ‖ size (2) ‖ value type
// (1) ‖ value size (2) ‖ value; indices must ascend. The opaque data is
// NVIDIA's list of type (2) ‖ size (2) ‖ data fields: driver version, VBIOS
// version, project, SKUs, measurement counts…
//
// The attestation key's certificate chain is not in the report. In
// production the NVIDIA driver returns it beside the report (NVML
// nvmlDeviceGetConfComputeGpuCertificate); here it comes from
// opts.Collateral as collateral.KindNVIDIACertChain (cert_chain.pem: the
// attestation key certificate first, the root last). A nil Collateral is
// refused with attest.ErrCollateral.
//
// # What Verify checks
//
//   - The layout above, strictly: every length, the message codes, SPDM
//     version 1.1 in both messages, signature requested over all
//     measurements from a certificate slot 0..7, the fields SPDM 1.1
//     reserves, DMTF-format blocks with known value types, each opaque
//     field type at most once, printable strings, nothing after the
//     signature (attest.ErrMalformed).
//   - The chain, in the order given, from the attestation key certificate
//     to NVIDIA's Device Identity CA, embedded in this package and pinned
//     byte for byte, every certificate valid at opts.Time(), each signed
//     by the next, CA and key-usage bits as x509 checks them
//     (attest.ErrCertificate; an unreadable chain is attest.ErrCollateral).
//   - The ECDSA P-384 signature by the attestation key over SHA-384 of the
//     request and the response without its signature, as SPDM 1.1 and
//     NVIDIA's verifier define it (attest.ErrSignature). The request is
//     signed, so its nonce is bound to the measurements.
//
// # Claims
//
//   - Measurement: SHA-384 of the measurement record as sent, which is
//     every block (index, specification, sizes, type and value) in
//     ascending index order. A policy pins it; the single values are in
//     Raw as "measurement_01"… (hex, by block index).
//   - ReportData: the requester's 32-byte SPDM nonce, as is. SPDM has no
//     64-byte field; the response's own nonce is the responder's and is in
//     Raw as "responder_nonce". SPDM does not echo the requester's nonce:
//     it is bound because the signed transcript contains the request.
//   - ProductID: PROJECT_PROJECTSKU_CHIPSKU from the opaque data, as NVIDIA
//     names VBIOS reference values ("1010_0200_882").
//   - PlatformID: the serial number of the device certificate, the one
//     that issued the attestation key (NVIDIA provisions it once per GPU;
//     "GH100 A01 GSP BROM" on H100).
//   - TCB: "vbios" and "driver", packed so that numbers compare like
//     versions (see tcb in verifier.go). SVN and Signer are not set.
//   - TCBStatus: attest.TCBUnevaluated. Debug: false; the report has no
//     debug indicator.
//   - Raw: the opaque fields by name ("driver_version", "vbios_version",
//     "project", "chip_sku", "measurement_counts", unknown types as
//     "opaque_<type>"), the blocks, "spdm_version", "slot",
//     "responder_nonce", "device_certificate" and "device_name" (from the
//     attestation key certificate's subjectAltName).
//   - Warnings: always RevocationWarning.
//
// # What Verify does not check
//
//   - Reference values: the measurements are not compared with NVIDIA's
//     driver and VBIOS RIMs (reference integrity manifests from NVIDIA's
//     RIM service), so TCBStatus stays Unevaluated; appraisal pins the
//     Measurement digest instead.
//   - Revocation: no OCSP or CRL lookup for the chain (see
//     RevocationWarning).
//   - Freshness: whether ReportData is the relying party's nonce is
//     appraisal's job. Being 32 bytes, it cannot hold attest.ReportData's
//     64 bytes as is.
//   - The GPU's confidential-computing mode (on, off, devtools) and
//     protected-PCIe mode: they are not in the report.
//   - Opaque fields against the chain: a firmware ID (FWID) or certificate
//     issuer/key-identifier field, when present, is reported, not compared
//     with the certificates.
//   - Measurement value sizes against the negotiated hash algorithm, which
//     is not part of this transcript.
//   - SPDM 1.0, 1.2 and later: 1.2 signs a different message. Only H100
//     reports have been tried; other NVIDIA devices (NVSwitch, later GPUs)
//     may differ in opaque fields or chain shape.
package nvgpu
