// Package coordinator is cofre's coordinator: it holds manifests (policies),
// their secrets and the workload PKI, admits workloads whose attestation
// evidence matches their service's package (activation), releases their
// rendered configuration and a workload certificate, issues live instances
// further tokens for keys they hold (WorkloadToken), serves a KMS for
// granted master keys, and records every decision in a signed, hash-chained
// audit log.
//
// One coordinator serves many manifests. Each manifest's documents and
// secrets live in their own namespace of the sealed store, under a key that
// the manifest's recovery holders (k of n) can restore if the TEE sealing
// key is lost; holders of one manifest can never open another's.
//
// What it does not do: verify evidence formats itself (attest does), decide
// what code is acceptable (the manifest's owners do, and appraise applies
// their reference values), vouch for the runtime claims a workload reports
// about itself (a workload token carries them as self-reported), or protect against a rollback of its whole
// state directory to an older copy (no trusted monotonic counter exists in
// sim, SGX or TDX; anchor the signed audit head elsewhere to detect it).
//
// The HTTP API is docs/api/coordinator.yaml; its wire types are package
// coordinator/api.
package coordinator
