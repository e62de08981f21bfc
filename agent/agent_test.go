package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

func TestEvidenceVerifiesAndBinds(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name   string
		client func(testing.TB) *Client
	}{
		{"tcp", f.tcpClient},
		{"unix socket", f.unixClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client(t)
			b := newBinding(t, "python3 app.py")
			p := c.Producer(b.digest)
			if p.Format() != attest.FormatSim {
				t.Fatalf("Format() = %q", p.Format())
			}
			ev, err := p.Produce(context.Background(), b.reportData)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := f.verifier.Verify(context.Background(), ev, attest.Options{Now: epoch})
			if err != nil {
				t.Fatalf("sim verifier refused the agent's evidence: %v", err)
			}
			if !bytes.Equal(claims.Measurement, b.digest) {
				t.Errorf("measurement = %x, want %x", claims.Measurement, b.digest)
			}
			if !bytes.Equal(claims.PlatformID, f.platform.ID()) {
				t.Errorf("platform id = %x, want %x", claims.PlatformID, f.platform.ID())
			}
			if claims.TEE != attest.TEESim || !claims.Debug {
				t.Errorf("claims TEE %v debug %v: sim evidence must say so", claims.TEE, claims.Debug)
			}
			if err := attest.CheckBinding(claims, b.nonce, b.key, b.digest); err != nil {
				t.Fatalf("binding: %v", err)
			}
			// The same evidence must not bind another nonce, key or digest.
			other := newBinding(t, "python3 evil.py")
			for _, bad := range []struct {
				name               string
				nonce, key, digest []byte
			}{
				{"nonce", other.nonce, b.key, b.digest},
				{"key", b.nonce, other.key, b.digest},
				{"digest", b.nonce, b.key, other.digest},
			} {
				if err := attest.CheckBinding(claims, bad.nonce, bad.key, bad.digest); !errors.Is(err, attest.ErrBinding) {
					t.Errorf("other %s: CheckBinding = %v, want ErrBinding", bad.name, err)
				}
			}
		})
	}
}

func TestEvidenceReportsWorkloadFields(t *testing.T) {
	f := newFixture(t)
	c := f.unixClient(t)
	b := newBinding(t, "w")
	w := Workload{Measurement: b.digest, Signer: bytes.Repeat([]byte{0xaa}, 32), ProductID: "care-api", SVN: 7}
	ev, err := c.Evidence(context.Background(), w, b.reportData)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := f.verifier.Verify(context.Background(), ev, attest.Options{Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(claims.Signer, w.Signer) || claims.ProductID != w.ProductID || claims.SVN != w.SVN {
		t.Fatalf("claims signer %x product %q svn %d, want %x %q %d", claims.Signer, claims.ProductID, claims.SVN, w.Signer, w.ProductID, w.SVN)
	}
	if got := claims.Raw["issued_at"]; got != epoch {
		t.Errorf("issued_at = %v, want the injected clock %v", got, epoch)
	}
}

func TestEvidenceFromAnotherRootRefused(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t) // an agent whose platform another sim root certified
	b := newBinding(t, "w")
	ev, err := other.tcpClient(t).Producer(b.digest).Produce(context.Background(), b.reportData)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(context.Background(), ev, attest.Options{Now: epoch}); !errors.Is(err, attest.ErrCertificate) {
		t.Fatalf("evidence under another root: %v, want ErrCertificate", err)
	}
}

func evidenceBody(mut func(m map[string]any)) string {
	m := map[string]any{
		"report_data": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64)),
		"measurement": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)),
	}
	if mut != nil {
		mut(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func b64(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, n)) }

func TestRequestsRefused(t *testing.T) {
	f := newFixture(t)
	h := f.server.Handler()
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code, msg                       string
	}{
		{"unknown field", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["signr"] = b64(4) }), 400, CodeBadRequest, "unknown field"},
		{"trailing data", "POST", PathEvidence, "application/json", evidenceBody(nil) + "{}", 400, CodeBadRequest, "trailing data"},
		{"not json", "POST", PathEvidence, "application/json", "report_data=1", 400, CodeBadRequest, "body"},
		{"empty body", "POST", PathEvidence, "application/json", "", 400, CodeBadRequest, "body"},
		{"bad base64", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["measurement"] = "!!" }), 400, CodeBadRequest, "body"},
		{"no report data", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { delete(m, "report_data") }), 400, CodeBadRequest, "report_data is 0 bytes, want 64"},
		{"short report data", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["report_data"] = b64(63) }), 400, CodeBadRequest, "report_data is 63 bytes"},
		{"long report data", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["report_data"] = b64(65) }), 400, CodeBadRequest, "report_data is 65 bytes"},
		{"no measurement", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { delete(m, "measurement") }), 400, CodeBadRequest, "measurement is 0 bytes, want 32"},
		{"short measurement", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["measurement"] = b64(31) }), 400, CodeBadRequest, "measurement is 31 bytes"},
		{"SHA-384 measurement", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["measurement"] = b64(48) }), 400, CodeBadRequest, "measurement is 48 bytes"},
		{"long signer", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["signer"] = b64(65) }), 400, CodeBadRequest, "signer is 65 bytes"},
		{"long product id", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["product_id"] = strings.Repeat("p", 65) }), 400, CodeBadRequest, "product_id is 65 bytes"},
		{"control character in product id", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["product_id"] = "a\x1b[2J" }), 400, CodeBadRequest, "non-printable"},
		{"negative svn", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["svn"] = -1 }), 400, CodeBadRequest, "body"},
		{"body too large", "POST", PathEvidence, "application/json", evidenceBody(func(m map[string]any) { m["pad"] = strings.Repeat(" ", defaultMaxBody) }), 413, CodeTooLarge, "larger than 4096"},
		{"text/plain", "POST", PathEvidence, "text/plain", evidenceBody(nil), 415, CodeUnsupportedMediaType, "application/json"},
		{"no content type", "POST", PathEvidence, "", evidenceBody(nil), 415, CodeUnsupportedMediaType, "application/json"},
		{"form", "POST", PathEvidence, "application/x-www-form-urlencoded", evidenceBody(nil), 415, CodeUnsupportedMediaType, "application/json"},
		{"GET evidence", "GET", PathEvidence, "", "", 405, CodeMethodNotAllowed, "POST"},
		{"POST platform", "POST", PathPlatform, "application/json", "{}", 405, CodeMethodNotAllowed, "GET"},
		{"DELETE healthz", "DELETE", PathHealth, "", "", 405, CodeMethodNotAllowed, "GET"},
		{"POST metrics", "POST", PathMetrics, "", "", 405, CodeMethodNotAllowed, "GET"},
		{"unknown path", "GET", "/v1/nope", "", "", 404, CodeNotFound, "no such endpoint"},
		{"v2", "POST", "/v2/evidence", "application/json", evidenceBody(nil), 404, CodeNotFound, "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := serve(h, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var eb errorBody
			if err := decodeStrict(w.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body %q is not {code, message}: %v", w.Body, err)
			}
			if eb.Code != tt.code || !strings.Contains(eb.Message, tt.msg) {
				t.Fatalf("error %+v, want code %q and a message with %q", eb, tt.code, tt.msg)
			}
			if w.Header().Get(HeaderSimulation) != "true" || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", w.Header())
			}
		})
	}
	// The same request, well formed, is accepted: the refusals above are
	// about the one thing each case changes.
	r := httptest.NewRequest("POST", PathEvidence, strings.NewReader(evidenceBody(func(m map[string]any) {
		m["signer"], m["product_id"], m["svn"] = b64(64), strings.Repeat("é", 32), 1
	})))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if w := serve(h, r); w.Code != http.StatusOK {
		t.Fatalf("well-formed request: %d %s", w.Code, w.Body)
	}
}

func TestMaxBodyConfigurable(t *testing.T) {
	f := newFixture(t)
	s, err := New(Config{Platform: f.platform, MaxBody: 64})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", PathEvidence, strings.NewReader(evidenceBody(nil)))
	r.Header.Set("Content-Type", "application/json")
	w := serve(s.Handler(), r)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), CodeTooLarge) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestPlatform(t *testing.T) {
	f := newFixture(t)
	rootSum := sha256.Sum256(f.root.Cert.Raw)
	want := PlatformInfo{Format: attest.FormatSim, PlatformID: f.platform.ID(), PlatformName: "node-1", Simulation: true,
		RootSHA256: rootSum[:], NotAfter: f.platform.Chain[0].NotAfter.UTC()}
	for name, c := range map[string]*Client{"tcp": f.tcpClient(t), "unix": f.unixClient(t)} {
		got, err := c.Platform(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !platformEqual(*got, want) {
			t.Fatalf("%s: Platform() = %+v, want %+v", name, got, want)
		}
	}
	if got := f.server.Platform(); !platformEqual(got, want) {
		t.Fatalf("Server.Platform() = %+v", got)
	}
	// Without the root in its chain, the agent cannot name it.
	s, err := New(Config{Platform: &sim.Platform{Key: f.platform.Key, Chain: f.platform.Chain[:1]}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Platform().RootSHA256 != nil {
		t.Fatal("root_sha256 without a root in the chain")
	}
}

func platformEqual(a, b PlatformInfo) bool {
	return a.Format == b.Format && bytes.Equal(a.PlatformID, b.PlatformID) && a.PlatformName == b.PlatformName &&
		a.Simulation == b.Simulation && bytes.Equal(a.RootSHA256, b.RootSHA256) && a.NotAfter.Equal(b.NotAfter)
}

func TestHealthReadyMetrics(t *testing.T) {
	f := newFixture(t)
	notBefore, notAfter := f.platform.Chain[0].NotBefore, f.platform.Chain[0].NotAfter
	for _, tt := range []struct {
		name   string
		now    time.Time
		status int
	}{
		{"valid", epoch, 200},
		{"last second", notAfter, 200},
		{"platform certificate expired", notAfter.Add(time.Second), 503},
		{"platform certificate not yet valid", notBefore.Add(-time.Second), 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Platform: f.platform, Clock: func() time.Time { return tt.now }})
			if err != nil {
				t.Fatal(err)
			}
			w := serve(s.Handler(), httptest.NewRequest("GET", PathReady, nil))
			if w.Code != tt.status {
				t.Fatalf("readyz %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status != 200 && !strings.Contains(w.Body.String(), CodeUnavailable) {
				t.Fatalf("readyz body %s", w.Body)
			}
			// Liveness does not depend on the certificate.
			if w := serve(s.Handler(), httptest.NewRequest("GET", PathHealth, nil)); w.Code != 200 {
				t.Fatalf("healthz %d", w.Code)
			}
		})
	}

	h := f.server.Handler()
	b := newBinding(t, "w")
	for _, body := range []string{evidenceBody(func(m map[string]any) { m["report_data"] = base64.StdEncoding.EncodeToString(b.reportData[:]) }), "{}"} {
		r := httptest.NewRequest("POST", PathEvidence, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		serve(h, r)
	}
	w := serve(h, httptest.NewRequest("GET", PathMetrics, nil))
	for _, want := range []string{
		`cofre_agent_evidence_total{result="produced"} 1`,
		`cofre_agent_evidence_total{result="refused"} 1`,
		`cofre_agent_requests_total{code="400",route="evidence"} 1`,
		`cofre_agent_simulation 1`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if bytes.Contains(w.Body.Bytes(), []byte(attest.Hex(b.digest).String())) {
		t.Error("metrics name a measurement")
	}
}

func TestNewRefuses(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"no platform", Config{}},
		{"no key", Config{Platform: &sim.Platform{Chain: f.platform.Chain}}},
		{"no chain", Config{Platform: &sim.Platform{Key: f.platform.Key}}},
		{"key of another platform", Config{Platform: &sim.Platform{Key: other.platform.Key, Chain: f.platform.Chain}}},
		{"negative body limit", Config{Platform: f.platform, MaxBody: -1}},
	} {
		if s, err := New(tt.cfg); err == nil || s != nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "a.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.server.Serve(ctx, ln) }()
	c := &Client{Socket: path}
	if _, err := c.Platform(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel = %v, want nil", err)
	}
	if _, err := (&Client{Socket: path}).Platform(context.Background()); err == nil {
		t.Fatal("server still answers after shutdown")
	}
	// A listener that fails is reported, not taken for a shutdown.
	ln2, err := net.Listen("unix", filepath.Join(t.TempDir(), "b.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln2.Close()
	if err := f.server.Serve(context.Background(), ln2); err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
}

func TestNewClient(t *testing.T) {
	for _, tt := range []struct {
		addr          string
		socket, base  string
		wantErrPrefix bool
	}{
		{addr: "unix:///run/cofre/agent.sock", socket: "/run/cofre/agent.sock"},
		{addr: "/run/cofre/agent.sock", socket: "/run/cofre/agent.sock"},
		{addr: "http://127.0.0.1:7777", base: "http://127.0.0.1:7777"},
		{addr: "unix://relative.sock", wantErrPrefix: true},
		{addr: "relative.sock", wantErrPrefix: true},
		{addr: "https://node:7777", wantErrPrefix: true},
		{addr: "tcp://node:7777", wantErrPrefix: true},
		{addr: "", wantErrPrefix: true},
	} {
		c, err := NewClient(tt.addr)
		if tt.wantErrPrefix {
			if err == nil || !strings.HasPrefix(err.Error(), "agent: address") {
				t.Errorf("NewClient(%q) = %v, want an address error", tt.addr, err)
			}
			continue
		}
		if err != nil || c.Socket != tt.socket || c.BaseURL != tt.base {
			t.Errorf("NewClient(%q) = %+v, %v", tt.addr, c, err)
		}
	}
}

func TestClientConfigRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    *Client
		msg  string
	}{
		{"neither", &Client{}, "neither Socket nor BaseURL"},
		{"both", &Client{Socket: "/s", BaseURL: "http://h:1"}, "both Socket and BaseURL"},
		{"https", &Client{BaseURL: "https://h:1"}, "want http://"},
		{"user info", &Client{BaseURL: "http://u:p@h:1"}, "want http://"},
		{"query", &Client{BaseURL: "http://h:1/?x=1"}, "want http://"},
		{"no host", &Client{BaseURL: "http:///x"}, "want http://"},
	} {
		_, err := tt.c.Platform(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestClientRefusesInvalidWorkloadLocally(t *testing.T) {
	requests := 0
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests++ }))
	defer ts.Close()
	c := &Client{BaseURL: ts.URL}
	var rd [attest.ReportDataSize]byte
	for _, w := range []Workload{
		{},
		{Measurement: make([]byte, 31)},
		{Measurement: make([]byte, 32), Signer: make([]byte, 65)},
		{Measurement: make([]byte, 32), ProductID: strings.Repeat("x", 65)},
		{Measurement: make([]byte, 32), ProductID: "\xff"},
		{Measurement: make([]byte, 32), ProductID: "a\nb"},
	} {
		if _, err := c.Evidence(context.Background(), w, rd); !errors.Is(err, ErrInvalidWorkload) {
			t.Errorf("%+v: %v, want ErrInvalidWorkload", w, err)
		}
	}
	if _, err := c.Producer(make([]byte, 20)).Produce(context.Background(), rd); !errors.Is(err, ErrInvalidWorkload) {
		t.Errorf("Producer with a 20-byte measurement: %v", err)
	}
	if requests != 0 {
		t.Fatalf("%d requests sent for invalid workloads", requests)
	}
}

// TestClientRefusesBadAnswers plays a broken or hostile agent.
func TestClientRefusesBadAnswers(t *testing.T) {
	good := `{"format":"sim.v1","data":"e30=","simulation":true}`
	tests := []struct {
		name   string
		status int
		body   string
		want   error
		code   string // of an *APIError
		msg    string
	}{
		{"accepted", 200, good, nil, "", ""},
		{"other format", 200, `{"format":"sevsnp.report","data":"e30=","simulation":true}`, ErrMalformedResponse, "", ""},
		{"not marked simulation", 200, `{"format":"sim.v1","data":"e30=","simulation":false}`, ErrMalformedResponse, "", ""},
		{"no data", 200, `{"format":"sim.v1","simulation":true}`, ErrMalformedResponse, "", ""},
		{"evidence too large", 200, `{"format":"sim.v1","simulation":true,"data":"` + b64(maxEvidenceSize+1) + `"}`, ErrMalformedResponse, "", ""},
		{"answer too large", 200, good + strings.Repeat(" ", maxResponseBody), ErrMalformedResponse, "", ""},
		{"unknown field", 200, `{"format":"sim.v1","data":"e30=","simulation":true,"x":1}`, ErrMalformedResponse, "", ""},
		{"trailing data", 200, good + good, ErrMalformedResponse, "", ""},
		{"not json", 200, `<html>`, ErrMalformedResponse, "", ""},
		{"api error", 400, `{"code":"bad_request","message":"measurement is 31 bytes"}`, nil, CodeBadRequest, "agent: 400 bad_request: measurement is 31 bytes"},
		{"escape sequences stripped", 500, "{\"code\":\"internal\\u001b[31m\",\"message\":\"\\u001b]0;pwned\\u0007x\"}", nil, "internal[31m", "agent: 500 internal[31m: ]0;pwnedx"},
		{"not an api error", 502, "bad gateway\n", nil, "", "agent: 502 bad gateway: bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer ts.Close()
			c := &Client{BaseURL: ts.URL}
			ev, err := c.Producer(make([]byte, 32)).Produce(context.Background(), [64]byte{})
			switch {
			case tt.status != 200:
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code || err.Error() != tt.msg {
					t.Fatalf("err = %v (%#v), want an APIError %d %q: %q", err, ae, tt.status, tt.code, tt.msg)
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			default:
				if err != nil || ev.Format != attest.FormatSim || string(ev.Payload) != "{}" {
					t.Fatalf("Produce() = %+v, %v", ev, err)
				}
			}
		})
	}
}

func TestClientRefusesBadPlatformInfo(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		ok         bool
	}{
		{"good", `{"format":"sim.v1","platform_id":"` + strings.Repeat("ab", 32) + `","simulation":true,"not_after":"2027-01-01T00:00:00Z","platform_name":"n\u001b1"}`, true},
		{"short id", `{"format":"sim.v1","platform_id":"abab","simulation":true,"not_after":"2027-01-01T00:00:00Z"}`, false},
		{"not simulation", `{"format":"sim.v1","platform_id":"` + strings.Repeat("ab", 32) + `","simulation":false,"not_after":"2027-01-01T00:00:00Z"}`, false},
		{"other format", `{"format":"tdx.quote.v4","platform_id":"` + strings.Repeat("ab", 32) + `","simulation":true,"not_after":"2027-01-01T00:00:00Z"}`, false},
		{"unknown field", `{"format":"sim.v1","platform_id":"` + strings.Repeat("ab", 32) + `","simulation":true,"tee":"sgx"}`, false},
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, tt.body) }))
		info, err := (&Client{BaseURL: ts.URL}).Platform(context.Background())
		ts.Close()
		if tt.ok {
			if err != nil || info.PlatformName != "n1" {
				t.Errorf("%s: %+v %v", tt.name, info, err)
			}
		} else if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%s: %v, want ErrMalformedResponse", tt.name, err)
		}
	}
}

func TestClientUnreachable(t *testing.T) {
	c := &Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	_, err := c.Producer(make([]byte, 32)).Produce(context.Background(), [64]byte{})
	var ae *APIError
	if err == nil || errors.As(err, &ae) || errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("no agent: %v, want a transport error", err)
	}
}
