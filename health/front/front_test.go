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
	"testing"
)

func TestFront(t *testing.T) {
	static := t.TempDir()
	os.WriteFile(filepath.Join(static, "index.html"), []byte("<!doctype html><title>portal</title>"), 0o644)
	var got *http.Request
	var gotBody string
	care := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		http.SetCookie(w, &http.Cookie{Name: "__Host-s", Value: "v", Secure: true, Path: "/"})
		w.Write([]byte("sealed answer"))
	}))
	defer care.Close()
	u, _ := url.Parse(care.URL)
	jwksErr := error(nil)
	h, err := Handler(Config{Static: static, PortalConfig: []byte(`{"issuer":"x"}`), CareAPI: u, CareAPIClient: care.Client(),
		JWKS: func(context.Context) ([]byte, error) { return []byte(`{"keys":[]}`), jwksErr }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
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
	jwksErr = errors.New("down")
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
	if string(b) != "sealed answer" || got.URL.Path != "/api/sealed" || gotBody != "ciphertext" || !strings.Contains(got.Header.Get("Cookie"), "abc") || resp.Header.Get("Set-Cookie") == "" {
		t.Fatalf("proxy: %q %s %q %v", b, got.URL.Path, gotBody, resp.Header)
	}
	// Nothing else is forwarded.
	if resp, _ := get("/v1/certs"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/v1/certs: %d", resp.StatusCode)
	}
	// An oversized body is refused before the care API sees it.
	got = nil
	big := strings.NewReader(strings.Repeat("x", maxProxyBody+1))
	resp, err = http.Post(srv.URL+"/api/sealed", "application/octet-stream", big)
	if err == nil {
		resp.Body.Close()
	}
	if got != nil && len(gotBody) > maxProxyBody {
		t.Fatal("an oversized body reached the care API")
	}
	if _, err := Handler(Config{Static: t.TempDir(), PortalConfig: []byte("{}"), CareAPI: u, CareAPIClient: care.Client(), JWKS: func(context.Context) ([]byte, error) { return nil, nil }}); err == nil {
		t.Fatal("a portal without index.html accepted")
	}
}
