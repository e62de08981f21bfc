// Package pki is the coordinator's workload PKI: a root CA per coordinator,
// an intermediate CA per manifest version, X.509-SVID workload
// certificates (SPIFFE IDs spiffe://<trust-domain>/<manifest>/<service>/<instance>)
// and the coordinator's own TLS server certificate.
//
// The hierarchy is fixed:
//
//	root (ECDSA P-384, 10 years, path length 1, URI constraint: the trust domain)
//	├── coordinator TLS server certificate (ServerCertificate)
//	└── intermediate per manifest version (ECDSA P-256, 1 year, path length 0,
//	    URI SAN spiffe://<trust-domain>/<manifest>)
//	    ├── workload certificates (IssueWorkload): one SPIFFE ID, client+server auth
//	    └── certificates of the manifest's x509 secrets (IssueLeaf): no URI SAN
//
// Call NewRoot once, seal Marshal's output, and restore it with ParseCA.
// On every manifest version make an intermediate with NewIntermediate. A
// workload's certificate comes from IssueWorkload after attestation; peers
// check it with VerifyWorkload, clients check the coordinator with
// VerifyServer.
//
// Security decisions, each explained where it is made:
//   - The coordinator decides every name of a workload certificate; nothing
//     the CSR asks for (subject, SANs, extensions) is copied.
//   - An intermediate of one manifest can never issue another manifest's
//     identities. RFC 5280 URI name constraints only constrain the host of
//     a URI (the trust domain), never its path, and Go's crypto/x509
//     matches them as DNS suffixes ("td" also permits "x.td"). So the root
//     and each intermediate carry the URI constraint for defence in depth,
//     and VerifyWorkload itself checks the exact trust domain and that the
//     leaf's manifest is the one named by its issuing intermediate's URI
//     SAN.
//   - Intermediates sign certificates with any DNS name (x509 secrets name
//     what the manifest owner wants), so a certificate chaining to the root
//     proves nothing about the coordinator. VerifyServer accepts only a
//     leaf signed by the root itself, which only ServerCertificate makes.
//
// What this package does not do: store or seal keys (the caller seals
// Marshal's output), revoke certificates (workload certificates are
// short-lived, and an intermediate is replaced on every manifest update),
// decide lifetimes or instance names (the coordinator passes them), enforce
// which manifest version is current (the caller compares the intermediate),
// or attest anything.
package pki
