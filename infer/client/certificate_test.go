package client

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/token"
)

// TestGetCertificate: the certificate GetCertificate returns is presented;
// a changed one goes over new connections (a pooled connection would go on
// presenting the old); errors and empty answers fail the request.
func TestGetCertificate(t *testing.T) {
	var mu sync.Mutex
	var saw []byte
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		saw = r.TLS.PeerCertificates[0].Raw
		mu.Unlock()
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	first, second := selfSigned(t, "care-api"), selfSigned(t, "care-api")
	current, getErr := &first, error(nil)
	c, err := New(Options{URL: srv.URL, Token: func() string { return "t" },
		GetCertificate: func() (*tls.Certificate, error) {
			mu.Lock()
			defer mu.Unlock()
			return current, getErr
		},
		Service: token.Options{ExpectedMeasurements: []attest.Hex{serviceM}}})
	if err != nil {
		t.Fatal(err)
	}
	// An unattested client connects nowhere.
	if resp, err := c.HTTPClient().Get(srv.URL); err == nil || !strings.Contains(err.Error(), "not attested") {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("an unattested client connected: %v", err)
	}
	c.pinned = srv.Certificate().PublicKey // as a successful Attest would
	get := func() error {
		t.Helper()
		resp, err := c.HTTPClient().Get(srv.URL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	presented := func(want *tls.Certificate) {
		t.Helper()
		if err := get(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !bytes.Equal(saw, want.Certificate[0]) {
			t.Fatal("the server saw another certificate than GetCertificate's")
		}
	}
	presented(&first)
	presented(&first)
	mu.Lock()
	current = &second
	mu.Unlock()
	presented(&second)

	mu.Lock()
	getErr = errors.New("half-written key file")
	mu.Unlock()
	if err := get(); err == nil || !strings.Contains(err.Error(), "half-written key file") {
		t.Fatalf("with a failing GetCertificate: %v", err)
	}
	mu.Lock()
	getErr, current = nil, &tls.Certificate{}
	mu.Unlock()
	if err := get(); err == nil || !strings.Contains(err.Error(), "client certificate: none") {
		t.Fatalf("with an empty certificate: %v", err)
	}

	// Neither Certificate nor GetCertificate: refused.
	if _, err := New(Options{URL: srv.URL, Token: func() string { return "t" }, Service: token.Options{ExpectedMeasurements: []attest.Hex{serviceM}}}); err == nil {
		t.Fatal("New without a client certificate succeeded")
	}
}
