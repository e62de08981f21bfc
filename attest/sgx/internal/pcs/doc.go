// Package pcs parses what Intel's Provisioning Certification Service
// certifies about SGX platforms: the SGX extension of PCK certificates
// (ASN.1), SGX TCB info and QE identity (JSON).
//
// Parsing only: bytes become typed values, unknown JSON members and
// out-of-range values are refused, and the signed bytes of each JSON document
// are kept exactly as received. No signature, date or match is checked here;
// package sgx verifies.
package pcs
