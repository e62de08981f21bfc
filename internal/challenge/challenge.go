// Package challenge issues and checks single-use nonces (challenges) for
// attestation freshness, without storing the nonces it issues.
//
// A verifier asks New for a Challenges, hands out Issue's nonce, and calls
// Consume on the nonce a client's evidence binds before trusting that
// evidence as fresh. Attestation verifiers do not check freshness
// themselves: this package is what makes a replayed report useless.
//
// What it does not do: survive a restart (the HMAC secret lives only in
// this process, so clients ask again), share state between replicas (a
// nonce is valid only at the process that issued it), or rate-limit
// clients.
package challenge

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Size is the length of a nonce in bytes (attest.NonceSize).
const Size = 32

// Errors returned by Consume.
var (
	// ErrUnknown: the bytes are not a nonce this process issued (forged,
	// tampered, malformed or from another process), or the nonce was
	// already used.
	ErrUnknown = errors.New("challenge: nonce unknown or already used")
	// ErrExpired: the nonce was issued here but its lifetime is over.
	ErrExpired = errors.New("challenge: nonce expired")
	// ErrTooMany: the bound on remembered used nonces is reached. Nothing
	// is forgotten early (that would allow a replay), so the caller should
	// answer "retry later" until some expire.
	ErrTooMany = errors.New("challenge: too many used nonces remembered")
)

// A nonce is self-authenticating, so issuing one stores nothing:
//
//	expiry (8 bytes, big-endian Unix nanoseconds)
//	‖ random (8 bytes)
//	‖ HMAC-SHA256(secret, expiry ‖ random)[:16]
//
// Storing every issued nonce until use or expiry, under a global cap, lets
// one client asking for challenges in a loop fill the cap at no cost and
// lock every other client out. Here only used nonces are remembered (until
// they expire, for replay protection), and each costs its sender a full
// attestation request.
//
// A 128-bit tag cannot be forged without the secret; 8 random bytes keep
// two nonces issued in the same nanosecond distinct.
const (
	expiryLen = 8
	randLen   = 8
	bodyLen   = expiryLen + randLen // what the tag covers
	tagLen    = Size - bodyLen
)

// Challenges issues nonces and remembers the used ones until they expire.
// It is safe for concurrent use.
type Challenges struct {
	lifetime time.Duration
	max      int
	secret   [32]byte

	mu sync.Mutex // guards used and byExp
	// used holds the body (expiry ‖ random) of every nonce consumed and
	// not yet swept; byExp orders the same entries by expiry, soonest
	// first, for the sweep.
	used  map[[bodyLen]byte]struct{}
	byExp expiryHeap
}

// New returns a Challenges whose nonces are valid for lifetime and which
// remembers at most maxRemembered used nonces (each about 64 bytes). Both
// must be positive; New panics otherwise (a programming error). The HMAC
// secret is drawn from crypto/rand.
func New(lifetime time.Duration, maxRemembered int) *Challenges {
	if lifetime <= 0 || maxRemembered <= 0 {
		panic("challenge: New needs a positive lifetime and maxRemembered")
	}
	c := &Challenges{lifetime: lifetime, max: maxRemembered, used: make(map[[bodyLen]byte]struct{})}
	rand.Read(c.secret[:]) // never fails (crypto/rand, Go 1.24+)
	return c
}

func (c *Challenges) tag(body []byte) []byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write(body)
	return m.Sum(nil)[:tagLen]
}

// Issue makes a fresh nonce valid until now+lifetime, and returns it with
// that expiry. It stores nothing and never fails.
func (c *Challenges) Issue(now time.Time) ([Size]byte, time.Time) {
	var n [Size]byte
	exp := now.Add(c.lifetime)
	binary.BigEndian.PutUint64(n[:expiryLen], uint64(exp.UnixNano()))
	rand.Read(n[expiryLen:bodyLen])
	copy(n[bodyLen:], c.tag(n[:bodyLen]))
	return n, exp
}

// Consume checks that b is a nonce this process issued, unexpired at now
// and not used before, and records it as used. Call it before anything
// else that the nonce protects: a nonce is spent by its first well-formed
// presentation whatever the request's outcome, so an attacker who saw one
// cannot use it again even if the first use failed.
//
// It returns ErrUnknown, ErrExpired or ErrTooMany. When the bound on
// remembered nonces is reached it refuses (ErrTooMany) instead of
// forgetting one: forgetting would allow a replay.
func (c *Challenges) Consume(b []byte, now time.Time) error {
	if len(b) != Size {
		return ErrUnknown
	}
	if !hmac.Equal(b[bodyLen:], c.tag(b[:bodyLen])) {
		return ErrUnknown // forged, or from another process
	}
	exp := int64(binary.BigEndian.Uint64(b[:expiryLen]))
	switch {
	case now.UnixNano() >= exp:
		return ErrExpired
	case exp-now.UnixNano() > int64(c.lifetime):
		// Only possible if the clock went back: refuse rather than hold
		// the nonce longer than a lifetime.
		return ErrUnknown
	}
	body := [bodyLen]byte(b[:bodyLen])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if _, ok := c.used[body]; ok {
		return ErrUnknown
	}
	if len(c.used) >= c.max {
		return ErrTooMany
	}
	c.used[body] = struct{}{}
	heap.Push(&c.byExp, usedNonce{body: body, exp: exp})
	return nil
}

// Remembered returns how many used nonces are remembered (expired ones
// included until the next Consume sweeps them): a gauge for metrics.
func (c *Challenges) Remembered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.used)
}

// sweep forgets used nonces that have expired: presented again, they are
// refused as expired without the set. c.mu must be held.
func (c *Challenges) sweep(now time.Time) {
	t := now.UnixNano()
	for len(c.byExp) > 0 && c.byExp[0].exp <= t {
		u := heap.Pop(&c.byExp).(usedNonce)
		delete(c.used, u.body)
	}
}

type usedNonce struct {
	body [bodyLen]byte
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
