package coordinator

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/manifest"
)

// serve runs the coordinator's HTTPS server on a loopback port until the
// test ends, and returns its base URL.
func (e *testEnv) serve() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.c.Serve(ctx, ln) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.t.Errorf("Serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

func (e *testEnv) client(base string, cert *tls.Certificate) *client.Client {
	e.t.Helper()
	c, err := client.New(base, client.Options{Registry: e.cfg.Registry, InsecureSimulation: true, Certificate: cert, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestHTTP drives the API through the real TLS server and the Go client:
// attestation of the coordinator, manifest upload, secret upload with a
// user certificate, activation, and KMS with the workload certificate.
func TestHTTP(t *testing.T) {
	e := newTestEnv(t)
	base := e.serve()
	ctx := t.Context()
	userTLS := &tls.Certificate{Certificate: [][]byte{e.userCert.Raw}, PrivateKey: e.user, Leaf: e.userCert}
	admin := e.client(base, userTLS)

	d := e.manifestDoc(doc{})
	var sigs [][]byte
	for _, i := range []int{0, 1} {
		s, err := manifest.Sign(d, e.owners[i])
		if err != nil {
			t.Fatal(err)
		}
		f, err := manifest.MarshalSignature(manifest.Signature{Owner: "owner" + string(rune('0'+i)), Signature: s}, manifest.Hash(d))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, f)
	}
	if _, err := admin.SetManifest(ctx, "hospital", d, sigs); err != nil {
		t.Fatalf("SetManifest: %v", err)
	}
	if !admin.Simulation() {
		t.Error("the client did not notice the coordinator is simulated")
	}
	if err := admin.SetSecret(ctx, "hospital", "partner_token", []byte("s3cret-partner")); err != nil {
		t.Fatalf("SetSecret: %v", err)
	}

	// A workload activates through the API and calls the KMS with its certificate.
	a := e.activation()
	anon := e.client(base, nil)
	ch, err := anon.Challenge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.nonce = ch.Nonce
	r, err := anon.Activate(ctx, e.request(a))
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	wl := &tls.Certificate{Certificate: append([][]byte{r.Certificate}, r.Chain...), PrivateKey: a.key}
	wc := e.client(base, wl)
	gen, err := wc.GenerateDataKey(ctx, "master", 32)
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	un, err := wc.Unwrap(ctx, "master", gen.Wrapped)
	if err != nil || !bytes.Equal(un.Plaintext, gen.Plaintext) {
		t.Fatalf("Unwrap: %v", err)
	}
	// The user is no workload, the workload no user.
	if _, err := admin.GenerateDataKey(ctx, "master", 32); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("KMS with a user certificate: %v", err)
	}
	if _, err := wc.Secret(ctx, "hospital", "partner_token"); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("secret read with a workload certificate: %v", err)
	}
	// Renewal keeps the identity.
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, a.key)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := wc.Renew(ctx, csrDER)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	leaf, _ := x509.ParseCertificate(rn.Certificate)
	if leaf.URIs[0].String() != r.SPIFFEID {
		t.Errorf("renewed identity %v, want %s", leaf.URIs, r.SPIFFEID)
	}
	if rn.Token == "" || rn.TokenExpires.IsZero() {
		t.Errorf("the renewal over HTTP carries no token (exp %v)", rn.TokenExpires)
	}
	// The superseded certificate is refused; a client whose GetCertificate
	// follows the renewal goes on, over new connections.
	if _, err := wc.GenerateDataKey(ctx, "master", 32); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("the superseded certificate: %v, want 401", err)
	}
	var mu sync.Mutex
	present := wl
	opts := client.Options{Registry: e.cfg.Registry, InsecureSimulation: true, Now: e.clock.Now,
		GetCertificate: func() (*tls.Certificate, error) {
			mu.Lock()
			defer mu.Unlock()
			return present, nil
		}}
	fc, err := client.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.GenerateDataKey(ctx, "master", 32); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("GetCertificate with the superseded certificate: %v, want 401", err)
	}
	mu.Lock()
	present = &tls.Certificate{Certificate: append([][]byte{rn.Certificate}, rn.Chain...), PrivateKey: a.key}
	mu.Unlock()
	if _, err := fc.GenerateDataKey(ctx, "master", 32); err != nil {
		t.Fatalf("GetCertificate with the renewed certificate: %v", err)
	}

	st, err := anon.Status(ctx)
	if err != nil || !st.Simulation || len(st.Manifests) != 1 || st.AuditHead.Seq == 0 {
		t.Fatalf("Status: %+v %v", st, err)
	}
	if _, err := admin.AuditHead(ctx); err != nil {
		t.Fatalf("AuditHead: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == status
}

// TestHTTPBadInput sends what a client library would not: the server
// answers with a clear error and changes nothing.
func TestHTTPBadInput(t *testing.T) {
	e := newTestEnv(t)
	base := e.serve()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(e.c.RootCertificate()), ServerName: "localhost"}}}
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"huge body", "PUT", "/v1/manifests/hospital", `{"document":"` + strings.Repeat("A", api.MaxRequestBody) + `"}`, 413, api.CodeTooLarge},
		{"unknown field", "POST", "/v1/activate", `{"manifest":"x","evil":true}`, 400, api.CodeBadRequest},
		{"trailing data", "POST", "/v1/activate", `{"manifest":"x"} {}`, 400, api.CodeBadRequest},
		{"not JSON", "PUT", "/v1/manifests/hospital", `name: hospital`, 400, api.CodeBadRequest},
		{"malformed manifest", "PUT", "/v1/manifests/hospital", `{"document":"bmFtZTogaG9zcGl0YWwK"}`, 400, api.CodeBadRequest},
		{"bad nonce", "GET", "/v1/attestation?nonce=00", "", 400, api.CodeBadRequest},
		{"unknown manifest", "GET", "/v1/manifests/nothing", "", 404, api.CodeNotFound},
		{"recovery of nothing", "POST", "/v1/recovery/nothing", `{"holder":"a","share":"AA=="}`, 409, api.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), `"code": "`+tt.code+`"`) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tt.status, tt.code)
			}
			if resp.Header.Get(api.HeaderSimulation) != "true" {
				t.Error("a sim coordinator's answer lacks the simulation header")
			}
		})
	}
	if st, _ := e.c.Status(); len(st.Manifests) != 0 {
		t.Fatal("bad input changed the state")
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/v1/certs", "/.well-known/openid-configuration"} {
		resp, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		if p == "/metrics" && !strings.Contains(string(b), "cofre_coordinator_simulation 1") {
			t.Error("metrics do not say SIMULATION")
		}
	}
}

// TestCoordinatorAttestation checks the coordinator's own evidence binds
// the nonce and its root key.
func TestCoordinatorAttestation(t *testing.T) {
	e := newTestEnv(t)
	nonce := make([]byte, 32)
	nonce[0] = 7
	resp, err := e.c.Attestation(t.Context(), nonce)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := e.cfg.Registry.Verify(t.Context(), attest.Evidence{Format: resp.Evidence.Format, Payload: resp.Evidence.Data}, attest.Options{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(resp.RootCertificate)
	if err := attest.CheckBinding(claims, nonce, root.RawSubjectPublicKeyInfo, nil); err != nil {
		t.Fatalf("binding: %v", err)
	}
	if err := attest.CheckBinding(claims, make([]byte, 32), root.RawSubjectPublicKeyInfo, nil); !errors.Is(err, attest.ErrBinding) {
		t.Fatalf("another nonce: %v", err)
	}
}

func rootPool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
