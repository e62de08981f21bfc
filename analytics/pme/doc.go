// Package pme is the key-tools layer of Parquet Modular Encryption that
// arrow-go lacks: it makes and reads the key material of parquet-java's
// org.apache.parquet.crypto.keytools (PropertiesDrivenCryptoFactory, as used
// by Spark 3.2+), so files written here decrypt in Spark with the same KMS
// and master keys, and Spark's files decrypt here.
//
// Use NewFactory with a KMSClient (CoordinatorKMS in a workload, MemoryKMS
// for tests and local files). To write, call Factory.EncryptionProperties
// once per file with a Config (the parquet.encryption.* Hadoop properties)
// and hand the result to arrow-go's writer (parquet.WithEncryptionProperties).
// To read, make one Factory.DecryptionProperties per dataset, open files
// with OpenFile and read them with ReadTable or inside RecoverRead: arrow-go
// panics on missing keys and malformed files, and these turn every such
// panic into an error of one of the classes in errors.go.
//
// Compatibility. Key material is parquet-java's "PKMT1" JSON stored
// internally (in the footer's and columns' key_metadata), with single or
// double envelope wrapping: a DEK per file footer and per column, wrapped
// either by the KMS under a master key, or locally (AES-GCM, AAD = KEK ID)
// under a random 128-bit KEK that the KMS wraps once per master key and
// cache lifetime. The KMS's own wrapped format is the KMS's business: Spark
// must use a KmsClient speaking to the same KMS (cofre's Java client for
// the coordinator, or parquet-java's test InMemoryKMS for MemoryKMS).
//
// What it does NOT do: external key material files
// (parquet.encryption.key.material.store.internally=false) and key
// rotation; AAD prefixes (PropertiesDrivenCryptoFactory sets none);
// choosing the KMS by kmsInstanceID/URL (one Factory, one KMS). It does not
// authenticate page data under AES_GCM_CTR_V1 (the spec encrypts it with
// unauthenticated CTR) nor protect a file against being replaced by an
// older or other complete file encrypted under the same keys: PME
// authenticates modules within a file, not a dataset's set of files.
// Plaintext-footer files expose the schema, row counts and the statistics
// of plaintext columns.
package pme
