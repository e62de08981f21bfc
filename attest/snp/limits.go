package snp

import "github.com/google/go-sev-guest/abi"

// maxCertTableSize bounds the certificate table that may follow the report.
// Linux hands the guest at most SEV_FW_BLOB_MAX_SIZE (16 KiB) of
// certificate pages, and a real table (VCEK, ASK, ARK) is under 5 KiB; 64
// KiB leaves room for hosts that add extra entries while keeping a hostile
// payload from making the verifier copy megabytes.
const maxCertTableSize = 64 << 10

// maxPayloadSize bounds a whole sevsnp.report payload: one report and one
// certificate table.
const maxPayloadSize = abi.ReportSize + maxCertTableSize

// maxCertEntries bounds the entries of a certificate table. AMD's GHCB
// specification defines four GUIDs (VCEK, VLEK, ASK, ARK) and hosts add one
// or two more; the bound caps the work of the header walk.
const maxCertEntries = 16

// maxCertSize bounds one certificate table entry. AMD's certificates are
// DER X.509 of about 1.3 KiB (VCEK) and 1.7 KiB (ASK, ARK, 4096-bit RSA).
const maxCertSize = 16 << 10
