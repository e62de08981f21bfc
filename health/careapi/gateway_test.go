package careapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/sealed"
)

func TestRequireSealed(t *testing.T) {
	e := newEnv(t, false)
	// A session made through the gateway...
	alice := e.client(t, true).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	// ...is refused on plain requests, whatever the route.
	plain := &client{t: t, h: e.h, cookie: alice.cookie, csrf: alice.csrf}
	tests := []struct{ method, path string }{
		{"GET", "/fhir/Patient"},
		{"GET", "/fhir/Patient/" + id},
		{"POST", "/fhir/Patient"},
		{"POST", "/api/login"},
		{"GET", "/api/audit"},
		{"POST", "/api/patients/" + id + "/images"},
		{"GET", "/unknown"},
	}
	for _, tc := range tests {
		r := plain.do(tc.method, tc.path, "application/json", nil)
		if r.status != http.StatusForbidden || !bytes.Contains(r.body, []byte("/api/sealed")) {
			t.Errorf("plain %s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	// The public endpoints stay plain.
	for _, p := range []string{"/api/attestation", "/healthz", "/readyz"} {
		if r := plain.do("GET", p, "", nil); r.status != http.StatusOK {
			t.Errorf("plain GET %s: %d", p, r.status)
		}
	}
	// Through the gateway, reads need the CSRF token too: the cookie alone,
	// visible to a TLS-terminating proxy, is not enough.
	stolen := &client{t: t, h: e.h, cookie: alice.cookie, seal: e.key.PublicKey()}
	if r := stolen.do("GET", "/fhir/Patient/"+id, "", nil); r.status != http.StatusForbidden {
		t.Errorf("sealed read without CSRF: %d %s", r.status, r.body)
	}
	if r := alice.do("GET", "/fhir/Patient/"+id, "", nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(phiFamily)) {
		t.Errorf("sealed read: %d %s", r.status, r.body)
	}
	// A response body crosses the outer layer only sealed.
	in, _ := json.Marshal(innerRequest{Method: "GET", Path: "/fhir/Patient/" + id, Headers: map[string]string{CSRFHeader: alice.csrf}})
	body, _, err := sealed.SealRequest(e.key.PublicKey(), GatewayContext, in)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/sealed", bytes.NewReader(body))
	req.Header.Set("Content-Type", sealed.MediaType)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: alice.cookie})
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(phiFamily)) || bytes.Contains(rec.Body.Bytes(), []byte("Patient")) {
		t.Errorf("outer response: %d, plaintext visible", rec.Code)
	}
}

func TestGatewayRefusals(t *testing.T) {
	e := newEnv(t, false)
	other, err := sealed.GenerateKey(sealed.P256)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(innerRequest{Method: "GET", Path: "/api/attestation"})
	seal := func(pub *sealed.PublicKey, context string, plain []byte) []byte {
		b, _, err := sealed.SealRequest(pub, context, plain)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := seal(e.key.PublicKey(), GatewayContext, good)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		want        int
	}{
		{"good", sealed.MediaType, ok, http.StatusOK},
		{"tampered ciphertext", sealed.MediaType, flip(ok, len(ok)-1), http.StatusBadRequest},
		{"tampered header", sealed.MediaType, flip(ok, 1), http.StatusBadRequest},
		{"tampered encapsulated key", sealed.MediaType, flip(ok, 10), http.StatusBadRequest},
		{"truncated", sealed.MediaType, ok[:20], http.StatusBadRequest},
		{"empty", sealed.MediaType, nil, http.StatusBadRequest},
		{"another key", sealed.MediaType, seal(other.PublicKey(), GatewayContext, good), http.StatusBadRequest},
		{"another endpoint's context", sealed.MediaType, seal(e.key.PublicKey(), "POST /v2/models/chest/infer", good), http.StatusBadRequest},
		{"plain JSON", "application/json", good, http.StatusUnsupportedMediaType},
		{"too large", sealed.MediaType, make([]byte, MaxSealedBody+1), http.StatusRequestEntityTooLarge},
	}
	var generic []byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/sealed", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusBadRequest {
				// One undifferentiated answer for every failure to open.
				if generic == nil {
					generic = rec.Body.Bytes()
				} else if !bytes.Equal(generic, rec.Body.Bytes()) {
					t.Errorf("answer %s differs from %s", rec.Body, generic)
				}
			}
		})
	}
}

func TestGatewayInnerRefusals(t *testing.T) {
	e := newEnv(t, false)
	alice := e.client(t, true).mustLogin("alice", alicePassword)
	tests := []struct {
		name   string
		inner  string
		status int
		field  string
	}{
		{"nested gateway", `{"method":"POST","path":"/api/sealed","headers":{}}`, 400, "path"},
		{"outside the API", `{"method":"GET","path":"/healthz"}`, 400, "path"},
		{"dot segments", `{"method":"GET","path":"/fhir/../api/audit"}`, 400, "path"},
		{"double slash", `{"method":"GET","path":"/fhir//Patient"}`, 400, "path"},
		{"percent encoding", `{"method":"GET","path":"/fhir/Patient%2F.."}`, 400, "path"},
		{"absolute URL", `{"method":"GET","path":"https://evil/fhir/Patient"}`, 400, "path"},
		{"method", `{"method":"DELETE","path":"/fhir/Patient"}`, 400, "method"},
		{"GET with body", `{"method":"GET","path":"/fhir/Patient","body":"e30="}`, 400, "body"},
		{"unknown member", `{"method":"GET","path":"/fhir/Patient","cookies":"x"}`, 400, "cookies"},
		{"header with newline", `{"method":"GET","path":"/fhir/Patient","headers":{"X-CSRF-Token":"a\nb"}}`, 400, "headers"},
		{"not JSON", `GET /fhir/Patient`, 400, "JSON"},
		{"unknown route", `{"method":"GET","path":"/api/nothing"}`, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, opener, err := sealed.SealRequest(e.key.PublicKey(), GatewayContext, []byte(tc.inner))
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", "/api/sealed", bytes.NewReader(body))
			req.Header.Set("Content-Type", sealed.MediaType)
			req.AddCookie(&http.Cookie{Name: CookieName, Value: alice.cookie})
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("outer %d: once opened, answers are sealed", rec.Code)
			}
			plain, err := opener.Open(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var ir innerResponse
			if err := json.Unmarshal(plain, &ir); err != nil {
				t.Fatal(err)
			}
			if ir.Status != tc.status || !strings.Contains(string(ir.Body), tc.field) {
				t.Fatalf("inner %d %s, want %d naming %q", ir.Status, ir.Body, tc.status, tc.field)
			}
		})
	}
}

func TestParseInner(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"method":"GET","path":"/fhir/Observation?subject=Patient/0b6e1d0a-3f0e-4b7e-9a53-1e2f3a4b5c6d"}`, true},
		{`{"method":"POST","path":"/fhir/Patient","headers":{"Content-Type":"application/fhir+json"},"body":"e30="}`, true},
		{`{"method":"GET","path":"/api/sealed/x"}`, false},
		{`{"method":"GET","path":"/fhir/Patient?a=b c"}`, false},
		{`{"method":"GET","path":"/fhir/Patient#frag"}`, false},
		{`{"method":"GET","path":"/fhir/Patient?a=%zz"}`, false},
		{`{"method":"GET","path":"/fhir/` + strings.Repeat("a", MaxInnerPath) + `"}`, false},
		{`{"method":"get","path":"/fhir/Patient"}`, false},
	}
	for _, tc := range tests {
		_, _, err := parseInner([]byte(tc.in))
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("parseInner(%.80s) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
