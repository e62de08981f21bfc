package token

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// RemoteJWKS fetches an issuer's JWKS over HTTPS, caches it, and fetches it
// again when a token names a kid it does not hold (the issuer rotated) or
// when the cached set is older than MaxAge (so retired keys stop
// verifying). Fetches are rate-limited: at most one per MinRefreshInterval,
// whatever tokens arrive, so an attacker sending tokens with random kids
// cannot make a relying party hammer the issuer.
//
// The URL must be https. Plain http is accepted only when the host is a
// loopback IP literal (127.0.0.0/8, ::1), for a development issuer on the
// same machine: on loopback no network attacker can substitute keys.
// "localhost" is not accepted, since it is resolved by name. Redirects are
// followed (at most three) only to URLs that pass the same rule.
//
// Set the fields before first use and do not change them afterwards; the
// zero values of the optional fields select the defaults. A RemoteJWKS is
// safe for concurrent use and must not be copied after first use.
type RemoteJWKS struct {
	// URL of the JWKS (the issuer's jwks_uri). Required.
	URL string
	// Client makes the requests. Required (there is no default client, so
	// the caller decides on timeouts, proxies and trusted roots). Its
	// CheckRedirect is replaced in a private copy.
	Client *http.Client
	// MinRefreshInterval is the least time between two fetches. Zero means
	// DefaultMinRefreshInterval (1 minute).
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched set is used before it is fetched again.
	// Zero means DefaultMaxAge (10 minutes). It is raised to
	// MinRefreshInterval if smaller. A set older than MaxAge that cannot
	// be refreshed is not used: Verify returns ErrUnavailable.
	MaxAge time.Duration
	// FetchTimeout bounds one fetch; zero means DefaultFetchTimeout (10 s).
	// A fetch is not cancelled with the request that triggered it, since
	// other verifications wait for it.
	FetchTimeout time.Duration
	// Clock returns the current time, for the cache and the rate limit;
	// nil means time.Now. Tests inject it.
	Clock func() time.Time

	initOnce sync.Once
	initErr  error
	client   *http.Client // Client with the redirect check

	// fetchMu serializes fetches, so concurrent lookups of an unknown kid
	// cause one request. Lock order: fetchMu before mu.
	fetchMu sync.Mutex

	mu          sync.Mutex // guards the fields below
	keys        keySet     // the last fetched set; nil before the first success
	fetchedAt   time.Time  // when keys was fetched
	lastAttempt time.Time  // when the last fetch (successful or not) started
	fetches     int        // fetch attempts, for tests and metrics
}

var _ JWKS = (*RemoteJWKS)(nil)

func (r *RemoteJWKS) init() error {
	r.initOnce.Do(func() {
		if r.Client == nil {
			r.initErr = fmt.Errorf("token: %w: RemoteJWKS.Client is nil (no default client)", ErrOptions)
			return
		}
		if err := checkJWKSURL(r.URL); err != nil {
			r.initErr = fmt.Errorf("token: %w: RemoteJWKS.URL: %w", ErrOptions, err)
			return
		}
		c := *r.Client
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return checkJWKSURL(req.URL.String())
		}
		r.client = &c
	})
	return r.initErr
}

// checkJWKSURL applies the https-or-loopback rule.
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%q: http is allowed only to a loopback IP address; use https", s)
	}
	return fmt.Errorf("%q: scheme %q, want https", s, u.Scheme)
}

func (r *RemoteJWKS) now() time.Time {
	if r.Clock != nil {
		return r.Clock()
	}
	return time.Now()
}

func (r *RemoteJWKS) minInterval() time.Duration {
	if r.MinRefreshInterval > 0 {
		return r.MinRefreshInterval
	}
	return DefaultMinRefreshInterval
}

func (r *RemoteJWKS) maxAge() time.Duration {
	a := r.MaxAge
	if a <= 0 {
		a = DefaultMaxAge
	}
	return max(a, r.minInterval())
}

// Fetches returns how many fetches have been attempted.
func (r *RemoteJWKS) Fetches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetches
}

// cached returns the key named kid from a fresh cached set. fresh is false
// if there is no set or it is older than MaxAge.
func (r *RemoteJWKS) cached(kid string, now time.Time) (k *verificationKey, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil || now.Sub(r.fetchedAt) >= r.maxAge() {
		return nil, false
	}
	return r.keys[kid], true
}

func (r *RemoteJWKS) lookup(ctx context.Context, kid string) (*verificationKey, error) {
	if err := r.init(); err != nil {
		return nil, err
	}
	if k, _ := r.cached(kid, r.now()); k != nil {
		return k, nil
	}

	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	// Another lookup may have fetched while this one waited.
	now := r.now()
	k, fresh := r.cached(kid, now)
	if k != nil {
		return k, nil
	}
	r.mu.Lock()
	limited := !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.minInterval()
	if !limited {
		r.lastAttempt = now
		r.fetches++
	}
	r.mu.Unlock()
	if limited {
		if fresh {
			// The set is current and was fetched recently: the kid is
			// not the issuer's (or appeared in the last interval).
			return nil, refuse(ErrUnknownKey, "header.kid", "a key of the JWKS (refreshed less than "+r.minInterval().String()+" ago)", kid)
		}
		return nil, fmt.Errorf("%w: %s: the cached set is stale and the last fetch was less than %v ago", ErrUnavailable, r.URL, r.minInterval())
	}

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.fetchTimeout())
	defer cancel()
	keys, err := r.fetch(fctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, r.URL, err)
	}
	r.mu.Lock()
	r.keys, r.fetchedAt = keys, now
	r.mu.Unlock()
	if k := keys[kid]; k != nil {
		return k, nil
	}
	return nil, refuse(ErrUnknownKey, "header.kid", "a key of the JWKS (just refreshed)", kid)
}

func (r *RemoteJWKS) fetchTimeout() time.Duration {
	if r.FetchTimeout > 0 {
		return r.FetchTimeout
	}
	return DefaultFetchTimeout
}

// fetch GETs the set, reading at most maxJWKSSize bytes.
func (r *RemoteJWKS) fetch(ctx context.Context) (keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	if resp.ContentLength > maxJWKSSize {
		return nil, fmt.Errorf("response is %d bytes, limit %d", resp.ContentLength, maxJWKSSize)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxJWKSSize {
		return nil, fmt.Errorf("response is larger than %d bytes", maxJWKSSize)
	}
	return parseJWKS(b)
}
