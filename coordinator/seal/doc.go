// Package seal protects the coordinator's root secrets at rest and lets
// recovery holders restore them when the protection is lost.
//
// Three things live here:
//
//   - Sealer, the interface behind which a TEE's sealing primitive sits:
//     Seal binds data to "this code on this machine", Unseal gives it back
//     only there. SimSealer imitates SGX MRENCLAVE sealing with a key
//     derived from the sim platform key; KeyFileSealer uses a key in a file
//     for deployments whose TEE offers no sealing key (TDX, SEV-SNP without
//     a derived key, or no TEE).
//   - The sealed data-key file: CreateDataKey makes the store's 32-byte data
//     key and writes it sealed; OpenDataKey reads it back and reports
//     ErrSealingKeyLost when it cannot be unsealed, the signal for the
//     coordinator to enter recovery.
//   - Recovery records: NewRecoveryRecord splits a secret (a namespace key)
//     k-of-n with Shamir and HPKE-encrypts each share to its holder's
//     recovery key; a holder runs OpenShare locally (`cofre recover`), and
//     Combine checks each submitted share against its commitment and the
//     result against the record's check value.
//
// What this package does NOT do: it does not store anything but the data-key
// file, does not decide when to enter recovery, and does not authenticate a
// recovery record. A record lives where the host can edit it; a forged one
// can at worst make recovery produce a wrong key, which the store's
// per-namespace key check then refuses (see coordinator/store). It does not
// implement hardware sealing yet: SGX and SEV-SNP derived keys plug in
// behind Sealer.
//
// Keys a holder needs: a recovery key pair on P-256, P-384 or X25519, PEM
// encoded (ParseRecoveryPublicKey, ParseRecoveryPrivateKey). Record format:
// RecoveryRecord's JSON; parse untrusted records with ParseRecoveryRecord.
package seal
