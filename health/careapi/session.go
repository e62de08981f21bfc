package careapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// accept it only with Secure, Path=/ and no Domain, so a sibling subdomain
// cannot set or overwrite it.
const CookieName = "__Host-cofre_session"

// CSRFHeader carries the session's CSRF token.
const CSRFHeader = "X-CSRF-Token"

// session is what the store keeps for a signed-in user, keyed by the
// random session id. The id itself is never logged or audited.
type session struct {
	User    string    `json:"user"`
	Role    Role      `json:"role"`
	CSRF    []byte    `json:"csrf"`
	Created time.Time `json:"created"`
}

const sessionIDSize = 32

// newSessionID returns a random session id and its cookie form.
func newSessionID() string {
	b := make([]byte, sessionIDSize)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validSessionID reports whether a cookie value has the shape of an id
// this server issues, so that nothing else reaches the store as a key.
func validSessionID(v string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil && len(b) == sessionIDSize
}

func sessionCookie(id string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    id,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: true, // scripts never read it; the portal holds the CSRF token instead
		// Strict: no cross-site request carries the cookie, which is the
		// first CSRF defence; the token is the second.
		SameSite: http.SameSiteStrictMode,
	}
}

// Why authentication failed; the client sees only 401 or 403.
var (
	errNoSession = errors.New("careapi: no valid session")
	errCSRF      = errors.New("careapi: missing or wrong CSRF token")
	errLocked    = errors.New("careapi: too many failed logins")
	errBadLogin  = errors.New("careapi: wrong username or password")
)

// loadSession returns the session named by r's cookie, extending its idle
// lifetime, or errNoSession.
func (s *Server) loadSession(ctx context.Context, r *http.Request) (string, *session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || !validSessionID(c.Value) {
		return "", nil, errNoSession
	}
	b, err := s.store.get(ctx, keySession(c.Value))
	if errors.Is(err, errNotFound) {
		return "", nil, errNoSession
	}
	if err != nil {
		return "", nil, err
	}
	var sess session
	if err := json.Unmarshal(b, &sess); err != nil || len(sess.CSRF) != sessionIDSize {
		return "", nil, errNoSession
	}
	now := s.now()
	if now.Sub(sess.Created) >= SessionMax {
		s.store.c.Delete(ctx, keySession(c.Value))
		return "", nil, errNoSession
	}
	// Sliding idle expiry: rewriting the entry restarts its TTL.
	if err := s.store.c.Set(ctx, keySession(c.Value), b, SessionIdle); err != nil {
		return "", nil, err
	}
	return c.Value, &sess, nil
}

// checkCSRF compares the request's CSRF header with the session's in
// constant time.
func checkCSRF(r *http.Request, sess *session) error {
	got, err := base64.RawURLEncoding.Strict().DecodeString(r.Header.Get(CSRFHeader))
	if err != nil || subtle.ConstantTimeCompare(got, sess.CSRF) != 1 {
		return errCSRF
	}
	return nil
}

// limiter counts failed logins per username (MaxLoginFailures within
// LoginWindow). Unknown usernames share one counter, so the map holds at
// most one entry per account plus one and cannot be grown by an attacker.
type limiter struct {
	mu       sync.Mutex // guards failures
	failures map[string]*window
}

type window struct {
	start time.Time
	count int
}

const unknownUser = "\x00unknown"

// allowed reports whether user may try to log in at now.
func (l *limiter) allowed(user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.failures[user]
	if w == nil || now.Sub(w.start) >= LoginWindow {
		return true
	}
	return w.count < MaxLoginFailures
}

// fail records a failed login for user at now.
func (l *limiter) fail(user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.failures[user]
	if w == nil || now.Sub(w.start) >= LoginWindow {
		w = &window{start: now}
		l.failures[user] = w
	}
	w.count++
}

// succeed clears user's failures.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, user)
}

// login checks a username and password. It spends one argon2id
// computation whether or not the user exists (against a dummy hash for
// unknown users), so timing does not reveal which usernames exist.
func (s *Server) login(ctx context.Context, username, password string) (Account, error) {
	acct, known := s.accounts[username]
	limitKey := unknownUser
	h := s.dummyHash
	if known {
		limitKey = username
		h = acct.hash
	}
	now := s.now()
	if !s.limiter.allowed(limitKey, now) {
		return Account{}, errLocked
	}
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return Account{}, ctx.Err()
	}
	ok := h.matches(password)
	<-s.hashSlots
	if !ok || !known {
		s.limiter.fail(limitKey, now)
		return Account{}, errBadLogin
	}
	s.limiter.succeed(limitKey)
	return acct.Account, nil
}

// startSession stores a new session and returns its id and CSRF token.
func (s *Server) startSession(ctx context.Context, a Account) (id, csrf string, err error) {
	id = newSessionID()
	tok := make([]byte, sessionIDSize)
	rand.Read(tok)
	b, err := json.Marshal(session{User: a.Username, Role: a.Role, CSRF: tok, Created: s.now()})
	if err != nil {
		return "", "", err
	}
	if err := s.store.c.Set(ctx, keySession(id), b, SessionIdle); err != nil {
		return "", "", fmt.Errorf("careapi: store session: %w", err)
	}
	return id, base64.RawURLEncoding.EncodeToString(tok), nil
}
