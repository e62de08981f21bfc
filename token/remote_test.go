package token

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// jwksServer serves a JWKS over TLS on loopback and counts requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	status   int
	requests int
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests++
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

func (s *jwksServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRemoteJWKSRefreshAndRateLimit(t *testing.T) {
	ks := mustKeySet(t, ES256)
	body, _ := ks.JWKS(t0)
	srv := newJWKSServer(t, body)
	clock := &fakeClock{now: t0}
	remote := &RemoteJWKS{URL: srv.URL + "/certs", Client: srv.Client(), Clock: clock.Now}
	opts := Options{JWKS: remote, Now: t0.Add(time.Minute)}
	verify := func(tok string) error {
		_, err := Verify(context.Background(), tok, opts)
		return err
	}
	step := func(name string, tok string, want error, wantRequests int) {
		t.Helper()
		err := verify(tok)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
		if n := srv.count(); n != wantRequests {
			t.Errorf("%s: %d requests to the issuer, want %d", name, n, wantRequests)
		}
	}

	tok1 := mustIssue(t, ks, testClaims())
	step("first token fetches the set", tok1, nil, 1)
	step("second token uses the cache", tok1, nil, 1)

	// The issuer rotates: the new kid is unknown to the cache.
	if err := ks.Rotate(ES256, t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	body, _ = ks.JWKS(t0)
	srv.set(body, http.StatusOK)
	tok2 := mustIssue(t, ks, testClaims())
	step("new kid within the refresh interval", tok2, ErrUnknownKey, 1)
	clock.advance(DefaultMinRefreshInterval)
	step("new kid after the interval refreshes once", tok2, nil, 2)
	step("new kid is then cached", tok2, nil, 2)

	// An attacker sends tokens with random kids: no request reaches the
	// issuer within the interval.
	for range 20 {
		step("random kid", mustIssue(t, mustKeySet(t, ES256), testClaims()), ErrUnknownKey, 2)
	}
	clock.advance(DefaultMinRefreshInterval)
	step("random kid after the interval: one refresh", mustIssue(t, mustKeySet(t, ES256), testClaims()), ErrUnknownKey, 3)
	step("random kid again", mustIssue(t, mustKeySet(t, ES256), testClaims()), ErrUnknownKey, 3)
	step("known kids still verify", tok1, nil, 3)

	// The cached set expires after MaxAge; a failed refresh then fails
	// closed (the set may have dropped a compromised key).
	clock.advance(DefaultMaxAge)
	srv.set([]byte("oops"), http.StatusInternalServerError)
	step("stale set, issuer down", tok1, ErrUnavailable, 4)
	step("stale set, retry held back", tok1, ErrUnavailable, 4)
	clock.advance(DefaultMinRefreshInterval)
	srv.set(body, http.StatusOK)
	step("stale set, issuer back", tok1, nil, 5)
	if remote.Fetches() != 5 {
		t.Errorf("Fetches() = %d, want 5", remote.Fetches())
	}
}

func TestRemoteJWKSConcurrentUnknownKid(t *testing.T) {
	ks := mustKeySet(t, ES256)
	body, _ := ks.JWKS(t0)
	srv := newJWKSServer(t, body)
	remote := &RemoteJWKS{URL: srv.URL, Client: srv.Client(), Clock: func() time.Time { return t0 }}
	tok := mustIssue(t, ks, testClaims())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := Verify(context.Background(), tok, Options{JWKS: remote, Now: t0})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := srv.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRemoteJWKSResponseLimits(t *testing.T) {
	ks := mustKeySet(t, ES256)
	tok := mustIssue(t, ks, testClaims())
	big := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", maxJWKSSize) + `"}`)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"oversized body", func(w http.ResponseWriter, r *http.Request) { w.Write(big) }},
		{"oversized, chunked (no Content-Length)", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(big); i += 4096 {
				w.Write(big[i:min(i+4096, len(big))])
				w.(http.Flusher).Flush()
			}
		}},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"not a JWKS", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }},
		{"redirect to plain http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://attestd.example/certs", http.StatusFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.handler)
			defer srv.Close()
			remote := &RemoteJWKS{URL: srv.URL, Client: srv.Client(), Clock: func() time.Time { return t0 }}
			_, err := Verify(context.Background(), tok, Options{JWKS: remote, Now: t0})
			if !errors.Is(err, ErrUnavailable) || len(Refusals(err)) != 0 {
				t.Errorf("error %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestRemoteJWKSConfig(t *testing.T) {
	ks := mustKeySet(t, ES256)
	tok := mustIssue(t, ks, testClaims())
	body, _ := ks.JWKS(t0)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer plain.Close()

	tests := []struct {
		name   string
		remote *RemoteJWKS
		ok     bool
	}{
		{"http on loopback", &RemoteJWKS{URL: plain.URL, Client: plain.Client()}, true},
		{"no client", &RemoteJWKS{URL: plain.URL}, false},
		{"http elsewhere", &RemoteJWKS{URL: "http://attestd.example/certs", Client: http.DefaultClient}, false},
		{"http localhost by name", &RemoteJWKS{URL: "http://localhost:1/certs", Client: http.DefaultClient}, false},
		{"file URL", &RemoteJWKS{URL: "file:///etc/jwks.json", Client: http.DefaultClient}, false},
		{"relative URL", &RemoteJWKS{URL: "/certs", Client: http.DefaultClient}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.remote.Clock = func() time.Time { return t0 }
			_, err := Verify(context.Background(), tok, Options{JWKS: tt.remote, Now: t0})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrOptions) {
				t.Errorf("error %v, want ErrOptions", err)
			}
		})
	}
}
