// Package cache is a cache for patient data (PHI) held in Redis, built so
// that the Redis host learns no PHI: key names are pseudonyms and values are
// sealed.
//
// Call New with a Config, then Set, Get and Delete. A logical key (say
// "Patient/123") becomes the Redis key KeyPrefix plus the base64url
// HMAC-SHA256 of the namespace and key under the naming key, so patient
// identifiers never reach Redis. A value is sealed with AES-256-GCM under
// the sealing key, with the full Redis key name as additional data: a
// value moved to another key, altered, or sealed under another key reads
// as ErrTampered, and a missing or expired entry as ErrMiss. Every entry
// has a TTL, and its expiry is sealed with it.
//
// The connection is TLS 1.3 only, with the server verified and a client
// certificate presented, as a Redis user that ACLRules describes. Neither
// keys nor values are ever logged or put into errors.
//
// What it does not do: it does not stop the Redis host from deleting
// entries, from serving an older value of the same key that has not yet
// expired (rollback), or from seeing access patterns, entry sizes and
// timing. It does not bound how large a reply the Redis client reads
// before the size check here. It is a cache: callers must treat ErrMiss,
// ErrTampered and connection errors alike as "fetch from the source of
// truth".
package cache

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// KeyPrefix begins every Redis key this package writes; the ACL confines
// the application user to it.
const KeyPrefix = "cofre:"

// ACLRules are the ACL rules (redis.conf "user" syntax, after "on" and
// the password) that the cache's Redis user needs and no more: the three
// data commands, PING for health checks, and HELLO/AUTH with which the
// client authenticates; only on keys under KeyPrefix; no pub/sub channels.
// The client is configured not to send CLIENT SETINFO, CLIENT SETNAME or
// CLIENT MAINT_NOTIFICATIONS, so the user needs no CLIENT subcommands.
const ACLRules = "resetkeys resetchannels -@all +hello +auth +ping +get +set +del ~" + KeyPrefix + "*"

var (
	// ErrMiss means the key has no entry, or its entry has expired.
	ErrMiss = errors.New("cache: miss")
	// ErrTampered means the stored value is not one this cache sealed for
	// this key with this sealing key: altered, truncated, moved from
	// another key, or sealed under another key.
	ErrTampered = errors.New("cache: value fails authentication")
	// ErrConfig means New was given an unusable Config.
	ErrConfig = errors.New("cache: invalid config")
	// ErrArgument means a key, value or TTL is outside the limits.
	ErrArgument = errors.New("cache: invalid argument")
)

// SealingKey is the AES-256-GCM key that seals values.
type SealingKey [32]byte

// NamingKey is the HMAC-SHA256 key that turns logical keys into Redis key
// names.
type NamingKey [32]byte

// Config configures New.
type Config struct {
	// Addr is the Redis server's host:port. Required.
	Addr string
	// TLS is the client's TLS configuration: the server's CA in RootCAs
	// (or the system roots) and a client certificate. Required. New uses a
	// copy with MinVersion raised to TLS 1.3; a MaxVersion below 1.3 or
	// InsecureSkipVerify is refused.
	TLS *tls.Config
	// Username and Password authenticate the ACL user. Required.
	Username, Password string
	// SealingKey seals values. Required (not all zero) and distinct from
	// NamingKey.
	SealingKey SealingKey
	// NamingKey pseudonymizes key names. Required (not all zero).
	NamingKey NamingKey
	// Namespace separates uses of one naming key (say "careapi/patient"):
	// equal logical keys in different namespaces get unrelated names.
	// Required, at most MaxNamespaceSize bytes, no zero byte.
	Namespace string
	// Now returns the current time, for sealed expiries. Default: time.Now.
	Now func() time.Time
}

// Cache is a sealed, pseudonymized cache in Redis. It is safe for
// concurrent use.
type Cache struct {
	rdb       *redis.Client
	aead      cipher.AEAD
	naming    NamingKey
	namespace string
	now       func() time.Time
}

// New checks cfg and returns a Cache. It does not connect; the first
// command does (use Ping to check the connection).
func New(cfg Config) (*Cache, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if cfg.Addr == "" {
		bad("Addr is empty")
	}
	if cfg.TLS == nil {
		// Plaintext would put sealed values, credentials and the access
		// pattern on the wire, and the server would be unauthenticated.
		bad("TLS is nil: plaintext connections are not supported")
	} else {
		if cfg.TLS.InsecureSkipVerify {
			bad("TLS.InsecureSkipVerify is set: the server must be verified")
		}
		if cfg.TLS.MaxVersion != 0 && cfg.TLS.MaxVersion < tls.VersionTLS13 {
			bad("TLS.MaxVersion is %#04x, want TLS 1.3 (0x0304) or higher", cfg.TLS.MaxVersion)
		}
		if len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetClientCertificate == nil {
			bad("TLS has no client certificate")
		}
	}
	if cfg.Username == "" || cfg.Password == "" {
		bad("Username or Password is empty")
	}
	var zero [32]byte
	if subtle.ConstantTimeCompare(cfg.SealingKey[:], zero[:]) == 1 {
		bad("SealingKey is zero")
	}
	if subtle.ConstantTimeCompare(cfg.NamingKey[:], zero[:]) == 1 {
		bad("NamingKey is zero")
	}
	// One key in two roles would let a weakness in either use spill into
	// the other; a configuration that does so is a mistake.
	if subtle.ConstantTimeCompare(cfg.SealingKey[:], cfg.NamingKey[:]) == 1 {
		bad("SealingKey equals NamingKey")
	}
	switch {
	case cfg.Namespace == "":
		bad("Namespace is empty")
	case len(cfg.Namespace) > MaxNamespaceSize:
		bad("Namespace is %d bytes, limit %d", len(cfg.Namespace), MaxNamespaceSize)
	case strings.IndexByte(cfg.Namespace, 0) >= 0:
		bad("Namespace contains a zero byte")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	block, err := aes.NewCipher(cfg.SealingKey[:])
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	tc := cfg.TLS.Clone()
	tc.MinVersion = tls.VersionTLS13
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:      cfg.Addr,
		TLSConfig: tc,
		Username:  cfg.Username,
		Password:  cfg.Password,
		// RESP3: authentication happens in HELLO, one round trip.
		Protocol: 3,
		// No CLIENT SETINFO or CLIENT MAINT_NOTIFICATIONS on connect, so
		// the ACL user needs no CLIENT subcommands (see ACLRules).
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// Deadlines come from the caller's context.
		ContextTimeoutEnabled: true,
	})
	return &Cache{rdb: rdb, aead: aead, naming: cfg.NamingKey, namespace: cfg.Namespace, now: now}, nil
}

// Set stores value under key for ttl, which must be between MinTTL and
// MaxTTL. It replaces any earlier value.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: value is %d bytes, limit %d", ErrArgument, len(value), MaxValueSize)
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return fmt.Errorf("%w: ttl %v outside [%v, %v]", ErrArgument, ttl, MinTTL, MaxTTL)
	}
	name := keyName(&c.naming, c.namespace, key)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	sealed := seal(c.aead, name, value, c.now().Add(ttl), nonce)
	if err := c.rdb.Set(ctx, name, sealed, ttl).Err(); err != nil {
		return fmt.Errorf("cache: set: %w", err)
	}
	return nil
}

// Get returns the value stored under key. It returns ErrMiss if there is
// none or it has expired, and ErrTampered if the stored bytes fail
// authentication.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	name := keyName(&c.naming, c.namespace, key)
	sealed, err := c.rdb.Get(ctx, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrMiss
	}
	if err != nil {
		return nil, fmt.Errorf("cache: get: %w", err)
	}
	return unseal(c.aead, name, sealed, c.now())
}

// Delete removes key's entry, if any.
func (c *Cache) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := c.rdb.Del(ctx, keyName(&c.naming, c.namespace, key)).Err(); err != nil {
		return fmt.Errorf("cache: delete: %w", err)
	}
	return nil
}

// Ping checks that the server is reachable and accepts the credentials,
// for health endpoints.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: ping: %w", err)
	}
	return nil
}

// Close closes the connections to Redis.
func (c *Cache) Close() error {
	return c.rdb.Close()
}

// checkKey bounds a logical key. The error gives its length only: a key
// is a patient identifier.
func checkKey(key string) error {
	if key == "" || len(key) > MaxKeySize {
		return fmt.Errorf("%w: key is %d bytes, want 1 to %d", ErrArgument, len(key), MaxKeySize)
	}
	return nil
}
