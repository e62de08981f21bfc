// Package colenc encrypts single database cells (column values) on the
// client, so that a database stores only ciphertext and never holds a key.
//
// It offers two cell formats:
//
//   - [AEAD]: SQL Server Always Encrypted's AEAD_AES_256_CBC_HMAC_SHA256,
//     byte-compatible with SQL Server and its drivers, in deterministic and
//     randomized modes. Use it only to read or write data that must
//     interoperate with Always Encrypted. Its cell is not bound to a table,
//     column or row: whoever can write the database can move a cell to
//     another row, and it still decrypts (see the package tests).
//   - [Key] (scheme v2, the cofre default): AES-256-GCM whose associated data
//     binds each cell to its table, column, row key and key ID, with the key
//     ID in a cleartext header so that column keys can rotate online
//     ([Keyring] opens cells under old and new keys alike). Equality search
//     uses [BlindIndex], an HMAC keyed separately from the cell key, instead
//     of deterministic encryption.
//
// It also parses, verifies, builds and unwraps SQL Server's encrypted column
// encryption key value ([CEKValue]): a CEK wrapped with RSA-OAEP (SHA-1, as
// SQL Server really does) under a column master key and signed with
// RSASSA-PKCS1-v1_5 over SHA-256.
//
// What this package does not do: it does not encode SQL types into bytes
// (callers pass the bytes SQL Server would encrypt, e.g. UTF-16LE for
// nvarchar), it does not store or fetch keys (column master keys live in the
// coordinator's KMS), it does not talk to any database, and it does not hide
// the length of a value (both formats leak the plaintext length, rounded up
// to 16 bytes for [AEAD]). Deterministic [AEAD] cells and [BlindIndex] values
// reveal which cells hold equal values within a column, by design.
//
// Keys are 32 secret bytes generated with crypto/rand; constructors copy
// them, and no error message contains key or plaintext bytes.
package colenc
