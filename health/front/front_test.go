package front

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFront(t *testing.T) {
	static := t.TempDir()
	os.WriteFile(filepath.Join(static, "index.html"), []byte("<!doctype html><title>portal</title>"), 0o644)
	// What the care API saw, under mu: the handler runs on the server's
	// goroutines.
	var mu sync.Mutex
	var gotPath, gotCookie, gotBody string
	seen := false
	care := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotPath, gotCookie, gotBody, seen = r.URL.Path, r.Header.Get("Cookie"), string(b), true
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "__Host-s", Value: "v", Secure: true, Path: "/"})
		w.Write([]byte("sealed answer"))
	}))
	defer care.Close()
	u, _ := url.Parse(care.URL)
	var jwksErr atomic.Value
	jwksErr.Store(false)
	srv := httptest.NewUnstartedServer(nil)
	h, err := Handler(Config{Static: static, PortalConfig: []byte(`{"issuer":"x"}`), CareAPI: u, CareAPIClient: care.Client(), Hosts: []string{srv.Listener.Addr().String()},
		JWKS: func(context.Context) ([]byte, error) {
			if jwksErr.Load().(bool) {
				return nil, errors.New("down")
			}
			return []byte(`{"keys":[]}`), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/"); resp.StatusCode != 200 || !strings.Contains(body, "portal") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("index: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if _, body := get("/config.json"); body != `{"issuer":"x"}` {
		t.Fatalf("config: %q", body)
	}
	if _, body := get("/jwks.json"); body != `{"keys":[]}` {
		t.Fatalf("jwks: %q", body)
	}
	jwksErr.Store(true)
	if resp, _ := get("/jwks.json"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("jwks down: %d", resp.StatusCode)
	}
	// The care API is reached under the same origin, body and cookies intact.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/sealed", strings.NewReader("ciphertext"))
	req.Header.Set("Cookie", "__Host-cofre_session=abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	if string(b) != "sealed answer" || gotPath != "/api/sealed" || gotBody != "ciphertext" || !strings.Contains(gotCookie, "abc") || resp.Header.Get("Set-Cookie") == "" {
		t.Fatalf("proxy: %q %s %q %v", b, gotPath, gotBody, resp.Header)
	}
	seen = false
	mu.Unlock()
	// Nothing else is forwarded.
	if resp, _ := get("/v1/certs"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/v1/certs: %d", resp.StatusCode)
	}
	// An oversized body is refused before the care API sees it whole.
	big := strings.NewReader(strings.Repeat("x", maxProxyBody+1))
	resp, err = http.Post(srv.URL+"/api/sealed", "application/octet-stream", big)
	if err == nil {
		resp.Body.Close()
	}
	mu.Lock()
	if seen && len(gotBody) > maxProxyBody {
		t.Fatal("an oversized body reached the care API")
	}
	mu.Unlock()
	// Another Host (a DNS rebinding's name for 127.0.0.1) is not answered.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/config.json", nil)
	req.Host = "attacker.example:80"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a request for another host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if _, err := Handler(Config{Static: t.TempDir(), PortalConfig: []byte("{}"), CareAPI: u, CareAPIClient: care.Client(), Hosts: []string{"x"}, JWKS: func(context.Context) ([]byte, error) { return nil, nil }}); err == nil {
		t.Fatal("a portal without index.html accepted")
	}
}
