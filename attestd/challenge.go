package attestd

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

var (
	errNonceUnknown   = errors.New("nonce unknown or already used")
	errNonceExpired   = errors.New("nonce expired")
	errTooManyPending = errors.New("too many used nonces remembered")
)

type nonce = [attest.NonceSize]byte

// A nonce is self-authenticating, so issuing one stores nothing:
//
//	expiry (8 bytes, big-endian Unix nanoseconds)
//	‖ random (8 bytes)
//	‖ HMAC-SHA256(secret, expiry ‖ random)[:16]
//
// The earlier design kept every issued nonce until use or expiry, under a
// global cap; one client asking for challenges in a loop filled the cap at
// no cost and locked every other client out. Now only used nonces are
// remembered (until they expire, for replay protection), and each costs
// its sender a full attestation request.
//
// A 128-bit tag cannot be forged without the secret; 8 random bytes keep
// two nonces issued in the same nanosecond distinct. The secret is random
// per process: challenges do not survive a restart (clients ask again).
const (
	nonceExpiryLen = 8
	nonceRandLen   = 8
	nonceBodyLen   = nonceExpiryLen + nonceRandLen // what the tag covers
	nonceTagLen    = attest.NonceSize - nonceBodyLen
)

// challenges issues nonces and remembers the used ones until they expire.
type challenges struct {
	lifetime time.Duration
	max      int
	secret   [32]byte

	mu sync.Mutex // guards used and byExp
	// used holds the body (expiry ‖ random) of every nonce consumed and
	// not yet expired; byExp orders the same entries by expiry, soonest
	// first, for the sweep.
	used  map[[nonceBodyLen]byte]struct{}
	byExp expiryHeap
}

type usedNonce struct {
	body [nonceBodyLen]byte
	exp  int64 // Unix nanoseconds
}

// expiryHeap is a container/heap min-heap of used nonces by expiry.
type expiryHeap []usedNonce

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(usedNonce)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newChallenges(lifetime time.Duration, max int) *challenges {
	c := &challenges{lifetime: lifetime, max: max, used: make(map[[nonceBodyLen]byte]struct{})}
	rand.Read(c.secret[:]) // never fails (crypto/rand, Go 1.24+)
	return c
}

func (c *challenges) tag(body []byte) []byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write(body)
	return m.Sum(nil)[:nonceTagLen]
}

// issue makes a fresh nonce valid until now+lifetime. It stores nothing and
// never fails.
func (c *challenges) issue(now time.Time) (nonce, time.Time) {
	var n nonce
	exp := now.Add(c.lifetime)
	binary.BigEndian.PutUint64(n[:nonceExpiryLen], uint64(exp.UnixNano()))
	rand.Read(n[nonceExpiryLen:nonceBodyLen])
	copy(n[nonceBodyLen:], c.tag(n[:nonceBodyLen]))
	return n, exp
}

// consume checks that b is a nonce this process issued, unexpired and not
// used before, and records it as used. A nonce is spent by its first
// well-formed presentation whatever the request's outcome, so an attacker
// who saw one cannot use it again even if the first use failed.
//
// When maxUsed used nonces are remembered (an attacker spending nonces as
// fast as it can), consume refuses with errTooManyPending instead of
// forgetting one: forgetting would allow a replay.
func (c *challenges) consume(b []byte, now time.Time) error {
	if len(b) != attest.NonceSize {
		return errNonceUnknown
	}
	if !hmac.Equal(b[nonceBodyLen:], c.tag(b[:nonceBodyLen])) {
		return errNonceUnknown // forged, or from another process
	}
	exp := int64(binary.BigEndian.Uint64(b[:nonceExpiryLen]))
	switch {
	case now.UnixNano() >= exp:
		return errNonceExpired
	case exp-now.UnixNano() > int64(c.lifetime):
		// Only possible if the clock went back: refuse rather than hold
		// the nonce longer than a lifetime.
		return errNonceUnknown
	}
	body := [nonceBodyLen]byte(b[:nonceBodyLen])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if _, ok := c.used[body]; ok {
		return errNonceUnknown
	}
	if len(c.used) >= c.max {
		return errTooManyPending
	}
	c.used[body] = struct{}{}
	heap.Push(&c.byExp, usedNonce{body: body, exp: exp})
	return nil
}

// remembered returns how many used nonces are remembered (expired ones
// included until the next sweep).
func (c *challenges) remembered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.used)
}

// sweep forgets used nonces that have expired: presented again, they are
// refused as expired without the set. c.mu must be held.
func (c *challenges) sweep(now time.Time) {
	t := now.UnixNano()
	for len(c.byExp) > 0 && c.byExp[0].exp <= t {
		u := heap.Pop(&c.byExp).(usedNonce)
		delete(c.used, u.body)
	}
}
