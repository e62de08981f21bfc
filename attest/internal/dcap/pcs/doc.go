// Package pcs parses what Intel's Provisioning Certification Service
// certifies about SGX and TDX platforms: the SGX extension of PCK
// certificates (ASN.1), TCB info (SGX versions 2 and 3, TDX version 3) and
// enclave identities (the SGX QE's and the TD QE's, version 2) (JSON).
//
// Parsing only: bytes become typed values, unknown JSON members and
// out-of-range values are refused, and the signed bytes of each JSON document
// are kept exactly as received. Errors about one member name it with a
// *FieldError. No signature, date or match is checked here; package dcap
// verifies.
//
// Strictness is deliberate: a future PCS data model with new members fails
// closed until this package learns it, rather than being verified on the
// members it happens to share with the old one.
package pcs
