package attestd

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cofre-cc/cofre/appraise"
)

type adminKey struct{}

// admin wraps h with client-certificate authentication: the request must
// come over TLS with a client certificate that chains, at the injected
// clock, to Config.AdminCAs and allows client authentication. No
// certificate: 401. Any other certificate: 403.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			writeError(w, newError(http.StatusUnauthorized, CodeUnauthenticated, "admin endpoint: present a TLS client certificate from the admin CA"))
			return
		}
		leaf := r.TLS.PeerCertificates[0]
		if s.cfg.AdminCAs == nil {
			writeError(w, newError(http.StatusForbidden, CodeForbidden, "admin endpoint: no admin CA is configured"))
			return
		}
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{
			Roots:         s.cfg.AdminCAs,
			Intermediates: inter,
			CurrentTime:   s.now(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			s.log.Info("admin request refused", "subject", leaf.Subject.String(), "remote", remoteHost(r), "err", err)
			writeError(w, newError(http.StatusForbidden, CodeForbidden, "admin endpoint: client certificate does not chain to the admin CA"))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, leaf.Subject.String())))
	}
}

func adminOf(r *http.Request) string {
	s, _ := r.Context().Value(adminKey{}).(string)
	return s
}

// PolicyResponse is the body of a successful PUT /v1/policies/{name}.
type PolicyResponse struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	sp, aerr := s.storedPolicy(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("ETag", etag(sp))
	w.Header().Set("Content-Type", policyContentType(sp.Document))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(sp.Document)
}

// handlePutPolicy stores a policy. With If-Match it replaces only the
// version the admin last read (lost-update protection); with
// If-None-Match: * it only creates.
func (s *Server) handlePutPolicy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validPolicyName(name) {
		writeError(w, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("policy name: want 1 to %d characters of a-z, 0-9, '.', '_', '-'", maxPolicyName)))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("policy exceeds %d bytes", maxPolicyBody)))
			return
		}
		writeError(w, newError(http.StatusBadRequest, CodeBadRequest, "read body: "+err.Error()))
		return
	}
	sp, err := NewStoredPolicy(body)
	if err != nil {
		writeError(w, newError(http.StatusBadRequest, CodeInvalidPolicy, err.Error()))
		return
	}
	if sp.Policy.Name != name {
		writeError(w, newError(http.StatusBadRequest, CodeInvalidPolicy, fmt.Sprintf("%v: the document names policy %q, the URL %q", appraise.ErrInvalidPolicy, sp.Policy.Name, name)))
		return
	}
	// Check-then-write under one lock, so that If-Match means something
	// when two admins write at once.
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	old, err := s.cfg.Policies.Policy(r.Context(), name)
	if err != nil && !errors.Is(err, ErrPolicyNotFound) {
		s.log.Error("policy store", "err", err)
		writeError(w, newError(http.StatusInternalServerError, CodeInternal, "policy store unavailable"))
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && (old == nil || !etagMatch(m, old)) {
		writeError(w, newError(http.StatusPreconditionFailed, CodePrecondition, "the stored policy is not the version in If-Match"))
		return
	}
	if r.Header.Get("If-None-Match") == "*" && old != nil {
		writeError(w, newError(http.StatusPreconditionFailed, CodePrecondition, "a policy of this name exists (If-None-Match: *)"))
		return
	}
	sum := hex.EncodeToString(sp.SHA256[:])
	entry := &AuditEntry{AuditHeader: AuditHeader{Time: s.now()}, Event: EventPolicyPut, Policy: name, PolicySHA256: sum, Admin: adminOf(r), Remote: remoteHost(r)}
	if aerr := s.auditAdmin(entry); aerr != nil {
		writeError(w, aerr)
		return
	}
	if err := s.cfg.Policies.PutPolicy(r.Context(), sp); err != nil {
		s.log.Error("policy store", "err", err)
		s.auditAdminFailure(entry)
		writeError(w, newError(http.StatusInternalServerError, CodeInternal, "policy store unavailable"))
		return
	}
	s.log.Info("policy stored", "policy", name, "sha256", sum, "admin", adminOf(r))
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	w.Header().Set("ETag", etag(sp))
	writeJSON(w, status, PolicyResponse{Name: name, SHA256: sum})
}

func (s *Server) handleDeletePolicy(w http.ResponseWriter, r *http.Request) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	sp, aerr := s.storedPolicy(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && !etagMatch(m, sp) {
		writeError(w, newError(http.StatusPreconditionFailed, CodePrecondition, "the stored policy is not the version in If-Match"))
		return
	}
	name := sp.Policy.Name
	entry := &AuditEntry{AuditHeader: AuditHeader{Time: s.now()}, Event: EventPolicyDelete, Policy: name, PolicySHA256: hex.EncodeToString(sp.SHA256[:]), Admin: adminOf(r), Remote: remoteHost(r)}
	if aerr := s.auditAdmin(entry); aerr != nil {
		writeError(w, aerr)
		return
	}
	if err := s.cfg.Policies.DeletePolicy(r.Context(), name); err != nil {
		s.auditAdminFailure(entry)
		if errors.Is(err, ErrPolicyNotFound) {
			writeError(w, newError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no policy %q", name)))
			return
		}
		s.log.Error("policy store", "err", err)
		writeError(w, newError(http.StatusInternalServerError, CodeInternal, "policy store unavailable"))
		return
	}
	s.log.Info("policy deleted", "policy", name, "admin", adminOf(r))
	w.WriteHeader(http.StatusNoContent)
}

// auditAdmin records an admin change before it is made: no policy write,
// deletion or key rotation happens unless its entry is durable in the
// audit log. A broken log (or an entry it refuses) is answered 503 and the
// change is not made. The price: when the change itself then fails, the
// log holds an entry for a change that did not happen; auditAdminFailure
// adds a second entry saying so.
func (s *Server) auditAdmin(e *AuditEntry) *apiError {
	if err := s.cfg.Audit.Err(); err != nil {
		s.log.Error("audit log unavailable; admin change refused", "event", e.Event, "err", err)
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable; nothing changed")
	}
	if err := s.cfg.Audit.Append(e); err != nil {
		s.log.Error("audit log append failed; admin change refused", "event", e.Event, "err", err)
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable; nothing changed")
	}
	return nil
}

// auditAdminFailure records that the change audited as e failed after its
// entry was written: the same event with code "internal".
func (s *Server) auditAdminFailure(e *AuditEntry) {
	f := *e
	f.Time, f.Code = s.now(), CodeInternal
	if err := s.cfg.Audit.Append(&f); err != nil {
		s.log.Error("audit log append failed", "event", f.Event, "err", err)
	}
}

func (s *Server) storedPolicy(r *http.Request) (*StoredPolicy, *apiError) {
	name := r.PathValue("name")
	if !validPolicyName(name) {
		return nil, newError(http.StatusNotFound, CodeNotFound, "no such policy")
	}
	sp, err := s.cfg.Policies.Policy(r.Context(), name)
	if errors.Is(err, ErrPolicyNotFound) {
		return nil, newError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no policy %q", name))
	}
	if err != nil {
		s.log.Error("policy store", "err", err)
		return nil, newError(http.StatusInternalServerError, CodeInternal, "policy store unavailable")
	}
	return sp, nil
}

// RotateResponse is the body of POST /v1/keys/rotate.
type RotateResponse struct {
	KeyID string `json:"kid"`
}

func (s *Server) handleRotate(w http.ResponseWriter, r *http.Request) {
	s.rotateMu.Lock()
	kid, err := s.rotateLocked(r.Context(), adminOf(r))
	s.rotateMu.Unlock()
	if errors.Is(err, errAuditUnavailable) {
		writeError(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable; key not rotated"))
		return
	}
	if err != nil {
		writeError(w, newError(http.StatusInternalServerError, CodeInternal, "rotation failed; see the service log"))
		return
	}
	writeJSON(w, http.StatusOK, RotateResponse{KeyID: kid})
}

func etag(sp *StoredPolicy) string { return `"` + hex.EncodeToString(sp.SHA256[:]) + `"` }

func etagMatch(header string, sp *StoredPolicy) bool {
	want := etag(sp)
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == want || t == "*" {
			return true
		}
	}
	return false
}

func policyContentType(doc []byte) string {
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
		return "application/json"
	}
	return "application/yaml"
}
