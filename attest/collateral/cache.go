package collateral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DefaultCacheTTL is how long Cache keeps items fresh when Cache.TTL is
// zero. Intel publishes TCB info and CRLs with a nextUpdate about a month
// out but may reissue them any day (TCB recovery); a day bounds how late a
// verifier learns of that.
const DefaultCacheTTL = 24 * time.Hour

// Cache keeps what another Source returns in a directory, keyed by the
// request (kind and platform parameters), and serves it while fresh.
// Nothing it stores is trusted: verifiers check every signature and
// validity period whatever the source.
//
// AMD VCEKs never go stale: a VCEK is fixed by its chip and TCB, and AMD's
// KDS throttles repeated requests, so one fetch per chip and TCB is enough.
// Every other item is fresh for TTL after it was stored.
//
// Files are written atomically (a temporary file, then a rename) with mode
// 0600, so concurrent verifiers and processes never read half an item. A
// Cache is safe for concurrent use.
type Cache struct {
	// Dir is the cache directory. Required; created with mode 0700 if
	// missing.
	Dir string
	// Next answers what the cache does not hold. Required.
	Next Source
	// TTL is how long an item other than a VCEK stays fresh. Zero means
	// DefaultCacheTTL.
	TTL time.Duration
	// StaleIfError, when true, returns an expired copy (never of a JWKS,
	// which carries no validity of its own) when Next fails
	// instead of the error: a verifier then checks the item's own
	// validity (TCB info nextUpdate, CRL nextUpdate, certificate dates).
	// Default false.
	StaleIfError bool
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Log receives failures to write the cache, which do not fail Fetch.
	// Nil means they are not logged.
	Log *slog.Logger
}

// Fetch implements Source.
func (c *Cache) Fetch(ctx context.Context, req Request) ([]byte, error) {
	if c.Dir == "" || c.Next == nil {
		return nil, errors.New("collateral: Cache needs Dir and Next")
	}
	if req.Kind.FileName() == "" {
		return nil, fmt.Errorf("collateral: invalid kind %v", req.Kind)
	}
	p := filepath.Join(c.Dir, cacheName(req))
	cached, modTime, readErr := readCached(p)
	if readErr == nil && c.fresh(req.Kind, modTime) {
		return cached, nil
	}
	b, err := c.Next.Fetch(ctx, req)
	if err != nil {
		// A JWKS carries no validity of its own: a stale copy would keep
		// a rotated-out or revoked signing key trusted for as long as an
		// attacker can block the issuer. Every other item is dated and
		// its verifier checks the dates.
		if readErr == nil && c.StaleIfError && req.Kind != KindJWKS {
			return cached, nil
		}
		return nil, err
	}
	if len(b) > MaxItemSize {
		return nil, fmt.Errorf("collateral: %v is %d bytes, limit %d", req.Kind, len(b), MaxItemSize)
	}
	if err := c.store(p, b); err != nil && c.Log != nil {
		c.Log.Warn("collateral cache write failed", "kind", req.Kind.String(), "err", err)
	}
	return b, nil
}

func (c *Cache) fresh(k Kind, stored time.Time) bool {
	if k == KindVCEK {
		return true
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return now().Sub(stored) < ttl
}

// cacheName is the file name of req's item: a digest of every request field,
// so that two platforms never share an entry and no request field can
// steer the path, then the kind's bundle name for people reading the
// directory.
func cacheName(req Request) string {
	key, _ := json.Marshal(struct {
		Kind        int
		TEE         string
		FMSPC       string
		CA          string
		Product     string
		ChipID      []byte
		ReportedTCB uint64
		URL         string
	}{int(req.Kind), req.TEE, req.FMSPC, req.CA, req.Product, req.ChipID, req.ReportedTCB, req.URL})
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:16]) + "-" + req.Kind.FileName()
}

func readCached(p string) ([]byte, time.Time, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := readLimited(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	return b, st.ModTime(), nil
}

// store writes b to p atomically.
func (c *Cache) store(p string, b []byte) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(c.Dir, ".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
