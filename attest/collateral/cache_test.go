package collateral

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// countingSource answers every request with a body naming it and a serial
// number, and counts its calls.
type countingSource struct {
	calls int
	err   error
}

func (s *countingSource) Fetch(_ context.Context, req Request) ([]byte, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return fmt.Appendf(nil, "%v/%s/%s/%x/%x/%s#%d", req.Kind, req.TEE, req.FMSPC, req.ChipID, req.ReportedTCB, req.URL, s.calls), nil
}

func TestCacheHitMiss(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache") // created on first store
	next := &countingSource{}
	now := time.Now()
	c := &Cache{Dir: dir, Next: next, TTL: time.Hour, Now: func() time.Time { return now }}
	ctx := context.Background()
	tcbInfo := Request{Kind: KindTCBInfo, TEE: "sgx", FMSPC: "00606A000000"}

	first, err := c.Fetch(ctx, tcbInfo)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Fetch(ctx, tcbInfo)
	if err != nil {
		t.Fatal(err)
	}
	if next.calls != 1 || !bytes.Equal(first, again) {
		t.Fatalf("hit: %d calls, %q then %q", next.calls, first, again)
	}

	// Another platform's item is another entry.
	other, err := c.Fetch(ctx, Request{Kind: KindTCBInfo, TEE: "sgx", FMSPC: "00906ED50000"})
	if err != nil {
		t.Fatal(err)
	}
	if next.calls != 2 || bytes.Equal(other, first) {
		t.Fatalf("other platform: %d calls, %q", next.calls, other)
	}
	// So is the same parameters under another kind or TEE.
	if _, err := c.Fetch(ctx, Request{Kind: KindTCBInfo, TEE: "tdx", FMSPC: "00606A000000"}); err != nil || next.calls != 3 {
		t.Fatalf("other TEE: %d calls, %v", next.calls, err)
	}

	// Files are private and no temporary file is left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("%d files in the cache, want 3", len(entries))
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left", e.Name())
		}
		if !strings.HasSuffix(e.Name(), "-tcb_info.json") {
			t.Errorf("file name %s lacks the kind", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v, %v", st.Mode().Perm(), err)
	}

	// Past the TTL the item is fetched again.
	now = now.Add(2 * time.Hour)
	refreshed, err := c.Fetch(ctx, tcbInfo)
	if err != nil {
		t.Fatal(err)
	}
	if next.calls != 4 || bytes.Equal(refreshed, first) {
		t.Fatalf("expired: %d calls, %q", next.calls, refreshed)
	}
}

func TestCacheVCEKNeverExpires(t *testing.T) {
	next := &countingSource{}
	now := time.Now()
	c := &Cache{Dir: t.TempDir(), Next: next, Now: func() time.Time { return now }}
	ctx := context.Background()
	vcek := Request{Kind: KindVCEK, Product: "Milan", ChipID: bytes.Repeat([]byte{1}, 64), ReportedTCB: 0x4405000000000002}
	if _, err := c.Fetch(ctx, vcek); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * 365 * 24 * time.Hour)
	if _, err := c.Fetch(ctx, vcek); err != nil || next.calls != 1 {
		t.Fatalf("VCEK refetched: %d calls, %v", next.calls, err)
	}
	// Another TCB is another VCEK.
	vcek.ReportedTCB++
	if _, err := c.Fetch(ctx, vcek); err != nil || next.calls != 2 {
		t.Fatalf("new TCB: %d calls, %v", next.calls, err)
	}
	// But the CRL is not immutable.
	crl := Request{Kind: KindAMDCRL, Product: "Milan"}
	c.Fetch(ctx, crl)
	now = now.Add(DefaultCacheTTL + time.Minute)
	if _, err := c.Fetch(ctx, crl); err != nil || next.calls != 4 {
		t.Fatalf("CRL after DefaultCacheTTL: %d calls, %v", next.calls, err)
	}
}

func TestCacheErrors(t *testing.T) {
	ctx := context.Background()
	req := Request{Kind: KindQEIdentity, TEE: "sgx"}

	t.Run("not found passes through, uncached", func(t *testing.T) {
		next := &countingSource{err: fmt.Errorf("test: %w", ErrNotFound)}
		c := &Cache{Dir: t.TempDir(), Next: next}
		for range 2 {
			if _, err := c.Fetch(ctx, req); !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		}
		if next.calls != 2 {
			t.Errorf("%d calls, want 2", next.calls)
		}
	})
	t.Run("stale if error", func(t *testing.T) {
		next := &countingSource{}
		now := time.Now()
		c := &Cache{Dir: t.TempDir(), Next: next, TTL: time.Minute, Now: func() time.Time { return now }}
		first, err := c.Fetch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		next.err = errors.New("pcs down")
		if _, err := c.Fetch(ctx, req); err == nil {
			t.Fatal("served stale without StaleIfError")
		}
		c.StaleIfError = true
		got, err := c.Fetch(ctx, req)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("stale: %q, %v", got, err)
		}
	})
	t.Run("stale JWKS never served", func(t *testing.T) {
		jwks := Request{Kind: KindJWKS, URL: "https://issuer.example/.well-known/openid-configuration"}
		next := &countingSource{}
		now := time.Now()
		c := &Cache{Dir: t.TempDir(), Next: next, TTL: time.Minute, StaleIfError: true, Now: func() time.Time { return now }}
		if _, err := c.Fetch(ctx, jwks); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		next.err = errors.New("issuer unreachable")
		if _, err := c.Fetch(ctx, jwks); err == nil {
			t.Fatal("served a stale JWKS: a revoked signing key would stay trusted")
		}
	})
	t.Run("oversized cache file is a miss", func(t *testing.T) {
		dir := t.TempDir()
		next := &countingSource{}
		c := &Cache{Dir: dir, Next: next}
		if err := os.WriteFile(filepath.Join(dir, cacheName(req)), make([]byte, MaxItemSize+1), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Fetch(ctx, req); err != nil || next.calls != 1 {
			t.Fatalf("%d calls, %v", next.calls, err)
		}
	})
	t.Run("unwritable dir still answers", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c := &Cache{Dir: filepath.Join(file, "sub"), Next: &countingSource{}}
		if _, err := c.Fetch(ctx, req); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("misconfigured", func(t *testing.T) {
		for _, c := range []*Cache{{Next: &countingSource{}}, {Dir: t.TempDir()}} {
			if _, err := c.Fetch(ctx, req); err == nil {
				t.Errorf("%+v accepted", c)
			}
		}
		if _, err := (&Cache{Dir: t.TempDir(), Next: &countingSource{}}).Fetch(ctx, Request{}); err == nil {
			t.Error("invalid kind accepted")
		}
	})
}

func TestCacheOverOnline(t *testing.T) {
	// The combination a verifier uses: Cache{Next: Online}; a second
	// fetch does not reach the server.
	v := newVendor(t)
	chip := bytes.Repeat([]byte{0xab}, 64)
	uri := "/vcek/v1/Milan/" + fmt.Sprintf("%x", chip) + "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"
	v.bodies[uri] = "vcek-der"
	c := &Cache{Dir: t.TempDir(), Next: v.online()}
	req := Request{Kind: KindVCEK, Product: "Milan", ChipID: chip, ReportedTCB: 0x4405000000000002}
	for range 3 {
		got, err := c.Fetch(context.Background(), req)
		if err != nil || string(got) != "vcek-der" {
			t.Fatalf("%q, %v", got, err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.seen) != 1 {
		t.Errorf("server saw %d requests, want 1", len(v.seen))
	}
}
