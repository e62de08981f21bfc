package attestd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/internal/challenge"
	"github.com/cofre-cc/cofre/internal/httpmetrics"
	"github.com/cofre-cc/cofre/token"
)

// Config is everything a Server depends on. Fields marked non-nil are
// required; the others have the stated default when zero.
type Config struct {
	// Registry verifies evidence, one verifier per format. Non-nil.
	Registry *attest.Registry
	// Collateral is handed to the verifiers (attest.Options.Collateral):
	// the only way they reach vendor collateral. Nil: formats that need
	// collateral refuse their evidence (attest.ErrCollateral).
	Collateral collateral.Source
	// Policies holds the named appraisal policies. Non-nil.
	Policies PolicyStore

	// Keys signs tokens. Non-nil.
	Keys *token.KeySet
	// KeyStore saves Keys after every rotation. Nil: rotated keys live
	// only in memory (tests).
	KeyStore KeyStore
	// Algorithm is the algorithm of keys made by rotation. Default: the
	// current key's algorithm.
	Algorithm token.Algorithm
	// KeyOverlap is how long a rotated-out key stays in the JWKS. Default
	// 24h; it must be at least TokenLifetime, or tokens would outlive the
	// key that verifies them.
	KeyOverlap time.Duration
	// RotateEvery rotates the signing key periodically while Serve runs.
	// Zero: only on request (POST /v1/keys/rotate, or Rotate).
	RotateEvery time.Duration

	// Issuer is the service's https URL: the tokens' iss, and the base of
	// jwks_uri. Non-empty, without a trailing slash.
	Issuer string
	// VerifierID is ear.verifier-id's build in every token. Default
	// "cofre attestd".
	VerifierID string

	// TokenLifetime is each token's exp - iat. Default 5 minutes.
	TokenLifetime time.Duration
	// ChallengeLifetime is how long a nonce stays usable. Default 2
	// minutes.
	ChallengeLifetime time.Duration
	// MaxChallenges bounds the used nonces the service remembers until
	// they expire (replay protection); beyond it attestation requests
	// answer 503 until some expire. Issuing a challenge stores nothing
	// (nonces are self-authenticating), so challenges are not capped.
	// Default 1,000,000 (about 64 MB).
	MaxChallenges int

	// AdminCAs are the roots an admin client certificate must chain to.
	// Nil: every admin request is refused.
	AdminCAs *x509.CertPool

	// Audit receives an entry for every issuance and refusal, before the
	// client gets its answer. Non-nil.
	Audit *AuditLog

	// Clock returns the current time: token times, nonce expiry, evidence
	// and certificate validity. Nil: time.Now.
	Clock func() time.Time
	// Logger receives operational logs (never tokens, evidence or keys).
	// Nil: logs are discarded.
	Logger *slog.Logger
}

// Server is the attestation service. Create it with New.
type Server struct {
	cfg        Config
	issuer     *token.Issuer
	challenges *challenge.Challenges
	metrics    *metrics
	log        *slog.Logger
	mux        *http.ServeMux
	handler    http.Handler

	policyMu sync.Mutex // serializes policy writes (check If-Match, then write)

	rotateMu     sync.Mutex // serializes rotations and guards lastRotate
	lastRotate   time.Time
	shuttingDown atomic.Bool
}

// New checks cfg, fills its defaults and returns a Server. It has no side
// effects: nothing listens until Serve (or the caller serves Handler).
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.Registry == nil {
		errs = append(errs, errors.New("no Registry"))
	}
	if cfg.Policies == nil {
		errs = append(errs, errors.New("no Policies"))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("no Keys"))
	}
	if cfg.Audit == nil {
		errs = append(errs, errors.New("no Audit log"))
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Scheme != "https" || u.Host == "" || strings.HasSuffix(cfg.Issuer, "/") || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("issuer %q: want an https URL without a trailing slash, query or fragment", cfg.Issuer))
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = defaultTokenLifetime
	}
	if cfg.ChallengeLifetime == 0 {
		cfg.ChallengeLifetime = defaultChallengeLifetime
	}
	if cfg.KeyOverlap == 0 {
		cfg.KeyOverlap = defaultKeyOverlap
	}
	if cfg.MaxChallenges == 0 {
		cfg.MaxChallenges = defaultMaxChallenges
	}
	if cfg.TokenLifetime < 0 || cfg.ChallengeLifetime < 0 || cfg.MaxChallenges < 0 || cfg.RotateEvery < 0 || cfg.KeyOverlap < 0 {
		errs = append(errs, errors.New("negative duration or count"))
	}
	if cfg.KeyOverlap < cfg.TokenLifetime {
		errs = append(errs, fmt.Errorf("key overlap %v is shorter than the token lifetime %v: tokens would outlive their key", cfg.KeyOverlap, cfg.TokenLifetime))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("attestd: config: %w", errors.Join(errs...))
	}
	if cfg.VerifierID == "" {
		cfg.VerifierID = "cofre attestd"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Algorithm == token.AlgInvalid {
		_, cfg.Algorithm = cfg.Keys.Current()
	}
	s := &Server{
		cfg:        cfg,
		issuer:     token.NewIssuer(cfg.Keys),
		challenges: challenge.New(cfg.ChallengeLifetime, cfg.MaxChallenges),
		log:        cfg.Logger,
		lastRotate: cfg.Clock(),
	}
	s.metrics = newMetrics(s.challenges.Remembered)
	s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Clock() }

// routes registers every endpoint. Patterns double as the "route" metrics
// label.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/challenge", s.handleChallenge)
	m.HandleFunc("POST /v1/attest/{format}", s.handleAttest)
	m.HandleFunc("GET /.well-known/openid-configuration", s.handleOpenID)
	m.HandleFunc("GET /certs", s.handleCerts)
	m.HandleFunc("GET /v1/policies/{name}", s.admin(s.handleGetPolicy))
	m.HandleFunc("PUT /v1/policies/{name}", s.admin(s.handlePutPolicy))
	m.HandleFunc("DELETE /v1/policies/{name}", s.admin(s.handleDeletePolicy))
	m.HandleFunc("POST /v1/keys/rotate", s.admin(s.handleRotate))
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /metrics", s.metrics.handler())
	s.mux = m
	s.handler = http.HandlerFunc(s.serveHTTP)
}

// Handler returns the service's HTTP handler. Serve it over TLS with the
// configuration from TLSConfig, or admin requests cannot authenticate.
func (s *Server) Handler() http.Handler { return s.handler }

// serveHTTP measures every request and answers unknown routes and methods
// with JSON errors instead of the mux's plain text.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // latency is measured on the real clock, not the injected one
	rec := &httpmetrics.StatusRecorder{ResponseWriter: w}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// No route: let the mux decide between 404 and 405 (and set
		// Allow), then answer in JSON.
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			rec.Header().Set("Allow", allow)
		}
		if probe.code == http.StatusMethodNotAllowed {
			writeError(rec, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here"))
		} else {
			writeError(rec, newError(http.StatusNotFound, CodeNotFound, "no such endpoint"))
		}
		pattern = "unmatched"
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	s.metrics.req.Observe(pattern, rec.Code(), time.Since(start))
}

// probeWriter captures the status and headers of the mux's own 404/405.
type probeWriter struct {
	header http.Header
	code   int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.code = code }

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz reports whether the service can issue: not shutting down
// and the audit log still writable (without it the service issues
// nothing).
func (s *Server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	if s.shuttingDown.Load() {
		writeError(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "shutting down"))
		return
	}
	if err := s.cfg.Audit.Err(); err != nil {
		writeError(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Rotate makes a new signing key now, keeps the old one in the JWKS for
// KeyOverlap, audits the rotation and saves the key set (KeyStore). The
// audit entry is written first: if the audit log is down, nothing rotates.
func (s *Server) Rotate(ctx context.Context) (kid string, err error) {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	return s.rotateLocked(ctx, "")
}

// errAuditUnavailable: a rotation was not made because its audit entry
// could not be written first.
var errAuditUnavailable = errors.New("audit log unavailable")

// rotateLocked rotates, recording the rotation (with the new kid) in the
// audit log before the new key is installed: no key signs unless its
// rotation is on record. s.rotateMu must be held.
func (s *Server) rotateLocked(_ context.Context, admin string) (string, error) {
	now := s.now()
	if err := s.cfg.Audit.Err(); err != nil {
		s.log.Error("audit log unavailable; key not rotated", "err", err)
		return "", fmt.Errorf("attestd: rotate: %w: %w", errAuditUnavailable, err)
	}
	approve := func(kid string) error {
		if err := s.cfg.Audit.Append(&AuditEntry{AuditHeader: AuditHeader{Time: now}, Event: EventKeysRotate, KeyID: kid, Admin: admin}); err != nil {
			s.log.Error("audit log append failed; key not rotated", "event", EventKeysRotate, "err", err)
			return fmt.Errorf("%w: %w", errAuditUnavailable, err)
		}
		return nil
	}
	if err := s.cfg.Keys.RotateIf(s.cfg.Algorithm, now, s.cfg.KeyOverlap, approve); err != nil {
		return "", fmt.Errorf("attestd: rotate: %w", err)
	}
	s.lastRotate = now
	kid, alg := s.cfg.Keys.Current()
	if s.cfg.KeyStore != nil {
		if err := s.cfg.KeyStore.Save(s.cfg.Keys); err != nil {
			// The new key signs from now on but is not on disk: a restart
			// would bring back the old one. Say so loudly; the old key stays
			// valid for verification either way.
			s.log.Error("rotated signing key not saved", "kid", kid, "err", err)
			return kid, fmt.Errorf("attestd: rotate: save keys: %w", err)
		}
	}
	s.log.Info("signing key rotated", "kid", kid, "alg", alg.String(), "overlap", s.cfg.KeyOverlap)
	return kid, nil
}

// maybeRotate rotates if RotateEvery has passed since the last rotation.
func (s *Server) maybeRotate(ctx context.Context) {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	if s.cfg.RotateEvery <= 0 || s.now().Sub(s.lastRotate) < s.cfg.RotateEvery {
		return
	}
	if _, err := s.rotateLocked(ctx, ""); err != nil {
		s.log.Error("periodic key rotation failed", "err", err)
	}
}

// TLSConfig returns the TLS configuration Serve uses around cert: TLS 1.2
// or later, and client certificates requested but not verified during the
// handshake, so that ordinary clients need none and admin handlers can
// verify them against Config.AdminCAs (at the injected clock) and answer
// 401 or 403 in JSON instead of failing the handshake.
//
// Go's TLS server still checks that the client holds the certificate's
// private key (CertificateVerify) when one is sent.
func (s *Server) TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequestClientCert,
	}
}

// Serve serves the API over TLS on ln until ctx is done, then shuts down
// gracefully: it stops accepting, lets in-flight requests finish (up to
// 10 s) and returns. While it runs it rotates the signing key every
// Config.RotateEvery.
func (s *Server) Serve(ctx context.Context, ln net.Listener, cert tls.Certificate) error {
	hs := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.TLSConfig(cert),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	defer close(done)
	shutdownErr := make(chan error, 1)
	go func() {
		var tick <-chan time.Time
		if s.cfg.RotateEvery > 0 {
			// Check often relative to the period; the check itself reads
			// the injected clock.
			t := time.NewTicker(min(s.cfg.RotateEvery/10+time.Second, time.Minute))
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-tick:
				s.maybeRotate(ctx)
			case <-done:
				shutdownErr <- nil
				return
			case <-ctx.Done():
				s.shuttingDown.Store(true)
				sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
				defer cancel()
				shutdownErr <- hs.Shutdown(sctx)
				return
			}
		}
	}()
	err := hs.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return <-shutdownErr
	}
	return err
}
