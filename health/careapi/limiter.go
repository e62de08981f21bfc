package careapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"
)

// limiter counts login attempts per username: at most MaxLoginFailures
// within LoginWindow, after which the username is locked until the
// window ends.
//
// Every username, whether it names an account or not, has its own
// bucket, so the answer for an unknown name (401, then 429 after its own
// failures) is the answer for a known one: a shared bucket for unknown
// names would let a prober tell them apart by which names reach 429
// first. Buckets are keyed by an HMAC-SHA-256 of the name under a
// per-process random key, so the map holds no typed usernames (people
// type passwords into username fields) and an attacker cannot choose
// colliding keys.
//
// The map is bounded (maxBuckets): when it is full, expired buckets are
// swept; if none has expired, a name without a bucket is refused as
// locked. Under such a flood everyone without a bucket gets the same 429
// rather than the map growing, and an existing bucket is never evicted
// early, which would hand its owner's attacker a fresh count.
type limiter struct {
	key [32]byte // HMAC key, random per process
	max int      // bound on len(buckets)

	mu        sync.Mutex // guards buckets, nextSweep, floodAudit
	buckets   map[[sha256.Size]byte]*window
	nextSweep time.Time // no bucket expires before this: a full map is not swept again earlier
	// floodAudit is when a flood refusal was last reported for audit: one
	// entry per LoginWindow, not one per refused request.
	floodAudit time.Time
}

// window is one username's attempts in the current LoginWindow.
type window struct {
	start   time.Time
	count   int  // attempts reserved: failed or still being checked
	audited bool // the lock has been reported for audit in this window
}

// limitResult is what reserve decided.
type limitResult int

const (
	limitInvalid limitResult = iota
	// limitAllowed: the attempt is counted and may go ahead.
	limitAllowed
	// limitLocked: refused, and the first refusal of this lock window
	// (to be audited).
	limitLocked
	// limitLockedAgain: refused, already audited in this window.
	limitLockedAgain
)

func (r limitResult) String() string {
	switch r {
	case limitInvalid:
		return "invalid"
	case limitAllowed:
		return "allowed"
	case limitLocked:
		return "locked"
	case limitLockedAgain:
		return "locked-again"
	}
	return "limitResult(" + strconv.Itoa(int(r)) + ")"
}

func newLimiter(max int) *limiter {
	l := &limiter{max: max, buckets: map[[sha256.Size]byte]*window{}}
	rand.Read(l.key[:])
	return l
}

func (l *limiter) bucket(user string) [sha256.Size]byte {
	m := hmac.New(sha256.New, l.key[:])
	m.Write([]byte(user))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// reserve decides whether user may try to log in at now and, if so,
// counts the attempt in the same critical section, before any password
// is hashed.
func (l *limiter) reserve(user string, now time.Time) limitResult {
	k := l.bucket(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.buckets[k]
	if w != nil && now.Sub(w.start) >= LoginWindow {
		delete(l.buckets, k)
		w = nil
	}
	if w == nil {
		if len(l.buckets) >= l.max && !l.sweep(now) {
			if l.floodAudit.IsZero() || now.Sub(l.floodAudit) >= LoginWindow {
				l.floodAudit = now
				return limitLocked
			}
			return limitLockedAgain
		}
		w = &window{start: now}
		l.buckets[k] = w
	}
	if w.count >= MaxLoginFailures {
		if !w.audited {
			w.audited = true
			return limitLocked
		}
		return limitLockedAgain
	}
	w.count++
	return limitAllowed
}

// sweep deletes expired buckets and reports whether there is room for
// one more. It scans the map at most once per expiry: nextSweep is the
// earliest time a remaining bucket expires. l.mu must be held.
func (l *limiter) sweep(now time.Time) bool {
	if now.Before(l.nextSweep) {
		return false
	}
	var earliest time.Time
	for k, w := range l.buckets {
		if now.Sub(w.start) >= LoginWindow {
			delete(l.buckets, k)
			continue
		}
		if earliest.IsZero() || w.start.Before(earliest) {
			earliest = w.start
		}
	}
	l.nextSweep = earliest.Add(LoginWindow)
	return len(l.buckets) < l.max
}

// succeed clears user's attempts.
func (l *limiter) succeed(user string) {
	k := l.bucket(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, k)
}
