package colenc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
)

// Column master key metadata signatures, as SQL Server's drivers make them
// (Microsoft.Data.SqlClient's certificate store provider, mssql-jdbc's key
// store providers): RSASSA-PKCS1-v1_5 with SHA-256 over the digest
//
//	SHA-256(UTF-16LE(lower(provider) ‖ lower(keyPath) ‖ "true"|"false"))
//
// where the last word is allowEnclaveComputations. SQL Server stores the
// signature in sys.column_master_keys.signature; a driver that checks it
// refuses metadata a DBA edited, such as a key path pointing to another key
// or enclave computations switched on. go-mssqldb does not implement it (its
// providers return nil), so there is no independent vector here: the layout
// follows the drivers' sources, and the tests pin the digest layout.

// CMKMetadataDigest returns the digest a column master key signs over its
// metadata.
func CMKMetadataDigest(provider, keyPath string, allowEnclaveComputations bool) [sha256.Size]byte {
	enclave := "false"
	if allowEnclaveComputations {
		enclave = "true"
	}
	// ToLowerInvariant in .NET and toLowerCase in Java both lowercase by
	// Unicode rules; strings.ToLower does too for the ASCII names and paths
	// SQL Server uses.
	return sha256.Sum256(utf16LE(strings.ToLower(provider) + strings.ToLower(keyPath) + enclave))
}

// SignCMKMetadata signs a column master key's metadata with that key.
func SignCMKMetadata(cmk *rsa.PrivateKey, provider, keyPath string, allowEnclaveComputations bool) ([]byte, error) {
	if err := checkRSASize(&cmk.PublicKey); err != nil {
		return nil, err
	}
	d := CMKMetadataDigest(provider, keyPath, allowEnclaveComputations)
	sig, err := rsa.SignPKCS1v15(rand.Reader, cmk, crypto.SHA256, d[:])
	if err != nil {
		return nil, fmt.Errorf("colenc: cmk metadata: sign: %w", ErrKey)
	}
	return sig, nil
}

// VerifyCMKMetadata checks a column master key metadata signature. Any
// change to the provider, key path or enclave flag fails with
// ErrAuthentication.
func VerifyCMKMetadata(cmk *rsa.PublicKey, provider, keyPath string, allowEnclaveComputations bool, sig []byte) error {
	if err := checkRSASize(cmk); err != nil {
		return err
	}
	d := CMKMetadataDigest(provider, keyPath, allowEnclaveComputations)
	if rsa.VerifyPKCS1v15(cmk, crypto.SHA256, d[:], sig) != nil {
		return fmt.Errorf("colenc: cmk metadata signature: %w", ErrAuthentication)
	}
	return nil
}
