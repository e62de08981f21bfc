package pme

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofre-cc/cofre/coordinator/client"
)

// KMSClient is parquet-java's KmsClient: it wraps a key under a named master
// key that never leaves the KMS, and unwraps it again. Implementations must
// be safe for concurrent use, and must never put key bytes in errors.
type KMSClient interface {
	// WrapKey returns key wrapped under the master key masterKeyID, as a
	// string stored verbatim in the file's key material.
	WrapKey(ctx context.Context, key []byte, masterKeyID string) (string, error)
	// UnwrapKey returns the key that WrapKey wrapped into wrapped.
	UnwrapKey(ctx context.Context, wrapped, masterKeyID string) ([]byte, error)
}

// MemoryKMS holds master keys in memory: for tests and for local files
// without a coordinator. Anyone holding the master keys can read the files;
// in production keys come from the coordinator (CoordinatorKMS).
//
// Its wrapping format is that of parquet-java's test InMemoryKMS
// (org.apache.parquet.crypto.keytools.mocks.InMemoryKMS, configured with
// parquet.encryption.key.list, which the Spark documentation uses), so files
// written with the same master keys interoperate: standard base64 of
// nonce(12) ‖ AES-GCM(master key, key, aad = UTF-8 bytes of the master key
// ID) ‖ tag(16). The AAD binds a wrapped key to its master key's name.
type MemoryKMS struct {
	keys map[string][]byte // read-only after NewMemoryKMS
}

// NewMemoryKMS returns a MemoryKMS holding a copy of keys (master key ID ->
// AES key of 16, 24 or 32 bytes).
func NewMemoryKMS(keys map[string][]byte) (*MemoryKMS, error) {
	m := &MemoryKMS{keys: make(map[string][]byte, len(keys))}
	var errs []error
	for id, k := range keys {
		switch {
		case id == "" || len(id) > maxIDLen:
			errs = append(errs, fmt.Errorf("%w: master key ID %s: expected 1 to %d bytes", ErrConfig, clipID(id), maxIDLen))
		case !validAESKeyLen(len(k)):
			errs = append(errs, fmt.Errorf("%w: master key %s: %d bytes, expected 16, 24 or 32", ErrConfig, clipID(id), len(k)))
		}
		m.keys[id] = append([]byte(nil), k...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pme: memory kms: %w", err)
	}
	return m, nil
}

// WrapKey implements KMSClient.
func (m *MemoryKMS) WrapKey(_ context.Context, key []byte, masterKeyID string) (string, error) {
	mk, ok := m.keys[masterKeyID]
	if !ok {
		return "", fmt.Errorf("pme: memory kms: %w %s", ErrUnknownMasterKey, clipID(masterKeyID))
	}
	return wrapLocally(key, mk, []byte(masterKeyID))
}

// UnwrapKey implements KMSClient. A wrapped key that does not authenticate
// under the master key (another master key, or modified) wraps ErrTampered.
func (m *MemoryKMS) UnwrapKey(_ context.Context, wrapped, masterKeyID string) ([]byte, error) {
	mk, ok := m.keys[masterKeyID]
	if !ok {
		return nil, fmt.Errorf("pme: memory kms: %w %s", ErrUnknownMasterKey, clipID(masterKeyID))
	}
	k, err := unwrapLocally(wrapped, mk, []byte(masterKeyID))
	if err != nil {
		return nil, fmt.Errorf("pme: memory kms: master key %s: %w", clipID(masterKeyID), err)
	}
	return k, nil
}

// CoordinatorKMS is the coordinator's KMS (POST /v1/kms/wrap and
// /v1/kms/unwrap over the workload's mutual TLS): master keys are the
// parquet-master-key secrets of the caller's manifest that its service is
// granted. The coordinator checks the grant on every call; its refusals
// come back as *client.APIError.
type CoordinatorKMS struct {
	C *client.Client // non-nil
}

// WrapKey implements KMSClient.
func (c *CoordinatorKMS) WrapKey(ctx context.Context, key []byte, masterKeyID string) (string, error) {
	if c == nil || c.C == nil {
		return "", errors.New("pme: coordinator kms: no client")
	}
	resp, err := c.C.Wrap(ctx, masterKeyID, key)
	if err != nil {
		return "", fmt.Errorf("pme: coordinator kms: wrap under %s: %w", clipID(masterKeyID), err)
	}
	if resp.Wrapped == "" {
		return "", fmt.Errorf("pme: coordinator kms: wrap under %s: empty answer", clipID(masterKeyID))
	}
	return resp.Wrapped, nil
}

// UnwrapKey implements KMSClient.
func (c *CoordinatorKMS) UnwrapKey(ctx context.Context, wrapped, masterKeyID string) ([]byte, error) {
	if c == nil || c.C == nil {
		return nil, errors.New("pme: coordinator kms: no client")
	}
	resp, err := c.C.Unwrap(ctx, masterKeyID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("pme: coordinator kms: unwrap under %s: %w", clipID(masterKeyID), err)
	}
	return resp.Plaintext, nil
}

// Interface guards.
var (
	_ KMSClient = (*MemoryKMS)(nil)
	_ KMSClient = (*CoordinatorKMS)(nil)
)
