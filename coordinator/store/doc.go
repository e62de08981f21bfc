// Package store is the coordinator's persistent state: an embedded bbolt
// database (one file, crash-safe: every committed transaction is fsynced)
// in which every value is sealed with XAES-256-GCM (AES-256-GCM under a
// key derived per value from a random 192-bit nonce) under its namespace's
// key.
//
// # Namespaces
//
// State is split into namespaces, each with its own 32-byte key, so that
// recovering one tenant's key exposes nothing of another's:
//
//   - Global: the coordinator's own state (CA keys, audit key, the table of
//     namespace keys) under the data key that the TEE seals.
//   - Manifest(name): one manifest's documents, secrets and instances under
//     that manifest's key, which its recovery holders can restore (see
//     coordinator/seal) when the data key is lost.
//   - Public: data that is safe in clear (recovery records, the manifest
//     index). Its values are stored unencrypted and it is never locked.
//
// A namespace is locked until Unlock (or CreateNamespace, ResetNamespace)
// gives it its key, which is checked against a sealed key-check record;
// reading or writing a locked namespace fails with ErrLocked.
//
// # What the host sees and can do
//
// The host holds the file. It sees namespace names (manifest names), table
// names, keys, the number and sizes of values, and Public values; it does
// not see other values. Every sealed value is bound (as AEAD associated
// data) to its namespace, table and key, so a value moved to another key,
// table or namespace, or changed in any bit, fails with ErrTampered.
//
// This layer does NOT detect:
//   - rollback: replacing the whole file, or one value, with an older copy
//     sealed under the same key. Detecting that needs a trusted monotonic
//     counter, which the sim platform lacks and so do SGX (its monotonic
//     counters are deprecated) and TDX; the mitigation is the coordinator's
//     hash-chained audit log, whose head is anchored outside the host;
//   - deletion of entries, tables or namespaces;
//   - denial of service: the host can always withhold or corrupt the file.
//
// It does not choose or keep keys: the coordinator gets the data key from
// coordinator/seal and keeps manifest keys in the Global namespace.
package store
