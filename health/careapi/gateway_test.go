package careapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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
	stolen := &client{t: t, h: e.h, cookie: alice.cookie, seal: e.key.PublicKey(), clk: e.clock}
	if r := stolen.do("GET", "/fhir/Patient/"+id, "", nil); r.status != http.StatusForbidden {
		t.Errorf("sealed read without CSRF: %d %s", r.status, r.body)
	}
	if r := alice.do("GET", "/fhir/Patient/"+id, "", nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(phiFamily)) {
		t.Errorf("sealed read: %d %s", r.status, r.body)
	}
	// A response body crosses the outer layer only sealed.
	ir := innerRequest{Method: "GET", Path: "/fhir/Patient/" + id, Headers: map[string]string{CSRFHeader: alice.csrf}}
	stamp(&ir, e.clock)
	in, _ := json.Marshal(ir)
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
	gi := innerRequest{Method: "GET", Path: "/api/attestation"}
	stamp(&gi, e.clock)
	good, _ := json.Marshal(gi)
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

// sealInner seals plain to e's gateway key.
func sealInner(t *testing.T, e *env, plain []byte) ([]byte, *sealed.ResponseOpener) {
	t.Helper()
	body, opener, err := sealed.SealRequest(e.key.PublicKey(), GatewayContext, plain)
	if err != nil {
		t.Fatal(err)
	}
	return body, opener
}

// postSealed posts a sealed body with cookie and opens the inner answer.
func postSealed(t *testing.T, e *env, cookie string, body []byte, opener *sealed.ResponseOpener) innerResponse {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/sealed", bytes.NewReader(body))
	req.Header.Set("Content-Type", sealed.MediaType)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
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
	return ir
}

// stamped replaces {{NONCE}} with a fresh nonce and {{TS}} with the Unix
// milliseconds of clk plus skew.
func stamped(inner string, clk *clock, skew time.Duration) string {
	inner = strings.ReplaceAll(inner, "{{NONCE}}", freshNonce())
	return strings.ReplaceAll(inner, "{{TS}}", strconv.FormatInt(clk.Now().Add(skew).UnixMilli(), 10))
}

func TestGatewayInnerRefusals(t *testing.T) {
	e := newEnv(t, false)
	alice := e.client(t, true).mustLogin("alice", alicePassword)
	const fresh = `"nonce":"{{NONCE}}","ts":{{TS}}`
	tests := []struct {
		name   string
		inner  string
		skew   time.Duration
		status int
		field  string
	}{
		{"nested gateway", `{"method":"POST","path":"/api/sealed","headers":{},` + fresh + `}`, 0, 400, "path"},
		{"outside the API", `{"method":"GET","path":"/healthz",` + fresh + `}`, 0, 400, "path"},
		{"dot segments", `{"method":"GET","path":"/fhir/../api/audit",` + fresh + `}`, 0, 400, "path"},
		{"double slash", `{"method":"GET","path":"/fhir//Patient",` + fresh + `}`, 0, 400, "path"},
		{"percent encoding", `{"method":"GET","path":"/fhir/Patient%2F..",` + fresh + `}`, 0, 400, "path"},
		{"absolute URL", `{"method":"GET","path":"https://evil/fhir/Patient",` + fresh + `}`, 0, 400, "path"},
		{"method", `{"method":"DELETE","path":"/fhir/Patient",` + fresh + `}`, 0, 400, "method"},
		{"GET with body", `{"method":"GET","path":"/fhir/Patient","body":"e30=",` + fresh + `}`, 0, 400, "body"},
		{"unknown member", `{"method":"GET","path":"/fhir/Patient","cookies":"x",` + fresh + `}`, 0, 400, "cookies"},
		{"header with newline", `{"method":"GET","path":"/fhir/Patient","headers":{"X-CSRF-Token":"a\nb"},` + fresh + `}`, 0, 400, "headers"},
		{"not JSON", `GET /fhir/Patient`, 0, 400, "JSON"},
		{"missing nonce", `{"method":"GET","path":"/api/nothing","ts":{{TS}}}`, 0, 400, "nonce"},
		{"empty nonce", `{"method":"GET","path":"/api/nothing","nonce":"","ts":{{TS}}}`, 0, 400, "nonce"},
		{"short nonce", `{"method":"GET","path":"/api/nothing","nonce":"AAAAAAAAAAAAAAAAAAAAA","ts":{{TS}}}`, 0, 400, "nonce"},
		{"padded nonce", `{"method":"GET","path":"/api/nothing","nonce":"AAAAAAAAAAAAAAAAAAAAAA==","ts":{{TS}}}`, 0, 400, "nonce"},
		{"standard-alphabet nonce", `{"method":"GET","path":"/api/nothing","nonce":"+AAAAAAAAAAAAAAAAAAAAA","ts":{{TS}}}`, 0, 400, "nonce"},
		{"non-canonical nonce", `{"method":"GET","path":"/api/nothing","nonce":"AAAAAAAAAAAAAAAAAAAAAB","ts":{{TS}}}`, 0, 400, "nonce"},
		{"nonce not a string", `{"method":"GET","path":"/api/nothing","nonce":7,"ts":{{TS}}}`, 0, 400, "nonce"},
		{"missing ts", `{"method":"GET","path":"/api/nothing","nonce":"{{NONCE}}"}`, 0, 400, "ts"},
		{"ts a string", `{"method":"GET","path":"/api/nothing","nonce":"{{NONCE}}","ts":"{{TS}}"}`, 0, 400, "ts"},
		{"ts fractional", `{"method":"GET","path":"/api/nothing","nonce":"{{NONCE}}","ts":1.5}`, 0, 400, "ts"},
		{"stale ts", `{"method":"GET","path":"/api/nothing",` + fresh + `}`, -MaxClockSkew - time.Millisecond, 400, "ts"},
		{"future ts", `{"method":"GET","path":"/api/nothing",` + fresh + `}`, MaxClockSkew + time.Millisecond, 400, "ts"},
		{"oldest accepted ts", `{"method":"GET","path":"/api/nothing",` + fresh + `}`, -MaxClockSkew, 404, ""},
		{"latest accepted ts", `{"method":"GET","path":"/api/nothing",` + fresh + `}`, MaxClockSkew, 404, ""},
		{"unknown route", `{"method":"GET","path":"/api/nothing",` + fresh + `}`, 0, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, opener := sealInner(t, e, []byte(stamped(tc.inner, e.clock, tc.skew)))
			ir := postSealed(t, e, alice.cookie, body, opener)
			if ir.Status != tc.status || !strings.Contains(string(ir.Body), tc.field) {
				t.Fatalf("inner %d %s, want %d naming %q", ir.Status, ir.Body, tc.status, tc.field)
			}
		})
	}
}

// TestGatewayReplay replays a captured sealed request, as a
// TLS-terminating proxy that sees the outer cookie could.
func TestGatewayReplay(t *testing.T) {
	e := newEnv(t, false)
	alice := e.client(t, true).mustLogin("alice", alicePassword)
	count := func() int {
		var b struct{ Total int }
		alice.do("GET", "/fhir/Patient", "", nil).json(t, &b)
		return b.Total
	}
	in := innerRequest{Method: "POST", Path: "/fhir/Patient", Body: []byte(testPatient),
		Headers: map[string]string{"Content-Type": mediaFHIR, CSRFHeader: alice.csrf}}
	stamp(&in, e.clock)
	plain, _ := json.Marshal(in)
	body, opener := sealInner(t, e, plain)
	if ir := postSealed(t, e, alice.cookie, body, opener); ir.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", ir.Status, ir.Body)
	}
	// The same bytes again, and the same plaintext sealed afresh (what a
	// sender replaying the plaintext could do): both refused, nothing
	// stored twice.
	again, opener2 := sealInner(t, e, plain)
	tests := []struct {
		name   string
		body   []byte
		opener *sealed.ResponseOpener
		skew   time.Duration
	}{
		{"replayed bytes", body, opener, 0},
		{"resealed plaintext", again, opener2, 0},
		{"replayed at the window's end", body, opener, MaxClockSkew},
		{"replayed after the window", body, opener, time.Millisecond},
	}
	for _, tc := range tests {
		e.clock.Add(tc.skew)
		ir := postSealed(t, e, alice.cookie, tc.body, tc.opener)
		if ir.Status != http.StatusBadRequest || !strings.Contains(string(ir.Body), "nonce") && !strings.Contains(string(ir.Body), ".ts") {
			t.Errorf("%s: %d %s, want 400 naming nonce or ts", tc.name, ir.Status, ir.Body)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("%d patients after replays, want 1", n)
	}
	// Distinct nonces with everything else equal are distinct requests.
	for i := range 3 {
		stamp(&in, e.clock)
		plain, _ := json.Marshal(in)
		body, opener := sealInner(t, e, plain)
		if ir := postSealed(t, e, alice.cookie, body, opener); ir.Status != http.StatusCreated {
			t.Fatalf("fresh %d: %d %s", i, ir.Status, ir.Body)
		}
	}
	if n := count(); n != 4 {
		t.Fatalf("%d patients, want 4", n)
	}
}

func TestGatewayReplayCacheFull(t *testing.T) {
	e := newEnv(t, false)
	alice := e.client(t, true).mustLogin("alice", alicePassword) // one nonce
	e.srv.replay.max = 2
	if r := alice.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusOK {
		t.Fatalf("second nonce: %d %s", r.status, r.body)
	}
	if r := alice.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("full: %d %s, want 503", r.status, r.body)
	}
	// Once the first nonces leave the window there is room again.
	e.clock.Add(MaxClockSkew + time.Millisecond)
	if r := alice.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusOK {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
}

func TestReplayCache(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	c := newReplayCache(3)
	a, b := freshNonce(), freshNonce()
	tests := []struct {
		name  string
		nonce string
		ts    int64
		at    time.Time
		want  error
	}{
		{"fresh", a, ms(0), now, nil},
		{"replay", a, ms(0), now, errReplay},
		{"replay with another ts", a, ms(time.Second), now, errReplay},
		{"another nonce", b, ms(0), now, nil},
		{"stale", freshNonce(), ms(-MaxClockSkew - time.Millisecond), now, errStale},
		{"future", freshNonce(), ms(MaxClockSkew + time.Millisecond), now, errStale},
		{"huge ts", freshNonce(), math.MaxInt64, now, errStale},
		{"negative ts", freshNonce(), math.MinInt64, now, errStale},
		{"malformed", "x", ms(0), now, errReplay},
		{"third", freshNonce(), ms(0), now, nil},
		{"full", freshNonce(), ms(0), now, errReplayDB},
		{"room after expiry", freshNonce(), ms(MaxClockSkew), now.Add(MaxClockSkew + time.Millisecond), nil},
	}
	for _, tc := range tests {
		if err := c.admit(tc.nonce, tc.ts, tc.at); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if len(c.seen) != 1 {
		t.Errorf("%d nonces kept after the sweep, want 1", len(c.seen))
	}
}

func TestParseInner(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"method":"GET","path":"/fhir/Observation?subject=Patient/0b6e1d0a-3f0e-4b7e-9a53-1e2f3a4b5c6d","nonce":"AAAAAAAAAAAAAAAAAAAAAA","ts":0}`, true},
		{`{"method":"POST","path":"/fhir/Patient","headers":{"Content-Type":"application/fhir+json"},"body":"e30=","nonce":"q83vEjRWeJCrze8SNFZ4kA","ts":1795942800000}`, true},
		{`{"method":"GET","path":"/fhir/Patient","ts":0}`, false},
		{`{"method":"GET","path":"/fhir/Patient","nonce":"AAAAAAAAAAAAAAAAAAAAAA"}`, false},
		{`{"method":"GET","path":"/fhir/Patient","nonce":"AAAAAAAAAAAAAAAAAAAAAA","ts":null}`, false},
		{`{"method":"GET","path":"/fhir/Patient","nonce":"AAAAAAAAAAAAAAAAAAAAAAAA","ts":0}`, false},
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
