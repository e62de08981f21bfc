package token

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/veraison/ear"
)

// attestedServer starts an HTTPS server on loopback behind
// RequireAttestation; the handler answers with the verified claims.
func attestedServer(t *testing.T, auth tls.ClientAuthType, opts Options) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s", c.TEE(), c.Status())
	})
	srv := httptest.NewUnstartedServer(RequireAttestation(opts)(h))
	srv.TLS = &tls.Config{ClientAuth: auth}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// clientWith returns an HTTPS client for srv presenting cert (or none).
func clientWith(srv *httptest.Server, cert *x509.Certificate, key any) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := &tls.Config{RootCAs: pool}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func TestRequireAttestation(t *testing.T) {
	ks := mustKeySet(t, ES256)
	opts := Options{JWKS: mustStatic(t, ks, t0), Issuer: testIssuer, Now: t0.Add(time.Minute)}
	srv := attestedServer(t, tls.RequireAnyClientCert, opts)
	certA, keyA := selfSigned(t, "care-api")
	certB, _ := selfSigned(t, "someone-else")
	clientA := clientWith(srv, certA, keyA)

	issue := func(edit func(*Claims)) string {
		c := testClaims()
		edit(c)
		return mustIssue(t, ks, c)
	}
	boundToA := issue(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certA) })
	tests := []struct {
		name      string
		auth      string
		status    int
		wantBody  string
		wantClass string
	}{
		{"bound to the client certificate", "Attestation " + boundToA, http.StatusOK, "sevsnp affirming", ""},
		{"scheme case-insensitive", "attestation " + boundToA, http.StatusOK, "sevsnp affirming", ""},
		{"cnf jwk of the client key", "Attestation " + issue(func(c *Claims) { c.Confirmation = mustConfirmation(t, keyA.Public()) }), http.StatusOK, "sevsnp affirming", ""},
		{"bound to another certificate", "Attestation " + issue(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certB) }), http.StatusUnauthorized, "", ErrConfirmation.Error()},
		{"bearer token without cnf", "Attestation " + issue(func(c *Claims) {}), http.StatusUnauthorized, "", ErrConfirmation.Error()},
		{"no Authorization", "", http.StatusUnauthorized, "", ""},
		{"another scheme", "Bearer " + boundToA, http.StatusUnauthorized, "", ""},
		{"scheme only", "Attestation ", http.StatusUnauthorized, "", ""},
		{"garbage", "Attestation abc", http.StatusUnauthorized, "", ErrMalformed.Error()},
		{"tampered", "Attestation " + tamper(boundToA, 2, 10), http.StatusUnauthorized, "", ErrSignature.Error()},
		{"expired", "Attestation " + issue(func(c *Claims) {
			c.Confirmation = ConfirmationForCertificate(certA)
			c.IssuedAt, c.Expiry = t0.Add(-time.Hour), t0.Add(-time.Hour+time.Minute)
		}), http.StatusUnauthorized, "", ErrExpired.Error()},
		{"contraindicated", "Attestation " + issue(func(c *Claims) {
			c.Confirmation = ConfirmationForCertificate(certA)
			setStatus(c, ear.TrustTierContraindicated)
		}), http.StatusForbidden, "", ErrStatus.Error()},
		{"simulation", "Attestation " + func() string {
			c := testSimClaims()
			c.Confirmation = ConfirmationForCertificate(certA)
			return mustIssue(t, ks, c)
		}(), http.StatusForbidden, "", ErrSimulation.Error()},
		{"a token for an encryption key", "Attestation " + issue(func(c *Claims) {
			c.Confirmation = mustConfirmation(t, keyA.Public())
			c.EncryptionKey = true
		}), http.StatusUnauthorized, "", ""},
		{"draft", "Attestation " + issue(func(c *Claims) {
			c.Confirmation = ConfirmationForCertificate(certA)
			c.Draft = true
		}), http.StatusUnauthorized, "", ErrDraft.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/diagnose", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := clientA.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == http.StatusOK {
				if string(body) != tt.wantBody {
					t.Errorf("body %q, want %q", body, tt.wantBody)
				}
				return
			}
			checkErrorBody(t, resp, body, tt.auth, tt.wantClass)
		})
	}
}

func checkErrorBody(t *testing.T, resp *http.Response, body []byte, auth, wantClass string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), AuthScheme) {
		t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	var e struct {
		Error   string `json:"error"`
		Reasons []struct {
			Check, Expected, Actual, Class string
		} `json:"reasons"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if e.Error == "" || len(e.Reasons) == 0 || e.Reasons[0].Check == "" {
		t.Errorf("error body %s names no reason", body)
	}
	if wantClass != "" && e.Reasons[0].Class != wantClass {
		t.Errorf("class %q, want %q (%s)", e.Reasons[0].Class, wantClass, body)
	}
	if _, tok, _ := strings.Cut(auth, " "); len(tok) > 8 && strings.Contains(string(body), tok) {
		t.Error("the error body echoes the token")
	}
}

func TestRequireAttestationNoClientCertificate(t *testing.T) {
	ks := mustKeySet(t, ES256)
	srv := attestedServer(t, tls.RequestClientCert, Options{JWKS: mustStatic(t, ks, t0), Issuer: testIssuer, Now: t0})
	cert, _ := selfSigned(t, "care-api")
	c := testClaims()
	c.Confirmation = ConfirmationForCertificate(cert)
	auth := "Attestation " + mustIssue(t, ks, c)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", auth)
	resp, err := clientWith(srv, nil, nil).Do(req) // the token is stolen: no certificate
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	checkErrorBody(t, resp, body, auth, "")
}

func TestRequireAttestationUnavailable(t *testing.T) {
	ks := mustKeySet(t, ES256)
	down := newJWKSServer(t, nil)
	down.set([]byte("down"), http.StatusBadGateway)
	remote := &RemoteJWKS{URL: down.URL, Client: down.Client(), Clock: func() time.Time { return t0 }}
	srv := attestedServer(t, tls.RequireAnyClientCert, Options{JWKS: remote, Issuer: testIssuer, Now: t0})
	cert, key := selfSigned(t, "care-api")
	c := testClaims()
	c.Confirmation = ConfirmationForCertificate(cert)
	auth := "Attestation " + mustIssue(t, ks, c)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", auth)
	resp, err := clientWith(srv, cert, key).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), down.URL) {
		t.Errorf("the error body reveals the JWKS URL: %s", body)
	}
	checkErrorBody(t, resp, body, auth, "")
}

func TestRequireAttestationPanicsOnBadOptions(t *testing.T) {
	cert, _ := selfSigned(t, "x")
	for name, o := range map[string]Options{
		"no jwks":             {},
		"confirmation preset": {JWKS: mustStatic(t, mustKeySet(t, ES256), t0), Issuer: testIssuer, ConfirmationCertificate: cert},
		"no issuer":           {JWKS: mustStatic(t, mustKeySet(t, ES256), t0)},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			RequireAttestation(o)
		})
	}
}

// TestVerifiedCache: an accepted token is remembered for its client
// certificate only, for at most verifiedTTL and never past its expiry, and
// the cache's size is bounded.
func TestVerifiedCache(t *testing.T) {
	v := &verifiedCache{entries: map[[32]byte]verifiedEntry{}}
	certA, _ := selfSigned(t, "a")
	certB, _ := selfSigned(t, "b")
	c := testClaims() // expires at t0 + 5 min
	v.put("tok", certA, c, t0)
	if got, ok := v.get("tok", certA, t0.Add(time.Second)); !ok || got != c {
		t.Fatal("an accepted token was not remembered")
	}
	for name, miss := range map[string]func() bool{
		"another certificate": func() bool { _, ok := v.get("tok", certB, t0); return !ok },
		"another token":       func() bool { _, ok := v.get("tok2", certA, t0); return !ok },
		"after verifiedTTL":   func() bool { _, ok := v.get("tok", certA, t0.Add(verifiedTTL)); return !ok },
	} {
		if !miss() {
			t.Errorf("%s: served from the cache", name)
		}
	}
	// A token expiring sooner than verifiedTTL is remembered until then only.
	c2 := testClaims()
	c2.Expiry = t0.Add(10 * time.Second)
	v.put("short", certA, c2, t0)
	if _, ok := v.get("short", certA, t0.Add(10*time.Second)); ok {
		t.Error("a token was served from the cache past its expiry")
	}
	for i := range verifiedEntries + 10 {
		v.put(fmt.Sprint(i), certA, c, t0)
	}
	if len(v.entries) > verifiedEntries {
		t.Errorf("%d entries, bound %d", len(v.entries), verifiedEntries)
	}
}
