// Package front serves the hospital portal to a browser on this machine:
// the portal's static files, its config.json, the attestation service's
// JWKS, and the care API under the same origin (/api/, /fhir/), so the
// browser needs no CORS and trusts no certificate of ours.
//
// It is what a hospital's static hosting and load balancer would do, and it
// is not trusted with patient data: the portal verifies the care API's
// attestation token itself and seals every request to the key in it
// (docs/sealed.md), so what passes through here is ciphertext. The JWKS it
// serves comes from the coordinator over a connection verified against the
// coordinator's attested root; a portal deployed elsewhere pins the key IDs
// in its config (pinnedKeyIDs).
//
// What it does not do: TLS (it listens on loopback; browsers treat
// http://127.0.0.1 as a secure context), authentication, caching.
package front

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxProxyBody bounds a request forwarded to the care API (a sealed DICOM
// upload fits).
const maxProxyBody = 48 << 20

// Config configures the handler.
type Config struct {
	// Static is the portal's built files (health/portal/dist).
	Static string
	// PortalConfig is served as /config.json.
	PortalConfig []byte
	// CareAPI is the care API's base URL; CareAPIClient reaches it (with
	// its TLS key verified).
	CareAPI       *url.URL
	CareAPIClient *http.Client
	// JWKS returns the attestation service's key set, served as /jwks.json.
	JWKS func(context.Context) ([]byte, error)
	// Hosts are the Host headers the front answers to (e.g.
	// "localhost:8080", "127.0.0.1:8080"). Required: a page from another
	// site whose name a DNS rebinding points at 127.0.0.1 must not reach
	// the care API as this origin.
	Hosts []string
}

// Handler returns the front's handler.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.CareAPI == nil || cfg.CareAPIClient == nil || cfg.JWKS == nil || len(cfg.PortalConfig) == 0 || len(cfg.Hosts) == 0 {
		return nil, errors.New("front: CareAPI, CareAPIClient, JWKS, PortalConfig and Hosts are required")
	}
	if _, err := os.Stat(filepath.Join(cfg.Static, "index.html")); err != nil {
		return nil, errors.New("front: no index.html in " + cfg.Static + ": build the portal (make portal)")
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(cfg.CareAPI)
			r.Out.Host = cfg.CareAPI.Host
		},
		Transport: cfg.CareAPIClient.Transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, "the care API is unreachable", http.StatusBadGateway)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(cfg.PortalConfig)
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		b, err := cfg.JWKS(ctx)
		if err != nil {
			http.Error(w, "the attestation service's keys are unavailable", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
	forward := http.MaxBytesHandler(proxy, maxProxyBody)
	mux.Handle("/api/", forward)
	mux.Handle("/fhir/", forward)
	files := http.FileServer(http.Dir(cfg.Static))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
	return checkHost(cfg.Hosts, securityHeaders(mux)), nil
}

// checkHost answers only requests addressed to one of hosts.
func checkHost(hosts []string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "unknown host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders makes the portal's page hard to frame, inject into or
// leak from: scripts, styles and connections from this origin only.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
