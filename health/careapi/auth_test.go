package careapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	hashes := e.srv.hashes.Load()
	if r := c.login("alice", alicePassword); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("locked login: %d %v", r.status, r.header)
	}
	if got := e.srv.hashes.Load(); got != hashes {
		t.Fatalf("a locked login ran %d hashes", got-hashes)
	}
	// Another account is not affected, nor by unknown-user failures.
	for range MaxLoginFailures + 1 {
		e.client(t, false).login("mallory", "x")
	}
	if r := e.client(t, false).login("bob", bobPassword); r.status != http.StatusOK {
		t.Fatalf("bob after alice's lockout: %d", r.status)
	}
	if r := e.client(t, false).login("mallory", "x"); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown user after its failures: %d", r.status)
	}
	// The window ends.
	e.clock.Add(LoginWindow)
	if r := c.login("alice", alicePassword); r.status != http.StatusOK {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
}

// TestLoginBucketsPerName checks that every username, known or not, has
// its own count: failures of bogus names never make another name answer
// 429, so 429 does not tell unknown names from real ones.
func TestLoginBucketsPerName(t *testing.T) {
	e := newEnv(t, true)
	bogus := []string{"mallory", "eve", "trudy", "oscar", "peggy", "victor"}
	for _, name := range bogus {
		for i := range MaxLoginFailures {
			if r := e.client(t, false).login(name, "x"); r.status != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", name, i, r.status)
			}
		}
		if r := e.client(t, false).login(name, "x"); r.status != http.StatusTooManyRequests {
			t.Fatalf("%s after %d failures: %d", name, MaxLoginFailures, r.status)
		}
	}
	tests := []struct {
		name, user, password string
		want                 int
	}{
		{"fresh unknown name", "walter", "x", http.StatusUnauthorized},
		{"real name, wrong password", "alice", "x", http.StatusUnauthorized},
		{"real name, right password", "bob", bobPassword, http.StatusOK},
		{"locked unknown name", "eve", "x", http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		if r := e.client(t, false).login(tc.user, tc.password); r.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.status, tc.want)
		}
	}
}

// TestLoginBurst sends concurrent wrong guesses for one account: the
// attempt is counted before the hash slot is awaited, so at most
// MaxLoginFailures hashes run and the rest are refused with 429.
func TestLoginBurst(t *testing.T) {
	e := newEnv(t, true)
	const n = 60
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(`{"username":"alice","password":"wrong"}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			statuses[i] = rec.Code
		}()
	}
	wg.Wait()
	not429 := 0
	for _, st := range statuses {
		switch st {
		case http.StatusTooManyRequests:
		case http.StatusUnauthorized:
			not429++
		default:
			t.Errorf("status %d", st)
		}
	}
	if not429 > MaxLoginFailures {
		t.Errorf("%d answers other than 429, want at most %d", not429, MaxLoginFailures)
	}
	if h := e.srv.hashes.Load(); h > MaxLoginFailures {
		t.Errorf("%d password hashes ran, want at most %d", h, MaxLoginFailures)
	}
}

// TestLockAuditedOnce checks that a locked account hammered with logins
// gets one audit entry per lock window, not one per request.
func TestLockAuditedOnce(t *testing.T) {
	e := newEnv(t, true)
	countDenied := func() int {
		entries, err := e.srv.readAudit()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			if en.Action == "login" && en.User == "alice" && en.Outcome == outcomeDenied {
				n++
			}
		}
		return n
	}
	for range MaxLoginFailures {
		e.client(t, false).login("alice", "x")
	}
	for range 10 {
		if r := e.client(t, false).login("alice", "x"); r.status != http.StatusTooManyRequests {
			t.Fatalf("locked: %d", r.status)
		}
	}
	if got, want := countDenied(), MaxLoginFailures+1; got != want {
		t.Fatalf("%d denied logins audited, want %d (failures and one lock)", got, want)
	}
	// A new window, a new lock, one more entry.
	e.clock.Add(LoginWindow)
	for range MaxLoginFailures + 5 {
		e.client(t, false).login("alice", "x")
	}
	if got, want := countDenied(), 2*(MaxLoginFailures+1); got != want {
		t.Fatalf("%d denied logins audited after a second window, want %d", got, want)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	t.Run("reset on success", func(t *testing.T) {
		l := newLimiter(10)
		for range MaxLoginFailures - 1 {
			l.reserve("a", now)
		}
		l.succeed("a")
		for range MaxLoginFailures {
			if got := l.reserve("a", now); got != limitAllowed {
				t.Fatalf("after a success: %v", got)
			}
		}
		if got := l.reserve("a", now); got != limitLocked {
			t.Fatalf("after MaxLoginFailures: %v, want locked", got)
		}
		if got := l.reserve("a", now); got != limitLockedAgain {
			t.Fatalf("second refusal: %v, want locked-again", got)
		}
	})
	t.Run("flood", func(t *testing.T) {
		l := newLimiter(3)
		for _, u := range []string{"a", "b", "c"} {
			if got := l.reserve(u, now); got != limitAllowed {
				t.Fatalf("%s: %v", u, got)
			}
		}
		// Full and nothing expired: new names are refused, once audited.
		if got := l.reserve("d", now); got != limitLocked {
			t.Fatalf("d in a flood: %v, want locked", got)
		}
		if got := l.reserve("e", now); got != limitLockedAgain {
			t.Fatalf("e in a flood: %v, want locked-again", got)
		}
		// Names with a bucket keep their own count.
		if got := l.reserve("a", now); got != limitAllowed {
			t.Fatalf("a in a flood: %v", got)
		}
		if len(l.buckets) != 3 {
			t.Fatalf("%d buckets, want the bound 3", len(l.buckets))
		}
		// Once the window ends, expired buckets make room.
		later := now.Add(LoginWindow)
		if got := l.reserve("d", later); got != limitAllowed {
			t.Fatalf("d after the window: %v", got)
		}
		if len(l.buckets) != 1 {
			t.Fatalf("%d buckets after the sweep, want 1", len(l.buckets))
		}
	})
	t.Run("names are not kept", func(t *testing.T) {
		l := newLimiter(10)
		l.reserve("hunter2", now)
		for k := range l.buckets {
			if strings.Contains(string(k[:]), "hunter2") {
				t.Fatal("bucket key holds the name")
			}
		}
	})
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
