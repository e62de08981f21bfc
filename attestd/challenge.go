package attestd

import (
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

var (
	errNonceUnknown   = errors.New("nonce unknown or already used")
	errNonceExpired   = errors.New("nonce expired")
	errTooManyPending = errors.New("too many outstanding challenges")
)

type nonce = [attest.NonceSize]byte

// challenges holds the nonces the service has issued and not yet seen used.
//
// Replay protection rests on it: a nonce leaves the map on first use, so a
// second presentation finds nothing. Expired nonces are swept in issue
// order (every nonce has the same lifetime, so the oldest expire first),
// which keeps issue and use O(1) amortized.
type challenges struct {
	lifetime time.Duration
	max      int

	mu sync.Mutex // guards live, order and head
	// live maps each outstanding nonce to its expiry.
	live map[nonce]time.Time
	// order lists issued nonces oldest first from head on; entries already
	// used are skipped by the sweep (their map entry is gone).
	order []pending
	head  int
}

type pending struct {
	n   nonce
	exp time.Time
}

func newChallenges(lifetime time.Duration, max int) *challenges {
	return &challenges{lifetime: lifetime, max: max, live: make(map[nonce]time.Time)}
}

// issue makes a fresh random nonce valid until now+lifetime.
func (c *challenges) issue(now time.Time) (nonce, time.Time, error) {
	var n nonce
	rand.Read(n[:]) // never fails (crypto/rand, Go 1.24+)
	exp := now.Add(c.lifetime)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if len(c.live) >= c.max {
		return n, exp, errTooManyPending
	}
	c.live[n] = exp
	c.order = append(c.order, pending{n, exp})
	return n, exp, nil
}

// consume removes n and reports whether it was outstanding and unexpired.
// A nonce is gone after its first use whatever the result, so an attacker
// who saw one cannot use it again even if the first use failed.
func (c *challenges) consume(b []byte, now time.Time) error {
	if len(b) != attest.NonceSize {
		return errNonceUnknown
	}
	n := nonce(b)
	c.mu.Lock()
	exp, ok := c.live[n]
	delete(c.live, n)
	c.mu.Unlock()
	switch {
	case !ok:
		return errNonceUnknown
	case !now.Before(exp):
		return errNonceExpired
	}
	return nil
}

// outstanding returns how many nonces are issued and unused (expired ones
// included until the next sweep).
func (c *challenges) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}

// sweep drops expired nonces. c.mu must be held.
func (c *challenges) sweep(now time.Time) {
	for c.head < len(c.order) && !now.Before(c.order[c.head].exp) {
		p := c.order[c.head]
		if exp, ok := c.live[p.n]; ok && exp.Equal(p.exp) {
			delete(c.live, p.n)
		}
		c.order[c.head] = pending{}
		c.head++
	}
	// Reclaim the swept prefix once it is most of the slice.
	if c.head > 1024 && c.head*2 > len(c.order) {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}
