package careapi

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cofre-cc/cofre/internal/auditlog"
)

// Server is the care API. Create it with New; it is safe for concurrent
// use.
type Server struct {
	cfg         Config
	store       *store
	accounts    map[string]account
	dummyHash   *passwordHash
	limiter     *limiter
	hashSlots   chan struct{} // semaphore: argon2id computations in flight
	hashes      atomic.Uint64 // argon2id computations run by login (tests count them)
	replay      *replayCache
	audit       *auditlog.Log
	auditPath   string
	auditSigner crypto.Signer
	now         func() time.Time
	log         *slog.Logger
	mux         *http.ServeMux // the routes, reached directly or through the gateway
}

type account struct {
	Account
	hash *passwordHash
}

// New checks cfg, opens the audit log and returns a Server. It does not
// contact Redis (see /readyz).
func New(cfg Config) (*Server, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if err := checkAccounts(cfg.Accounts); err != nil {
		errs = append(errs, err)
	}
	if cfg.Store == nil {
		bad("Store is nil")
	}
	if cfg.SealKey == nil && !cfg.AllowPlain {
		// Without the key no request could arrive sealed, and without
		// AllowPlain no plain one is accepted: nothing would work.
		bad("SealKey is nil and AllowPlain is false")
	}
	if cfg.HPKEToken == nil || cfg.TLSToken == nil {
		bad("HPKEToken or TLSToken is nil")
	}
	if cfg.Diagnoser == nil {
		bad("Diagnoser is nil")
	}
	if cfg.DiagnoseTimeout < 0 {
		bad("DiagnoseTimeout is negative")
	}
	if cfg.AuditPath == "" {
		bad("AuditPath is empty")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.DiagnoseTimeout == 0 {
		cfg.DiagnoseTimeout = DefaultDiagnoseTimeout
	}
	s := &Server{
		cfg:         cfg,
		store:       &store{c: cfg.Store}, // log set below
		accounts:    map[string]account{},
		limiter:     newLimiter(MaxLoginBuckets),
		replay:      newReplayCache(MaxReplayNonces),
		hashSlots:   make(chan struct{}, MaxConcurrentHashes),
		auditPath:   cfg.AuditPath,
		auditSigner: cfg.AuditSigner,
		now:         cfg.Now,
		log:         cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.store.log = s.log
	for _, a := range cfg.Accounts {
		h, _ := parseHash(a.PasswordHash) // checked by checkAccounts
		s.accounts[a.Username] = account{Account: a, hash: h}
	}
	// The dummy hash that unknown usernames are checked against uses the
	// first account's parameters, so it costs what a real check costs.
	first := s.accounts[cfg.Accounts[0].Username].hash
	dummy, err := hashWith("", first.params)
	if err != nil {
		return nil, err
	}
	s.dummyHash, _ = parseHash(dummy)

	var opts auditlog.Options
	if cfg.AuditSigner != nil {
		opts.Signer = cfg.AuditSigner
		opts.Verify.RequireSignatures = true
	}
	opts.Verify.NewEntry = func() auditlog.Entry { return &AuditEntry{} }
	if s.audit, err = auditlog.Open(cfg.AuditPath, opts); err != nil {
		return nil, fmt.Errorf("careapi: %w", err)
	}
	s.routes()
	return s, nil
}

// Close closes the audit log. It does not close Config.Store.
func (s *Server) Close() error {
	return s.audit.Close()
}

// Handler returns the HTTP handler: the sealed gateway, the plain-request
// guard, and the routes. Mount it at the root of an HTTPS server with
// timeouts; request bodies are bounded here.
func (s *Server) Handler() http.Handler {
	outer := http.NewServeMux()
	outer.HandleFunc("POST /api/sealed", s.handleSealed)
	outer.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	outer.HandleFunc("GET /readyz", s.handleReady)
	outer.Handle("/", s.guardPlain(s.mux))
	return outer
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/attestation", s.handleAttestation)
	m.HandleFunc("POST /api/login", s.handleLogin)
	m.HandleFunc("POST /api/logout", s.authed(anyRole, s.handleLogout))
	m.HandleFunc("GET /api/audit", s.authed(adminOnly, s.handleAudit))
	m.HandleFunc("GET /fhir/Patient", s.authed(anyRole, s.handleListPatients))
	m.HandleFunc("POST /fhir/Patient", s.authed(anyRole, s.handleCreatePatient))
	m.HandleFunc("GET /fhir/Patient/{id}", s.authed(anyRole, s.handleReadPatient))
	m.HandleFunc("POST /fhir/Observation", s.authed(anyRole, s.handleCreateObservation))
	m.HandleFunc("GET /fhir/Observation", s.authed(anyRole, s.handleSearch("Observation", keyObservationIndex, keyObservation)))
	m.HandleFunc("GET /fhir/DiagnosticReport", s.authed(anyRole, s.handleSearch("DiagnosticReport", keyReportIndex, keyReport)))
	m.HandleFunc("POST /api/patients/{id}/images", s.authed(anyRole, s.handleUploadImage))
	m.HandleFunc("POST /api/patients/{id}/diagnose", s.authed(anyRole, s.handleDiagnose))
	s.mux = m
}

// ctxKey marks a request that arrived through the sealed gateway. Only
// the gateway sets it, after opening the sealed body, so no outer request
// can claim it.
type ctxKey struct{}

func viaGateway(r *http.Request) bool {
	v, _ := r.Context().Value(ctxKey{}).(bool)
	return v
}

// guardPlain refuses plain requests unless AllowPlain. It is deny by
// default: everything but the attestation endpoint must be sealed (the
// gateway, health endpoints and their routes are outside this guard).
func (s *Server) guardPlain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AllowPlain || r.URL.Path == "/api/attestation" {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, r, http.StatusForbidden, "forbidden",
			"plain requests are refused: seal the request to the key in the attestation token and POST it to /api/sealed")
	})
}

// user is an authenticated caller.
type user struct {
	name      string
	role      Role
	sessionID string
	sealed    bool
}

var (
	anyRole   = []Role{RoleClinician, RoleAdmin}
	adminOnly = []Role{RoleAdmin}
)

// authed wraps h with session authentication, the CSRF check and the role
// check. The CSRF token is required on every state-changing request, and
// on every request that came through the gateway: there the session
// cookie travels in the outer, unsealed headers a TLS-terminating proxy
// can read, while the CSRF token only ever travels sealed (in the login
// response and inner headers), so requiring it makes a stolen cookie
// useless on its own, for reads too.
func (s *Server) authed(roles []Role, h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, sess, err := s.loadSession(r.Context(), r)
		if errors.Is(err, errNoSession) {
			writeError(w, r, http.StatusUnauthorized, "login", "authentication required")
			return
		}
		if err != nil {
			s.internal(w, r, "load session", err)
			return
		}
		u := &user{name: sess.User, role: sess.Role, sessionID: id, sealed: viaGateway(r)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead || u.sealed {
			if err := checkCSRF(r, sess); err != nil {
				writeError(w, r, http.StatusForbidden, "forbidden", "missing or wrong "+CSRFHeader)
				return
			}
		}
		permitted := false
		for _, role := range roles {
			permitted = permitted || role == sess.Role
		}
		if !permitted {
			if err := s.record(u, "access "+r.Pattern, "", "", "", outcomeDenied); err != nil {
				s.internal(w, r, "audit", err)
				return
			}
			writeError(w, r, http.StatusForbidden, "forbidden", "role "+sess.Role.String()+" may not do this")
			return
		}
		h(w, r, u)
	}
}

// record appends an audit entry. Callers fail the request if it fails:
// an access that cannot be audited does not happen.
func (s *Server) record(u *user, action, resourceType, resourceID, patient, outcome string) error {
	e := &AuditEntry{Action: action, ResourceType: resourceType, ResourceID: resourceID, Patient: patient, Outcome: outcome}
	if u != nil {
		e.User, e.Role, e.Sealed = u.name, u.role.String(), u.sealed
	}
	_, err := s.audit.Append(s.now(), e)
	return err
}

// internal answers 500 and logs the error. Errors from the store and the
// audit log carry no PHI (the cache never puts keys or values in errors).
func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("careapi: "+what, "route", r.Pattern, "err", err)
	writeError(w, r, http.StatusInternalServerError, "exception", "internal error")
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("careapi: not ready: store", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	if err := s.audit.Err(); err != nil {
		s.log.Warn("careapi: not ready: audit log", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "audit log unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleAttestation(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"token": s.cfg.HPKEToken(), "tls_token": s.cfg.TLSToken()})
}

// writeJSON writes v as JSON. Every answer may carry patient data, so
// none may be cached by the browser or a proxy.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers an error: an OperationOutcome under /fhir/, a JSON
// {"error"} elsewhere. code is the FHIR issue type. msg must hold no PHI.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if isFHIR(r) {
		writeBody(w, status, "application/fhir+json", operationOutcome{ResourceType: "OperationOutcome",
			Issue: []issue{{Severity: "error", Code: code, Diagnostics: msg}}})
		return
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func isFHIR(r *http.Request) bool {
	return len(r.URL.Path) >= 6 && r.URL.Path[:6] == "/fhir/"
}

// writeInvalid answers 400 with one OperationOutcome issue per refused
// field. The diagnostics name fields, never values.
func writeInvalid(w http.ResponseWriter, err error) {
	oo := operationOutcome{ResourceType: "OperationOutcome"}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ie *InvalidError
		if errors.As(err, &ie) {
			oo.Issue = append(oo.Issue, issue{Severity: "error", Code: "invalid", Diagnostics: ie.diagnostics()})
		}
	}
	walk(err)
	if len(oo.Issue) == 0 {
		oo.Issue = []issue{{Severity: "error", Code: "invalid", Diagnostics: "invalid input"}}
	}
	writeBody(w, http.StatusBadRequest, "application/fhir+json", oo)
}

// readBody reads r's body up to limit bytes after checking its media
// type is one of types. The returned error is an *InvalidError.
func readBody(w http.ResponseWriter, r *http.Request, resource string, limit int64, types ...string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ok := false
	for _, t := range types {
		ok = ok || (err == nil && mt == t)
	}
	if !ok {
		// A JSON media type is also a CSRF defence: a cross-site form
		// cannot send one without a CORS preflight this server never
		// grants.
		return nil, &InvalidError{Resource: resource, Reason: "Content-Type must be " + types[0]}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &InvalidError{Resource: resource, Reason: fmt.Sprintf("body exceeds %d bytes", limit)}
	}
	if err != nil {
		return nil, &InvalidError{Resource: resource, Reason: "body could not be read"}
	}
	return b, nil
}
