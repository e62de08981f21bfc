package careapi

import (
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// nonceSize is the decoded size of an inner request's nonce: 128 random
// bits, so honest senders never collide.
const nonceSize = 16

// nonceLen is its length as unpadded base64url.
const nonceLen = 22

// Why the replay check refused an inner request.
var (
	errStale    = errors.New("careapi: sealed request ts outside the accepted window")
	errReplay   = errors.New("careapi: sealed request nonce already used")
	errReplayDB = errors.New("careapi: too many recent sealed requests to remember")
)

// replayCache refuses a sealed request seen before. A TLS-terminating
// proxy sees the outer cookie and the sealed bytes; without this check it
// could resend a captured request, keeping a session alive past its idle
// logoff or duplicating a record. The sender puts a random nonce and its
// clock (ts) in the sealed plaintext, where the proxy cannot change them;
// the cache accepts a ts within MaxClockSkew of the server's clock and
// remembers each accepted nonce until its ts leaves that window, after
// which the ts check alone refuses it.
//
// The set is bounded: when it holds max nonces, expired ones are swept;
// if none has expired, requests are refused (503) rather than a nonce
// forgotten early, which would reopen the replay.
type replayCache struct {
	max int

	mu        sync.Mutex                    // guards seen and nextSweep
	seen      map[[nonceSize]byte]time.Time // nonce → expiry (its ts + MaxClockSkew)
	nextSweep time.Time                     // no entry expires before this
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: map[[nonceSize]byte]time.Time{}}
}

// admit checks ts against now and records nonce, or returns errStale,
// errReplay or errReplayDB. nonce has been checked by parseInner.
func (c *replayCache) admit(nonce string, ts int64, now time.Time) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(b) != nonceSize {
		return errReplay // parseInner refuses these first
	}
	n := [nonceSize]byte(b)
	t := time.UnixMilli(ts)
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return errStale
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[n]; ok && !now.After(exp) {
		return errReplay
	}
	if len(c.seen) >= c.max && !c.sweep(now) {
		return errReplayDB
	}
	c.seen[n] = t.Add(MaxClockSkew)
	return nil
}

// sweep deletes expired nonces and reports whether there is room for one
// more, scanning at most once per expiry. c.mu must be held.
func (c *replayCache) sweep(now time.Time) bool {
	if now.Before(c.nextSweep) {
		return false
	}
	var earliest time.Time
	for n, exp := range c.seen {
		if now.After(exp) {
			delete(c.seen, n)
			continue
		}
		if earliest.IsZero() || exp.Before(earliest) {
			earliest = exp
		}
	}
	c.nextSweep = earliest
	return len(c.seen) < c.max
}
