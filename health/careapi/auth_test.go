package careapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, true)
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCookie  bool
	}{
		{"clinician", "application/json", `{"username":"alice","password":"` + alicePassword + `"}`, http.StatusOK, true},
		{"admin", "application/json", `{"username":"bob","password":"` + bobPassword + `"}`, http.StatusOK, true},
		{"wrong password", "application/json", `{"username":"alice","password":"nope"}`, http.StatusUnauthorized, false},
		{"unknown user", "application/json", `{"username":"mallory","password":"nope"}`, http.StatusUnauthorized, false},
		{"other user's password", "application/json", `{"username":"alice","password":"` + bobPassword + `"}`, http.StatusUnauthorized, false},
		{"form content type", "application/x-www-form-urlencoded", `username=alice&password=x`, http.StatusBadRequest, false},
		{"unknown member", "application/json", `{"username":"alice","password":"x","admin":true}`, http.StatusBadRequest, false},
		{"not json", "application/json", `{"username":`, http.StatusBadRequest, false},
	}
	var unauthorizedBodies []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			cookies := rec.Result().Cookies()
			if got := len(cookies) == 1; got != tc.wantCookie {
				t.Fatalf("cookies %v, want one: %v", cookies, tc.wantCookie)
			}
			if rec.Code == http.StatusUnauthorized {
				unauthorizedBodies = append(unauthorizedBodies, rec.Body.String())
			}
			if tc.wantCookie {
				var v struct{ User, Role, CSRF string }
				resp{rec.Code, rec.Header(), rec.Body.Bytes()}.json(t, &v)
				if v.User == "" || v.Role == "" || !validSessionID(v.CSRF) {
					t.Errorf("login answer %+v", v)
				}
			}
		})
	}
	// One generic answer for unknown users and wrong passwords.
	for _, b := range unauthorizedBodies[1:] {
		if b != unauthorizedBodies[0] {
			t.Errorf("401 bodies differ: %q vs %q", b, unauthorizedBodies[0])
		}
	}
	if strings.Contains(e.logs.String(), alicePassword) || strings.Contains(e.logs.String(), "nope") {
		t.Error("a password reached the log")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t, true)
	req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(`{"username":"alice","password":"`+alicePassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	raw := rec.Header().Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %q", raw, want)
		}
	}
	if strings.Contains(raw, "Domain=") {
		t.Errorf("Set-Cookie %q has a Domain (a __Host- cookie must not)", raw)
	}
	c := rec.Result().Cookies()[0]
	if !validSessionID(c.Value) {
		t.Errorf("session id is not 32 random bytes in base64url")
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, true)
	c := e.client(t, false)
	for i := range MaxLoginFailures {
		if r := c.login("alice", "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, r.status)
		}
	}
	// Locked: even the right password is refused, without a hash.
	if r := c.login("alice", alicePassword); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("locked login: %d %v", r.status, r.header)
	}
	// Another account is not affected, nor by unknown-user failures.
	for range MaxLoginFailures + 1 {
		e.client(t, false).login("mallory", "x")
	}
	if r := e.client(t, false).login("bob", bobPassword); r.status != http.StatusOK {
		t.Fatalf("bob after alice's lockout: %d", r.status)
	}
	if r := e.client(t, false).login("mallory", "x"); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown users share a limit: %d", r.status)
	}
	// The window ends.
	e.clock.Add(LoginWindow)
	if r := c.login("alice", alicePassword); r.status != http.StatusOK {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
}

func TestLimiterResetsOnSuccess(t *testing.T) {
	l := limiter{failures: map[string]*window{}}
	now := time.Unix(0, 0)
	for range MaxLoginFailures - 1 {
		l.fail("a", now)
	}
	l.succeed("a")
	for range MaxLoginFailures - 1 {
		l.fail("a", now)
	}
	if !l.allowed("a", now) {
		t.Fatal("failures before a success still count")
	}
	l.fail("a", now)
	if l.allowed("a", now) {
		t.Fatal("not locked after MaxLoginFailures")
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	bob := e.client(t, false).mustLogin("bob", bobPassword)
	id := alice.createPatient()

	anon := e.client(t, false)
	noCSRF := &client{t: t, h: e.h, cookie: alice.cookie}
	wrongCSRF := &client{t: t, h: e.h, cookie: alice.cookie, csrf: bob.csrf}
	forged := &client{t: t, h: e.h, cookie: strings.Repeat("A", 43), csrf: alice.csrf}

	patient := []byte(testPatient)
	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		body   []byte
		want   int
	}{
		{"anonymous list", anon, "GET", "/fhir/Patient", nil, http.StatusUnauthorized},
		{"anonymous read", anon, "GET", "/fhir/Patient/" + id, nil, http.StatusUnauthorized},
		{"anonymous create", anon, "POST", "/fhir/Patient", patient, http.StatusUnauthorized},
		{"anonymous audit", anon, "GET", "/api/audit", nil, http.StatusUnauthorized},
		{"anonymous diagnose", anon, "POST", "/api/patients/" + id + "/diagnose", []byte(`{}`), http.StatusUnauthorized},
		{"forged session id", forged, "GET", "/fhir/Patient", nil, http.StatusUnauthorized},
		{"create without CSRF", noCSRF, "POST", "/fhir/Patient", patient, http.StatusForbidden},
		{"create with another session's CSRF", wrongCSRF, "POST", "/fhir/Patient", patient, http.StatusForbidden},
		{"logout without CSRF", noCSRF, "POST", "/api/logout", nil, http.StatusForbidden},
		{"read without CSRF (plain GET)", noCSRF, "GET", "/fhir/Patient/" + id, nil, http.StatusOK},
		{"clinician reads audit", alice, "GET", "/api/audit", nil, http.StatusForbidden},
		{"admin reads audit", bob, "GET", "/api/audit", nil, http.StatusOK},
		{"admin reads patient", bob, "GET", "/fhir/Patient/" + id, nil, http.StatusOK},
		{"unknown patient", alice, "GET", "/fhir/Patient/00000000-0000-4000-8000-000000000000", nil, http.StatusNotFound},
		{"non-uuid patient", alice, "GET", "/fhir/Patient/123", nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := ""
			if tc.body != nil {
				ct = "application/fhir+json"
			}
			r := tc.c.do(tc.method, tc.path, ct, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want >= 400 && strings.HasPrefix(tc.path, "/fhir/") {
				outcome(t, r)
			}
		})
	}

	// Logout ends the session server-side: the old cookie no longer works.
	old := alice.cookie
	if r := alice.do("POST", "/api/logout", "", nil); r.status != http.StatusOK {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	replay := &client{t: t, h: e.h, cookie: old, csrf: alice.csrf}
	if r := replay.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.status)
	}
}

func TestLoginEndsPreviousSession(t *testing.T) {
	e := newEnv(t, true)
	c := e.client(t, false).mustLogin("alice", alicePassword)
	first := c.cookie
	c.mustLogin("alice", alicePassword)
	if c.cookie == first {
		t.Fatal("login reused the session id")
	}
	old := &client{t: t, h: e.h, cookie: first}
	if r := old.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("session from before the second login: %d", r.status)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	// Activity keeps the session alive past SessionIdle...
	for range 3 {
		e.clock.Add(SessionIdle - time.Minute)
		if r := alice.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusOK {
			t.Fatalf("active session: %d", r.status)
		}
	}
	// ...but not idleness.
	e.clock.Add(SessionIdle)
	if r := alice.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("idle session: %d", r.status)
	}
	// Nor past SessionMax however active.
	bob := e.client(t, false).mustLogin("bob", bobPassword)
	for elapsed := time.Duration(0); elapsed < SessionMax; elapsed += SessionIdle - time.Minute {
		if r := bob.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusOK {
			t.Fatalf("at %v: %d", elapsed, r.status)
		}
		e.clock.Add(SessionIdle - time.Minute)
	}
	if r := bob.do("GET", "/fhir/Patient", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("past SessionMax: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, false)
	for _, p := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/attestation", nil))
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"tls_token":"tls.token.jwt"`)) {
		t.Errorf("attestation: %d %s", rec.Code, rec.Body)
	}
}
