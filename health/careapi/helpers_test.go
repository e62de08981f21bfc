package careapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/health/cache"
	"github.com/cofre-cc/cofre/internal/redistest"
	"github.com/cofre-cc/cofre/sealed"
)

// testParams are the cheapest argon2id parameters New accepts, so tests
// with many logins stay fast.
var testParams = argonParams{memory: minMemory, time: minTime, threads: 1}

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "tr0ub4dor&3"
)

// Distinctive PHI: tests search for these strings where PHI must not be.
const (
	phiFamily = "Quixotefamily"
	phiGiven  = "Zebediahgiven"
	phiMRN    = "MRN-7731-PHI"
	phiBirth  = "1961-07-14"
)

var testPatient = `{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"` + phiMRN + `"}],` +
	`"name":[{"family":"` + phiFamily + `","given":["` + phiGiven + `"]}],"gender":"female","birthDate":"` + phiBirth + `"}`

type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeDiagnoser is a small deterministic model: two findings whose
// scores depend on the image's length. The network hop to the real
// service is tested with the inference service.
type fakeDiagnoser struct {
	mu    sync.Mutex // guards calls
	calls int
	fail  error
	bad   bool // return an invalid Diagnosis
}

const fakeSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func (f *fakeDiagnoser) Diagnose(ctx context.Context, image []byte, contentType string) (Diagnosis, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.fail != nil {
		return Diagnosis{}, f.fail
	}
	if f.bad {
		return Diagnosis{Labels: []string{"x"}, Probabilities: []float32{2}, Model: "m", ModelSHA256: fakeSHA}, nil
	}
	p := float32(len(image)%100) / 100
	return Diagnosis{
		Labels:        []string{"normal", "pneumonia"},
		Probabilities: []float32{1 - p, p},
		Model:         "chest-demo",
		ModelSHA256:   fakeSHA,
	}, nil
}

type env struct {
	srv   *Server
	h     http.Handler
	redis *redistest.Server
	key   *sealed.PrivateKey
	clock *clock
	diag  *fakeDiagnoser
	logs  *bytes.Buffer
	audit string
}

func testAccounts(t testing.TB) []Account {
	t.Helper()
	a, err := hashWith(alicePassword, testParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hashWith(bobPassword, testParams)
	if err != nil {
		t.Fatal(err)
	}
	return []Account{
		{Username: "alice", Role: RoleClinician, PasswordHash: a},
		{Username: "bob", Role: RoleAdmin, PasswordHash: b},
	}
}

func key32(b byte) (k [32]byte) {
	for i := range k {
		k[i] = b
	}
	return k
}

// newEnv starts Redis and a Server; allowPlain as in Config.
func newEnv(t *testing.T, allowPlain bool) *env {
	t.Helper()
	rs := redistest.Start(t, redistest.Options{AppRules: cache.ACLRules})
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	c, err := cache.New(cache.Config{
		Addr: rs.Addr, TLS: rs.ClientTLS(), Username: rs.AppUser, Password: rs.AppPassword,
		SealingKey: key32(1), NamingKey: key32(2), Namespace: "careapi", Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sk, err := sealed.GenerateKey(sealed.P256)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{redis: rs, key: sk, clock: clk, diag: &fakeDiagnoser{}, logs: &bytes.Buffer{},
		audit: filepath.Join(t.TempDir(), "audit.log")}
	e.srv, err = New(Config{
		Accounts:   testAccounts(t),
		Store:      c,
		SealKey:    sk,
		AllowPlain: allowPlain,
		HPKEToken:  func() string { return "hpke.token.jwt" },
		TLSToken:   func() string { return "tls.token.jwt" },
		Diagnoser:  e.diag,
		AuditPath:  e.audit,
		Now:        clk.Now,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.srv.Close() })
	e.h = e.srv.Handler()
	return e
}

// client talks to the handler, plainly or through the gateway.
type client struct {
	t      *testing.T
	h      http.Handler
	cookie string
	csrf   string
	seal   *sealed.PublicKey // nil: plain requests
	clk    *clock            // the sender's clock for the inner ts (sealed mode)
}

// freshNonce returns a random inner-request nonce.
func freshNonce() string {
	b := make([]byte, nonceSize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stamp sets a fresh nonce and ts (from clk) on in.
func stamp(in *innerRequest, clk *clock) {
	ts := clk.Now().UnixMilli()
	in.Nonce, in.TS = freshNonce(), &ts
}

func (e *env) client(t *testing.T, sealedMode bool) *client {
	c := &client{t: t, h: e.h, clk: e.clock}
	if sealedMode {
		c.seal = e.key.PublicKey()
	}
	return c
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (c *client) do(method, path, contentType string, body []byte) resp {
	c.t.Helper()
	if c.seal != nil {
		return c.doSealed(method, path, contentType, body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	c.takeCookie(rec.Result())
	return resp{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func (c *client) takeCookie(r *http.Response) {
	for _, ck := range r.Cookies() {
		if ck.Name == CookieName {
			c.cookie = ck.Value
			if ck.MaxAge < 0 {
				c.cookie = ""
			}
		}
	}
}

func (c *client) doSealed(method, path, contentType string, body []byte) resp {
	c.t.Helper()
	in := innerRequest{Method: method, Path: path, Headers: map[string]string{}, Body: body}
	stamp(&in, c.clk)
	if contentType != "" {
		in.Headers["Content-Type"] = contentType
	}
	if c.csrf != "" {
		in.Headers[CSRFHeader] = c.csrf
	}
	plain, err := json.Marshal(in)
	if err != nil {
		c.t.Fatal(err)
	}
	outer, opener, err := sealed.SealRequest(c.seal, GatewayContext, plain)
	if err != nil {
		c.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/sealed", bytes.NewReader(outer))
	req.Header.Set("Content-Type", sealed.MediaType)
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: c.cookie})
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != sealed.MediaType {
		c.t.Fatalf("sealed %s %s: outer status %d %s", method, path, rec.Code, rec.Body.Bytes())
	}
	c.takeCookie(rec.Result())
	opened, err := opener.Open(rec.Body.Bytes())
	if err != nil {
		c.t.Fatalf("open sealed response: %v", err)
	}
	var ir innerResponse
	if err := json.Unmarshal(opened, &ir); err != nil {
		c.t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range ir.Headers {
		h.Set(k, v)
	}
	return resp{ir.Status, h, ir.Body}
}

func (c *client) login(user, password string) resp {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	r := c.do(http.MethodPost, "/api/login", "application/json", b)
	if r.status == http.StatusOK {
		var v struct{ CSRF string }
		r.json(c.t, &v)
		c.csrf = v.CSRF
	}
	return r
}

// mustLogin logs in or fails the test.
func (c *client) mustLogin(user, password string) *client {
	c.t.Helper()
	if r := c.login(user, password); r.status != http.StatusOK {
		c.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	return c
}

// createPatient creates testPatient and returns its id.
func (c *client) createPatient() string {
	c.t.Helper()
	r := c.do(http.MethodPost, "/fhir/Patient", "application/fhir+json", []byte(testPatient))
	if r.status != http.StatusCreated {
		c.t.Fatalf("create patient: %d %s", r.status, r.body)
	}
	var p struct{ ID string }
	r.json(c.t, &p)
	return p.ID
}

// outcome decodes an OperationOutcome and checks its single-issue shape.
func outcome(t *testing.T, r resp) []issue {
	t.Helper()
	var oo operationOutcome
	r.json(t, &oo)
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	for _, is := range oo.Issue {
		if is.Severity != "error" {
			t.Errorf("issue severity %q, want error", is.Severity)
		}
	}
	return oo.Issue
}
