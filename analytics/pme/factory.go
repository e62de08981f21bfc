package pme

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
)

// DefaultKEKCacheLifetime is parquet-java's default for
// parquet.encryption.cache.lifetime.seconds (10 minutes).
const DefaultKEKCacheLifetime = 10 * time.Minute

// FactoryOptions configures a Factory. The zero value is parquet-java's
// defaults.
type FactoryOptions struct {
	// KEKCacheLifetime is parquet.encryption.cache.lifetime.seconds: how
	// long a key encryption key stays cached, for writing (one KEK per
	// master key, reused by every file written in its lifetime) and for
	// reading (unwrapped KEKs). Zero means DefaultKEKCacheLifetime. A
	// revoked KMS grant stops new KMS calls at once, but a cached KEK
	// keeps serving until it expires: this bounds that window.
	KEKCacheLifetime time.Duration
	// Now is the clock for cache expiry; nil means time.Now.
	Now func() time.Time
	// KMSInstanceID and KMSInstanceURL are parquet.encryption.kms.instance.id
	// and .url, written in the footer key material for readers that pick
	// their KMS by them (Spark's KmsClient). Empty means "DEFAULT", as
	// parquet-java. Readers here ignore them: the Factory's KMS is the one.
	KMSInstanceID, KMSInstanceURL string
	// AllowPlaintextFiles lets DecryptionProperties read plaintext
	// (unencrypted) Parquet files. parquet-java's factory allows them; the
	// default here refuses them with ErrPlaintext, so that a plaintext file
	// slipped into an encrypted dataset is noticed.
	AllowPlaintextFiles bool
}

// Factory makes parquet-java-compatible encryption and decryption
// properties (PropertiesDrivenCryptoFactory) over a KMSClient. It owns the
// KEK caches. It is safe for concurrent use.
type Factory struct {
	kms      KMSClient
	lifetime time.Duration
	now      func() time.Time
	opts     FactoryOptions

	writeKEKs cache[*writeKEK] // master key ID -> KEK for wrapping
	readKEKs  cache[[]byte]    // master key ID, KEK ID, wrapped KEK -> KEK
}

// writeKEK is a key encryption key made for writing, with its wrapped form.
type writeKEK struct {
	key       []byte // kekLen bytes
	id        []byte // kekIDLen random bytes: the AAD of the DEKs it wraps
	encodedID string // base64(id), keyEncryptionKeyID
	wrapped   string // kms.WrapKey(key, masterKeyID), wrappedKEK
}

// NewFactory returns a Factory using kms (non-nil) for master key
// operations.
func NewFactory(kms KMSClient, opts FactoryOptions) *Factory {
	if kms == nil {
		panic("pme: NewFactory: nil KMSClient")
	}
	f := &Factory{kms: kms, lifetime: opts.KEKCacheLifetime, now: opts.Now, opts: opts}
	if f.lifetime <= 0 {
		f.lifetime = DefaultKEKCacheLifetime
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.opts.KMSInstanceID == "" {
		f.opts.KMSInstanceID = defaultKMSInstance
	}
	if f.opts.KMSInstanceURL == "" {
		f.opts.KMSInstanceURL = defaultKMSInstance
	}
	return f
}

// EncryptionProperties makes fresh random DEKs for one file — a footer DEK,
// and one DEK per column named in cfg.ColumnKeys — wraps them under their
// master keys and returns arrow-go properties carrying the key material.
// arrow-go uses a FileEncryptionProperties for one file only: call this
// once per file. ctx bounds the KMS calls.
func (f *Factory) EncryptionProperties(ctx context.Context, cfg Config) (*parquet.FileEncryptionProperties, error) {
	p, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	double := !cfg.SingleWrapping
	footerDEK, err := randomKey(p.dekLen)
	if err != nil {
		return nil, err
	}
	footerMeta, err := f.keyMetadata(ctx, footerDEK, p.footerKey, true, double)
	if err != nil {
		return nil, err
	}
	opts := []parquet.EncryptOption{parquet.WithAlg(p.alg), parquet.WithFooterKeyMetadata(string(footerMeta))}
	if cfg.PlaintextFooter {
		opts = append(opts, parquet.WithPlaintextFooter())
	}
	cols := parquet.ColumnPathToEncryptionPropsMap{}
	for _, key := range sortedKeys(p.columnKeys) {
		for _, col := range p.columnKeys[key] {
			dek, err := randomKey(p.dekLen)
			if err != nil {
				return nil, err
			}
			meta, err := f.keyMetadata(ctx, dek, key, false, double)
			if err != nil {
				return nil, fmt.Errorf("%w (column %s)", err, clipID(col))
			}
			cols[col] = parquet.NewColumnEncryptionProperties(col, parquet.WithKey(string(dek)), parquet.WithKeyMetadata(string(meta)))
		}
	}
	for _, col := range p.extraCols {
		cols[col] = parquet.NewColumnEncryptionProperties(col) // footer key
	}
	if len(cols) > 0 {
		// With no map, arrow-go encrypts every column with the footer key
		// (uniform key); with one, unlisted columns stay in plaintext.
		opts = append(opts, parquet.WithEncryptedColumns(cols))
	}
	return parquet.NewFileEncryptionProperties(string(footerDEK), opts...), nil
}

// keyMetadata wraps dek under masterKeyID and returns its key material
// (FileKeyWrapper.getEncryptionKeyMetadata, internal storage).
func (f *Factory) keyMetadata(ctx context.Context, dek []byte, masterKeyID string, footer, double bool) ([]byte, error) {
	m := keyMaterial{IsFooterKey: footer, MasterKeyID: masterKeyID, DoubleWrapping: double}
	if footer {
		m.KMSInstanceID, m.KMSInstanceURL = f.opts.KMSInstanceID, f.opts.KMSInstanceURL
	}
	if !double {
		w, err := f.kmsWrap(ctx, dek, masterKeyID)
		if err != nil {
			return nil, err
		}
		m.WrappedDEK = w
		return m.marshal(), nil
	}
	kek, err := f.writeKEKs.get(ctx, masterKeyID, f.now(), f.lifetime, func() (*writeKEK, error) {
		return f.newKEK(ctx, masterKeyID)
	})
	if err != nil {
		return nil, err
	}
	// The DEK is bound to its KEK by the AAD (the raw KEK ID), as
	// parquet-java does, so a wrapped DEK cannot be moved to another KEK.
	w, err := wrapLocally(dek, kek.key, kek.id)
	if err != nil {
		return nil, err
	}
	m.WrappedDEK, m.KEKID, m.WrappedKEK = w, kek.encodedID, kek.wrapped
	return m.marshal(), nil
}

// newKEK makes a random KEK and ID for masterKeyID and wraps the KEK in
// the KMS (FileKeyWrapper.createKeyEncryptionKey).
func (f *Factory) newKEK(ctx context.Context, masterKeyID string) (*writeKEK, error) {
	key, err := randomKey(kekLen)
	if err != nil {
		return nil, err
	}
	id, err := randomKey(kekIDLen)
	if err != nil {
		return nil, err
	}
	w, err := f.kmsWrap(ctx, key, masterKeyID)
	if err != nil {
		return nil, err
	}
	return &writeKEK{key: key, id: id, encodedID: base64.StdEncoding.EncodeToString(id), wrapped: w}, nil
}

func (f *Factory) kmsWrap(ctx context.Context, key []byte, masterKeyID string) (string, error) {
	w, err := f.kms.WrapKey(ctx, key, masterKeyID)
	if err != nil {
		return "", fmt.Errorf("pme: wrap under master key %s: %w: %w", clipID(masterKeyID), ErrNoKey, err)
	}
	if w == "" || len(w) > maxWrappedLen {
		return "", fmt.Errorf("pme: wrap under master key %s: %w: KMS returned %d bytes, expected 1 to %d", clipID(masterKeyID), ErrNoKey, len(w), maxWrappedLen)
	}
	return w, nil
}

func (f *Factory) kmsUnwrap(ctx context.Context, wrapped, masterKeyID string) ([]byte, error) {
	k, err := f.kms.UnwrapKey(ctx, wrapped, masterKeyID)
	if err != nil {
		return nil, fmt.Errorf("unwrap under master key %s: %w: %w", clipID(masterKeyID), ErrNoKey, err)
	}
	if !validAESKeyLen(len(k)) {
		return nil, fmt.Errorf("unwrap under master key %s: %w: KMS returned a %d-byte key, expected 16, 24 or 32", clipID(masterKeyID), ErrKeyMaterial, len(k))
	}
	return k, nil
}

// DecryptionProperties returns properties whose key retriever parses each
// key_metadata field and unwraps its DEK through the KMS (KEKs cached in
// the Factory for their lifetime; DEKs cached in the returned properties,
// so share one properties object across the files of a dataset). Unlike
// arrow-go's FileEncryptionProperties, the returned object may be used for
// many files, concurrently.
//
// ctx is used for the KMS calls made while files are read; it must live as
// long as the reads. arrow-go's retriever cannot return errors: a failure
// panics with an error wrapping ErrNoKey, ErrKeyMaterial or ErrTampered.
// Open files with OpenFile and read through ReadTable or RecoverRead,
// which turn such panics back into errors.
func (f *Factory) DecryptionProperties(ctx context.Context) *parquet.FileDecryptionProperties {
	opts := []parquet.FileDecryptionOption{parquet.WithKeyRetriever(&retriever{f: f, ctx: ctx})}
	if f.opts.AllowPlaintextFiles {
		opts = append(opts, parquet.WithPlaintextAllowed())
	}
	return parquet.NewFileDecryptionProperties(opts...)
}

// retriever is arrow-go's DecryptionKeyRetriever over key material.
type retriever struct {
	f   *Factory
	ctx context.Context

	mu   sync.Mutex        // guards deks
	deks map[string][]byte // key_metadata -> DEK
}

// GetKey implements parquet.DecryptionKeyRetriever. It panics with an
// error on failure (arrow-go's interface has no error return, and its own
// retrievers panic too).
func (r *retriever) GetKey(keyMetadata []byte) string {
	k, err := r.key(keyMetadata)
	if err != nil {
		panic(err)
	}
	return string(k)
}

func (r *retriever) key(keyMetadata []byte) ([]byte, error) {
	r.mu.Lock()
	k, ok := r.deks[string(keyMetadata)]
	r.mu.Unlock()
	if ok {
		return k, nil
	}
	m, err := parseKeyMaterial(keyMetadata)
	if err != nil {
		return nil, fmt.Errorf("key metadata: %w", err)
	}
	k, err = r.f.unwrapDEK(r.ctx, m)
	if err != nil {
		kind := "column"
		if m.IsFooterKey {
			kind = "footer"
		}
		return nil, fmt.Errorf("%s key: %w", kind, err)
	}
	r.mu.Lock()
	if r.deks == nil || len(r.deks) >= maxCacheEntries {
		r.deks = map[string][]byte{}
	}
	r.deks[string(keyMetadata)] = k
	r.mu.Unlock()
	return k, nil
}

// unwrapDEK recovers the DEK of parsed key material
// (FileKeyUnwrapper.getDEKandMasterID).
func (f *Factory) unwrapDEK(ctx context.Context, m *keyMaterial) ([]byte, error) {
	if !m.DoubleWrapping {
		return f.kmsUnwrap(ctx, m.WrappedDEK, m.MasterKeyID)
	}
	// The cache key holds everything the KEK is derived from, so material
	// that reuses a known KEK ID with another master key or wrapped KEK
	// goes to the KMS instead of borrowing a KEK it was not granted.
	// Length-prefixed: no choice of the three fields can spell another's.
	ck := fmt.Sprintf("%d:%s%d:%s%s", len(m.MasterKeyID), m.MasterKeyID, len(m.KEKID), m.KEKID, m.WrappedKEK)
	kek, err := f.readKEKs.get(ctx, ck, f.now(), f.lifetime, func() ([]byte, error) {
		return f.kmsUnwrap(ctx, m.WrappedKEK, m.MasterKeyID)
	})
	if err != nil {
		return nil, err
	}
	id, err := base64.StdEncoding.Strict().DecodeString(m.KEKID) // checked by parseKeyMaterial
	if err != nil {
		return nil, fmt.Errorf("%w: keyEncryptionKeyID", ErrKeyMaterial)
	}
	dek, err := unwrapLocally(m.WrappedDEK, kek, id)
	if err != nil {
		return nil, fmt.Errorf("wrapped DEK under KEK (master key %s): %w", clipID(m.MasterKeyID), err)
	}
	return dek, nil
}

func randomKey(n int) ([]byte, error) {
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("pme: random key: %w", err)
	}
	return k, nil
}
