package token

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AuthScheme is the HTTP authentication scheme of attestation tokens:
// "Authorization: Attestation <jwt>".
const AuthScheme = "Attestation"

type claimsKey struct{}

// ClaimsFromContext returns the claims RequireAttestation verified for the
// request, if any.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// ContextWithClaims returns ctx carrying c, as RequireAttestation does; for
// handlers' tests and for callers that verify tokens themselves.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// RequireAttestation returns net/http middleware for service-to-service
// hops: a request passes only with "Authorization: Attestation <jwt>" whose
// token Verify accepts under opts, bound (cnf) to the TLS client
// certificate the request was made with. The verified claims are put in the
// request context (ClaimsFromContext).
//
// The server must request client certificates (tls.Config.ClientAuth
// RequireAnyClientCert or stricter): the token is what authenticates the
// peer, and the certificate is what proves the token was not stolen, so the
// certificate need not chain to any CA.
//
// Refusals are answered with a JSON body {"error": …, "reasons": [{check,
// expected, actual, class}…]} that never echoes the token:
//   - 401 (error "invalid_token"): no or unparseable Authorization header,
//     no client certificate, or a token that is not a valid token for this
//     relying party (malformed, algorithm, unknown key, signature, times,
//     issuer, audience, nonce, draft) or not bound to the client
//     certificate; with WWW-Authenticate: Attestation;
//   - 403 (error "insufficient_attestation"): a valid token whose
//     attestation does not meet the policy (status, measurement,
//     simulation);
//   - 503 (error "unavailable"): the issuer's keys could not be obtained.
//
// opts.Issuer must be set (the middleware always pins the issuer),
// opts.Now should be zero (each request is verified at its own time) and
// opts.ConfirmationKey and opts.ConfirmationCertificate must be nil: the
// middleware sets the certificate per request. RequireAttestation panics if
// opts is invalid, a programmer error it reports at startup rather than on
// every request.
func RequireAttestation(opts Options) func(http.Handler) http.Handler {
	if err := opts.validate(); err != nil {
		panic(err)
	}
	if opts.Issuer == "" {
		// Without a pinned issuer any service whose keys are in the JWKS
		// could mint access; the middleware guards service-to-service
		// hops, where exactly one attestation service is trusted.
		panic("token: RequireAttestation: Options.Issuer must be set: the middleware pins the issuer")
	}
	if opts.ConfirmationKey != nil || opts.ConfirmationCertificate != nil {
		panic("token: RequireAttestation: Options.ConfirmationKey and ConfirmationCertificate must be nil; the client certificate is used")
	}
	cache := &verifiedCache{entries: map[[sha256.Size]byte]verifiedEntry{}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				writeError(w, http.StatusUnauthorized, "invalid_token",
					[]reason{{Check: "authorization", Expected: AuthScheme + " <token>", Actual: authActual(r)}})
				return
			}
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
				writeError(w, http.StatusUnauthorized, "invalid_token",
					[]reason{{Check: "client certificate", Expected: "a TLS client certificate the token is bound to", Actual: "none"}})
				return
			}
			cert := r.TLS.PeerCertificates[0]
			now := opts.time()
			c, ok := cache.get(tok, cert, now)
			if !ok {
				o := opts
				o.ConfirmationCertificate = cert
				var err error
				if c, err = Verify(r.Context(), tok, o); err != nil {
					status, code := httpStatus(err)
					writeError(w, status, code, reasonsOf(err))
					return
				}
				cache.put(tok, cert, c, now)
			}
			if c.EncryptionKey {
				// Bound to a key others encrypt to, not to a key that
				// authenticates its holder as a caller.
				writeError(w, http.StatusUnauthorized, "invalid_token",
					[]reason{{Check: claimEncryption, Expected: "a credential token (cnf: the caller's key)", Actual: "a token for an encryption key"}})
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
		})
	}
}

// bearer extracts the token from an Authorization header value. The scheme
// is case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, AuthScheme) {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authActual describes the Authorization header without quoting its
// credentials.
func authActual(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "absent"
	}
	scheme, _, _ := strings.Cut(h, " ")
	return "scheme " + clip(scheme)
}

// httpStatus maps a Verify error to a status and error code. Any refusal
// that makes the token unusable for this peer outranks policy refusals.
func httpStatus(err error) (int, string) {
	if errors.Is(err, ErrUnavailable) {
		return http.StatusServiceUnavailable, "unavailable"
	}
	for _, c := range []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid,
		ErrIssuer, ErrAudience, ErrNonce, ErrDraft, ErrConfirmation} {
		if errors.Is(err, c) {
			return http.StatusUnauthorized, "invalid_token"
		}
	}
	if errors.Is(err, ErrStatus) || errors.Is(err, ErrMeasurement) || errors.Is(err, ErrSimulation) {
		return http.StatusForbidden, "insufficient_attestation"
	}
	return http.StatusInternalServerError, "internal_error"
}

type reason struct {
	Check    string `json:"check"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Class    string `json:"class,omitempty"`
}

func reasonsOf(err error) []reason {
	rs := Refusals(err)
	if len(rs) == 0 {
		// ErrUnavailable and the like: say what, not the internals (the
		// URL and network error stay in the server's own logs).
		cls := Class(err)
		msg := "verification failed"
		if cls != nil {
			msg = cls.Error()
		}
		return []reason{{Check: "verification", Actual: msg}}
	}
	out := make([]reason, len(rs))
	for i, r := range rs {
		out[i] = reason{Check: r.Check, Expected: r.Expected, Actual: r.Actual}
		if c := Class(r); c != nil {
			out[i].Class = c.Error()
		}
	}
	return out
}

func writeError(w http.ResponseWriter, status int, code string, reasons []reason) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", AuthScheme+` error="invalid_token"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string   `json:"error"`
		Reasons []reason `json:"reasons"`
	}{code, reasons})
}

// verifiedCache remembers the tokens a RequireAttestation middleware
// accepted, per token and client certificate, so a caller's requests do not
// each pay a signature verification (~0.1–0.2 ms). An entry lasts at most
// verifiedTTL and never past the token's expiry: a key withdrawn from the
// JWKS stops admitting within verifiedTTL (RemoteJWKS itself caches the set
// for longer). Refusals are not cached. The claims are shared between
// requests: handlers must not modify them.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	claims *Claims
	until  time.Time
}

const (
	verifiedTTL     = time.Minute
	verifiedEntries = 4096 // bounded: a flood of distinct tokens empties it, never grows it
)

func verifiedKey(tok string, cert *x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(tok))
	h.Write([]byte{0})
	h.Write(cert.Raw)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (v *verifiedCache) get(tok string, cert *x509.Certificate, now time.Time) (*Claims, bool) {
	k := verifiedKey(tok, cert)
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[k]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(v.entries, k)
		return nil, false
	}
	return e.claims, true
}

func (v *verifiedCache) put(tok string, cert *x509.Certificate, c *Claims, now time.Time) {
	until := now.Add(verifiedTTL)
	if c.Expiry.Before(until) {
		until = c.Expiry
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= verifiedEntries {
		clear(v.entries)
	}
	v.entries[verifiedKey(tok, cert)] = verifiedEntry{claims: c, until: until}
}
