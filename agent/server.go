package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// Config is everything a Server depends on. Fields marked non-nil are
// required; the others have the stated default when zero.
type Config struct {
	// Platform is the node's sim platform: its key signs every report.
	// Non-nil, with a key matching the first certificate of its chain.
	Platform *sim.Platform
	// Logger receives operational messages (never request bodies). Nil:
	// discarded.
	Logger *slog.Logger
	// Clock returns the current time: report timestamps and readiness
	// (is the platform certificate valid?). Nil: time.Now.
	Clock func() time.Time
	// MaxBody bounds a request body, in bytes. Default 4 KiB.
	MaxBody int64
}

// Server is a node agent. It keeps no state besides its configuration and
// metrics, and is safe for concurrent use.
type Server struct {
	platform *sim.Platform
	info     PlatformInfo // immutable after New
	log      *slog.Logger
	clock    func() time.Time
	maxBody  int64
	metrics  *metrics
}

// New checks cfg and returns a server. It starts nothing.
func New(cfg Config) (*Server, error) {
	p := cfg.Platform
	if p == nil || p.Key == nil || len(p.Chain) == 0 {
		return nil, errors.New("agent: Config.Platform needs a key and a certificate chain")
	}
	if !p.Key.PublicKey.Equal(p.Chain[0].PublicKey) {
		return nil, errors.New("agent: platform key does not match its certificate")
	}
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("agent: Config.MaxBody is %d", cfg.MaxBody)
	}
	s := &Server{platform: p, log: cfg.Logger, clock: cfg.Clock, maxBody: cfg.MaxBody}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.maxBody == 0 {
		s.maxBody = defaultMaxBody
	}
	leaf := p.Chain[0]
	s.info = PlatformInfo{
		Format:       attest.FormatSim,
		PlatformID:   p.ID(),
		PlatformName: leaf.Subject.SerialNumber,
		Simulation:   true,
		NotAfter:     leaf.NotAfter.UTC(),
	}
	if last := p.Chain[len(p.Chain)-1]; len(p.Chain) > 1 && last.IsCA && last.CheckSignatureFrom(last) == nil {
		sum := sha256.Sum256(last.Raw)
		s.info.RootSHA256 = sum[:]
	}
	s.metrics = newMetrics()
	return s, nil
}

// Platform describes the server's platform, as GET /v1/platform does.
func (s *Server) Platform() PlatformInfo {
	info := s.info
	info.PlatformID = append(attest.Hex(nil), info.PlatformID...)
	info.RootSHA256 = append(attest.Hex(nil), info.RootSHA256...)
	return info
}

// Handler returns the agent's HTTP API (docs/api/agent.yaml).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(method, path, name string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(method+" "+path, s.metrics.instrument(name, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
			if err := h(w, r); err != nil {
				s.writeError(w, err)
			}
		}))
		// Without this, ServeMux answers a wrong method with plain text;
		// every error of this API is JSON.
		mux.Handle(path, s.metrics.instrument(name, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", method)
			s.writeError(w, &apiError{http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use " + method})
		}))
	}
	route(http.MethodGet, PathHealth, "healthz", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	route(http.MethodGet, PathReady, "readyz", s.handleReady)
	route(http.MethodGet, PathPlatform, "platform", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, s.info)
		return nil
	})
	route(http.MethodPost, PathEvidence, "evidence", s.handleEvidence)
	mux.Handle("GET "+PathMetrics, s.metrics.handler())
	mux.Handle(PathMetrics, s.metrics.instrument("metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		s.writeError(w, &apiError{http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use GET"})
	}))
	mux.Handle("/", s.metrics.instrument("other", func(w http.ResponseWriter, _ *http.Request) {
		s.writeError(w, &apiError{http.StatusNotFound, CodeNotFound, "no such endpoint"})
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderSimulation, "true")
		// Evidence is bound to one nonce; no cache may replay an answer.
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// handleReady answers 503 while the platform chain is outside its
// validity at the server's clock: evidence signed then is refused by every
// verifier, so launchers should not be scheduled here.
func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) error {
	now := s.clock()
	for _, c := range s.platform.Chain {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return &apiError{http.StatusServiceUnavailable, CodeUnavailable, fmt.Sprintf(
				"platform certificate %q is valid %s..%s, not at %s", c.Subject.CommonName,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) handleEvidence(w http.ResponseWriter, r *http.Request) error {
	// Requiring application/json makes a browser send a CORS preflight,
	// which this API never answers, so a web page cannot drive an agent
	// reachable over TCP with a "simple" cross-site POST.
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return &apiError{http.StatusBadRequest, CodeBadRequest, "body: read failed"}
	}
	req, err := decodeEvidenceRequest(body)
	if err != nil {
		s.metrics.evidence.WithLabelValues("refused").Inc()
		return err
	}
	p := &sim.Producer{
		Platform:    s.platform,
		Measurement: req.Measurement,
		Signer:      req.Signer,
		ProductID:   req.ProductID,
		SVN:         req.SVN,
		Now:         s.clock,
	}
	ev, err := p.Produce(r.Context(), [attest.ReportDataSize]byte(req.ReportData))
	if err != nil {
		s.metrics.evidence.WithLabelValues("failed").Inc()
		return fmt.Errorf("produce: %w", err)
	}
	s.metrics.evidence.WithLabelValues("produced").Inc()
	// Neither value is secret: the measurement is a digest of a binary and
	// the report data a hash.
	s.log.Debug("evidence produced", "measurement", attest.Hex(req.Measurement), "report_data", attest.Hex(req.ReportData))
	writeJSON(w, http.StatusOK, evidenceResponse{Format: ev.Format, Data: ev.Payload, Simulation: true})
	return nil
}

// apiError is an answer other than 200: status, code and a message safe
// to show.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func (s *Server) writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, errInvalid):
		ae = &apiError{http.StatusBadRequest, CodeBadRequest, err.Error()}
	default:
		// The cause may name internals; it is logged, not sent.
		s.log.Error("request failed", "err", err)
		ae = &apiError{http.StatusInternalServerError, CodeInternal, "internal error; see the agent's log"}
	}
	writeJSON(w, ae.status, errorBody{Code: ae.code, Message: ae.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves the API (plain HTTP: the socket's permissions, not TLS,
// decide who may ask, and evidence needs no secrecy) on ln until ctx ends,
// then shuts down gracefully, waiting up to 10 s for requests in flight.
// It closes ln. A nil return means ctx ended and shutdown completed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("agent: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("agent: serve: %w", err)
	}
	return nil
}
