package client

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/coordinator/api"
)

func TestTokenVerifier(t *testing.T) {
	f := newFake(t)
	issuer := "https://coordinator.example"
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != api.PathOpenIDMetadata {
				t.Errorf("request %s", r.URL.Path)
			}
			writeJSON(w, 200, map[string]string{"issuer": issuer})
		}
	})
	c := f.client(t, f.options())
	jwks, iss, err := c.TokenVerifier(t.Context())
	if err != nil || iss != issuer {
		t.Fatalf("TokenVerifier: %q, %v", iss, err)
	}
	// The keys come from the coordinator this client verified, over its
	// pinned connection, whatever jwks_uri the metadata might name.
	if !strings.HasSuffix(jwks.URL, api.PathJWKS) || !strings.HasPrefix(jwks.URL, "https://") || jwks.Client == nil {
		t.Fatalf("jwks %s", jwks.URL)
	}
	issuer = ""
	if _, _, err := c.TokenVerifier(t.Context()); err == nil {
		t.Fatal("metadata without an issuer accepted")
	}
}
