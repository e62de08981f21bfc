package pme

import (
	"context"
	"errors"
	"sync"
	"time"
)

// cache maps a string to a value filled by one call (concurrent callers of
// the same key wait for it: one KMS call per KEK, not one per reader), kept
// for a lifetime. A failed fill is not kept, so the next call retries.
type cache[V any] struct {
	mu sync.Mutex // guards m
	m  map[string]*cacheEntry[V]
}

type cacheEntry[V any] struct {
	ready   chan struct{} // closed once val, err and expires are set
	val     V
	err     error
	expires time.Time
}

// get returns the live value for key, or fills it. now is the time of the
// call (the injected clock), lifetime how long a filled value lives.
func (c *cache[V]) get(ctx context.Context, key string, now time.Time, lifetime time.Duration, fill func() (V, error)) (V, error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cacheEntry[V]{}
	}
	e, ok := c.m[key]
	if ok {
		select {
		case <-e.ready:
			if now.Before(e.expires) {
				c.mu.Unlock()
				return e.val, e.err
			}
			ok = false // expired: fill anew
		default: // being filled: wait below
		}
	}
	if ok {
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e.val, e.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	if len(c.m) >= maxCacheEntries {
		c.evictLocked(now)
	}
	e = &cacheEntry[V]{ready: make(chan struct{})}
	c.m[key] = e
	c.mu.Unlock()

	var val V
	err := errFillPanicked
	// A panicking fill still releases its waiters (with an error) and
	// leaves no entry behind; the panic goes on to the caller.
	defer func() {
		c.mu.Lock()
		e.val, e.err, e.expires = val, err, now.Add(lifetime)
		if err != nil && c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
		close(e.ready)
	}()
	val, err = fill()
	return val, err
}

// errFillPanicked is what waiters on an entry get when its fill panicked.
var errFillPanicked = errors.New("pme: key cache: the fill panicked")

// evictLocked drops expired entries, and everything if none had expired.
// Entries being filled stay (their fillers will set them).
func (c *cache[V]) evictLocked(now time.Time) {
	n := len(c.m)
	for k, e := range c.m {
		select {
		case <-e.ready:
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		default:
		}
	}
	if len(c.m) < n {
		return
	}
	for k, e := range c.m {
		select {
		case <-e.ready:
			delete(c.m, k)
		default:
		}
	}
}
