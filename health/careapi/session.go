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
	// errLockedAgain is errLocked for a username whose lock has already
	// been audited in this window.
	errLockedAgain = fmt.Errorf("%w (already recorded)", errLocked)
	errBadLogin    = errors.New("careapi: wrong username or password")
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

// login checks a username and password. It spends one argon2id
// computation whether or not the user exists (against a dummy hash for
// unknown users), so timing does not reveal which usernames exist.
//
// The attempt is counted (reserved) before the hash slot is awaited, in
// the same critical section that checks the limit: a concurrent burst of
// guesses for one username gets at most MaxLoginFailures hashes, not one
// per request that passed the check before the first failure was
// recorded. A success clears the count. A locked refusal is errLocked the
// first time in a lock window and errLockedAgain after, so the handler
// audits it once.
func (s *Server) login(ctx context.Context, username, password string) (Account, error) {
	acct, known := s.accounts[username]
	h := s.dummyHash
	if known {
		h = acct.hash
	}
	switch s.limiter.reserve(username, s.now()) {
	case limitLocked:
		return Account{}, errLocked
	case limitLockedAgain:
		return Account{}, errLockedAgain
	}
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		// The reservation stays counted: it is the conservative
		// choice, and only the caller's own attempts pay for it.
		return Account{}, ctx.Err()
	}
	s.hashes.Add(1)
	ok := h.matches(password)
	<-s.hashSlots
	if !ok || !known {
		return Account{}, errBadLogin
	}
	s.limiter.succeed(username)
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
