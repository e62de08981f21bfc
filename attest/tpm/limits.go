package tpm

// maxPayloadSize bounds a serialized Attestation. Real GCE attestations are
// about 30 KiB, almost all of it the TCG event log; logs of bare-metal
// machines with many EFI drivers reach a few hundred KiB. The bound stops a
// hostile caller from making the verifier decode (and replay) megabytes.
const maxPayloadSize = 1 << 20

// maxQuotes bounds the quotes in one attestation. go-tpm-tools makes one quote
// per PCR bank and a TPM has at most four banks we know (SHA-1, SHA-256,
// SHA-384, SHA-512); each bank may appear once.
const maxQuotes = 4

// maxIntermediates bounds the intermediate certificates an attestation may
// carry. Google's chains have one intermediate; the bound keeps chain building
// (which is quadratic in the pool size) cheap.
const maxIntermediates = 4

// maxCertSize bounds the AK certificate and each intermediate. GCE AK
// certificates are about 1.4 KiB; 16 KiB leaves room for large extensions
// while keeping certificate parsing cheap.
const maxCertSize = 16 << 10

// maxExtraData is the largest quote extraData a TPM can sign: TPM2B_DATA is
// bounded by sizeof(TPMU_HA), 64 bytes (TPM 2.0 Part 2, 10.4.3). It is also
// exactly attest.ReportDataSize, so cofre's report data fits.
const maxExtraData = 64

// numPCRs is the number of PCRs in a bank of a PC Client TPM (TCG PC Client
// Platform TPM Profile, 4.6). go-tpm-tools' PCR digest ignores indices at or
// above it, so a value there could never be covered by a quote: we refuse it.
const numPCRs = 24
