package attestd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/token"
)

// t0 is the tests' pinned start time.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// clock is an injectable clock safe to move between requests (handlers run
// on server goroutines; loopback I/O is not a happens-before edge for the
// race detector).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Policies every test server holds.
const (
	policyDev    = "name: dev\nallow_simulation: true\nreferences:\n  - tee: sim\n    any_code: true\n"
	policyPinned = "name: pinned\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: [\"00\"]\n"
	policyHW     = "name: hardware\nreferences:\n  - tee: sgx\n    any_code: true\n"
	policyGPU    = "name: gpu\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: [\"" + measurementHex + "\"]\n  - tee: nvgpu\n    measurements: [\"cc\"]\n"
)

// measurement is what the test platform reports.
var measurement = bytes.Repeat([]byte{0xab}, 32)

const measurementHex = "abababababababababababababababababababababababababababababababab"

type env struct {
	t        testing.TB
	clock    *clock
	srv      *Server
	ts       *httptest.Server
	client   *http.Client // no client certificate
	admin    *http.Client // admin CA client certificate
	platform *sim.Platform
	audit    *lockedBuffer
	keys     *token.KeySet
	cfg      Config
}

type envOption func(*Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	clk := &clock{now: t0}
	root, err := sim.NewRoot(t0.Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := root.NewPlatform("test-node", t0.Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	keys, err := token.NewKeySet(token.ES256, t0)
	if err != nil {
		t.Fatal(err)
	}
	var stored []*StoredPolicy
	for _, doc := range []string{policyDev, policyPinned, policyHW, policyGPU} {
		sp, err := NewStoredPolicy([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, sp)
	}
	adminCA, adminCAKey := testCA(t, "test admin CA")
	audit := &lockedBuffer{}
	e := &env{t: t, clock: clk, platform: plat, audit: audit, keys: keys}

	var srv *Server
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Handler().ServeHTTP(w, r)
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)

	adminPool := x509.NewCertPool()
	adminPool.AddCert(adminCA)
	e.cfg = Config{
		Registry: attest.NewRegistry(sim.NewVerifier(roots), fakeGPU{}),
		Policies: NewMemPolicies(stored...),
		Keys:     keys,
		Issuer:   ts.URL,
		Clock:    clk.Now,
		AdminCAs: adminPool,
		Audit:    NewAuditLog(audit),
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	srv, err = New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.ts = srv, ts
	e.client = ts.Client()
	e.admin = clientWithCert(ts, testLeaf(t, adminCA, adminCAKey, "test admin", t0.Add(-time.Hour), t0.Add(24*time.Hour)))
	return e
}

// testCA makes a self-signed CA.
func testCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, cert, err := newCert(nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// testLeaf makes a client certificate signed by ca.
func testLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, from, to time.Time) tls.Certificate {
	t.Helper()
	key, cert, err := newCert(ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: to,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func clientWithCert(ts *httptest.Server, cert tls.Certificate) *http.Client {
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	return &http.Client{Transport: tr}
}

// lockedBuffer is an audit log writer tests can read while the server
// writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// entries parses the audit log.
func (e *env) entries() []AuditEntry {
	e.t.Helper()
	var out []AuditEntry
	for _, line := range bytes.Split(bytes.TrimSpace(e.audit.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var a AuditEntry
		if err := json.Unmarshal(line, &a); err != nil {
			e.t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, a)
	}
	return out
}

// do sends a request and decodes a JSON answer into out (if non-nil).
func (e *env) do(c *http.Client, method, path string, body []byte, out any) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func (e *env) challenge() []byte {
	e.t.Helper()
	var cr ChallengeResponse
	if resp := e.do(e.client, "POST", "/v1/challenge", nil, &cr); resp.StatusCode != 200 {
		e.t.Fatalf("challenge: %d", resp.StatusCode)
	}
	if len(cr.Nonce) != attest.NonceSize {
		e.t.Fatalf("nonce is %d bytes", len(cr.Nonce))
	}
	return cr.Nonce
}

// evidence makes sim evidence binding nonce and runtime data.
func (e *env) evidence(nonce, runtimeData []byte) []byte {
	e.t.Helper()
	rd, err := attest.ReportData(nonce, runtimeData, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	p := &sim.Producer{Platform: e.platform, Measurement: measurement, Now: e.clock.Now}
	ev, err := p.Produce(context.Background(), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev.Payload
}

// result is the outcome of one attestation request.
type result struct {
	status int
	token  string
	err    ErrorResponse
	body   []byte // the raw answer
}

func (e *env) attest(path string, req any) result {
	e.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.attestRaw(path, b)
}

func (e *env) attestRaw(path string, body []byte) result {
	e.t.Helper()
	resp := e.do(e.client, "POST", path, body, nil)
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, body: b}
	if resp.StatusCode == 200 {
		var ar AttestResponse
		if err := json.Unmarshal(b, &ar); err != nil {
			e.t.Fatalf("attest answer %q: %v", b, err)
		}
		r.token = ar.Token
	} else if err := json.Unmarshal(b, &r.err); err != nil {
		e.t.Fatalf("error answer %d %q is not JSON: %v", resp.StatusCode, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("Content-Type %q", ct)
	}
	return r
}

// workloadKey is a workload's key pair and its public JWK.
type workloadKey struct {
	priv *ecdsa.PrivateKey
	jwk  []byte
}

func newWorkloadKey(t *testing.T) workloadKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwk.Import(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return workloadKey{k, b}
}

// verify checks tok the way a relying party does: keys fetched from the
// service's /certs.
func (e *env) verify(tok string, opts token.Options) (*token.Claims, error) {
	e.t.Helper()
	opts.JWKS = &token.RemoteJWKS{URL: e.ts.URL + "/certs", Client: e.client, Clock: e.clock.Now}
	opts.Issuer = e.ts.URL
	if opts.Now.IsZero() {
		opts.Now = e.clock.Now()
	}
	return token.Verify(context.Background(), tok, opts)
}

// fakeGPU is a verifier for nvidia.spdm evidence of the tests' own making:
// the real vector binds NVIDIA's fixed nonce, so it cannot bind a fresh
// challenge. Payload: {"report_data": hex (32 bytes), "measurement": hex}.
type fakeGPU struct{}

func (fakeGPU) Format() string { return attest.FormatNVGPU }

func (fakeGPU) Verify(_ context.Context, ev attest.Evidence, _ attest.Options) (*attest.Claims, error) {
	var p struct {
		ReportData  attest.Hex `json:"report_data"`
		Measurement attest.Hex `json:"measurement"`
		Forged      bool       `json:"forged"`
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return nil, attest.Malformed("fake gpu: %w", err)
	}
	if p.Forged {
		return nil, attest.Refuse(attest.ErrSignature, "gpu report signature", "signature", "valid", "invalid")
	}
	return &attest.Claims{Format: attest.FormatNVGPU, TEE: attest.TEENVGPU, Measurement: p.Measurement, ReportData: p.ReportData, TCBStatus: attest.TCBUnevaluated}, nil
}

func gpuEvidence(nonce, runtimeData []byte) []byte {
	rd, _ := attest.ReportData(nonce, runtimeData, nil)
	b, _ := json.Marshal(map[string]string{"report_data": hex.EncodeToString(rd[:attest.ShortReportDataSize]), "measurement": "cc"})
	return b
}

// payloadOf decodes a token's payload without verifying it.
func payloadOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	u, err := token.ParseUnverified(tok)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(u.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func challengeAt(t *testing.T, c *http.Client, base string) []byte {
	t.Helper()
	resp, err := c.Post(base+"/v1/challenge", "application/json", nil)
	must(t, err)
	defer resp.Body.Close()
	var cr ChallengeResponse
	must(t, json.NewDecoder(resp.Body).Decode(&cr))
	return cr.Nonce
}

func postJSON(t *testing.T, c *http.Client, url string, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	must(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
