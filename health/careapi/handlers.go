package careapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

const (
	mediaJSON = "application/json"
	mediaFHIR = "application/fhir+json"
)

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r, "login", MaxJSONBody, mediaJSON)
	if err != nil {
		writeInvalid(w, err)
		return
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeStrict("login", b, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	acct, err := s.login(r.Context(), req.Username, req.Password)
	// Only a username that names an account is audited: people type
	// passwords into username fields.
	who := &user{sealed: viaGateway(r)}
	if a, ok := s.accounts[req.Username]; ok {
		who.name, who.role = a.Username, a.Role
	}
	switch {
	case errors.Is(err, errLocked):
		// Audited once per username and lock window: a locked account
		// hammered by a script must not grow the audit log per request.
		if !errors.Is(err, errLockedAgain) {
			if err := s.record(who, "login", "", "", "", outcomeDenied); err != nil {
				s.internal(w, r, "audit", err)
				return
			}
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(LoginWindow.Seconds())))
		writeError(w, r, http.StatusTooManyRequests, "throttled", "too many failed logins; try again later")
		return
	case errors.Is(err, errBadLogin):
		if err := s.record(who, "login", "", "", "", outcomeDenied); err != nil {
			s.internal(w, r, "audit", err)
			return
		}
		// One answer for unknown user and wrong password.
		writeError(w, r, http.StatusUnauthorized, "login", "wrong username or password")
		return
	case err != nil:
		s.internal(w, r, "login", err)
		return
	}
	// A login always starts a fresh session, and ends any session the
	// browser already had, so a session id planted before login (session
	// fixation) never becomes authenticated.
	if c, err := r.Cookie(CookieName); err == nil && validSessionID(c.Value) {
		if err := s.store.c.Delete(r.Context(), keySession(c.Value)); err != nil {
			s.internal(w, r, "delete old session", err)
			return
		}
	}
	id, csrf, err := s.startSession(r.Context(), acct)
	if err != nil {
		s.internal(w, r, "start session", err)
		return
	}
	if err := s.record(who, "login", "", "", "", outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	http.SetCookie(w, sessionCookie(id, 0))
	writeJSON(w, http.StatusOK, map[string]string{"user": acct.Username, "role": acct.Role.String(), "csrf": csrf})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, u *user) {
	if err := s.store.c.Delete(r.Context(), keySession(u.sessionID)); err != nil {
		s.internal(w, r, "delete session", err)
		return
	}
	if err := s.record(u, "logout", "", "", "", outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	http.SetCookie(w, sessionCookie("", -1))
	writeJSON(w, http.StatusOK, map[string]string{"status": "logged out"})
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, u *user) {
	if err := s.record(u, "read-audit", "", "", "", outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	entries, err := s.readAudit()
	if err != nil {
		s.internal(w, r, "read audit", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

func (s *Server) handleListPatients(w http.ResponseWriter, r *http.Request, u *user) {
	ids, resources, err := s.store.list(r.Context(), keyPatientIndex, keyPatient)
	if err != nil {
		s.internal(w, r, "list patients", err)
		return
	}
	if err := s.record(u, "list", "Patient", "", "", outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	writeBody(w, http.StatusOK, mediaFHIR, newBundle(ids, resources))
}

func (s *Server) handleCreatePatient(w http.ResponseWriter, r *http.Request, u *user) {
	b, err := readBody(w, r, "Patient", MaxJSONBody, mediaFHIR, mediaJSON)
	if err == nil {
		var p fhir.Patient
		if p, err = decodePatient(b, s.now()); err == nil {
			s.createPatient(w, r, u, p)
			return
		}
	}
	if rerr := s.record(u, "create", "Patient", "", "", outcomeInvalid); rerr != nil {
		s.internal(w, r, "audit", rerr)
		return
	}
	writeInvalid(w, err)
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request, u *user, p fhir.Patient) {
	id := uuid.NewString()
	p.Id = &id
	b, err := json.Marshal(p)
	if err != nil {
		s.internal(w, r, "marshal patient", err)
		return
	}
	err = s.store.addToIndex(r.Context(), keyPatientIndex, id, MaxPatients, keyPatient(id), b)
	if errors.Is(err, errFull) {
		writeError(w, r, http.StatusInsufficientStorage, "too-costly", "the patient registry is full")
		return
	}
	if err != nil {
		s.internal(w, r, "store patient", err)
		return
	}
	if err := s.record(u, "create", "Patient", id, id, outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	w.Header().Set("Location", "/fhir/Patient/"+id)
	writeBody(w, http.StatusCreated, mediaFHIR, json.RawMessage(b))
}

// patientExists looks a patient up; it answers the request itself (404,
// audited) when the patient is not there.
func (s *Server) patientExists(w http.ResponseWriter, r *http.Request, u *user, action, id string) bool {
	if validID(id) {
		_, err := s.store.get(r.Context(), keyPatient(id))
		if err == nil {
			return true
		}
		if !errors.Is(err, errNotFound) {
			s.internal(w, r, "read patient", err)
			return false
		}
	} else {
		id = "" // not an id this server issued: not worth recording
	}
	if err := s.record(u, action, "Patient", id, id, outcomeNotFound); err != nil {
		s.internal(w, r, "audit", err)
		return false
	}
	writeError(w, r, http.StatusNotFound, "not-found", "no such patient")
	return false
}

func (s *Server) handleReadPatient(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	if !s.patientExists(w, r, u, "read", id) {
		return
	}
	b, err := s.store.get(r.Context(), keyPatient(id))
	if err != nil {
		s.internal(w, r, "read patient", err)
		return
	}
	if err := s.record(u, "read", "Patient", id, id, outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	writeBody(w, http.StatusOK, mediaFHIR, json.RawMessage(b))
}

func (s *Server) handleCreateObservation(w http.ResponseWriter, r *http.Request, u *user) {
	b, err := readBody(w, r, "Observation", MaxJSONBody, mediaFHIR, mediaJSON)
	var o fhir.Observation
	var patient string
	if err == nil {
		o, patient, err = decodeObservation(b)
	}
	if err != nil {
		if rerr := s.record(u, "create", "Observation", "", "", outcomeInvalid); rerr != nil {
			s.internal(w, r, "audit", rerr)
			return
		}
		writeInvalid(w, err)
		return
	}
	if !s.patientExists(w, r, u, "create", patient) {
		return
	}
	id := uuid.NewString()
	o.Id = &id
	ob, err := json.Marshal(o)
	if err != nil {
		s.internal(w, r, "marshal observation", err)
		return
	}
	err = s.store.addToIndex(r.Context(), keyObservationIndex(patient), id, MaxObservationsPerPatient, keyObservation(id), ob)
	if errors.Is(err, errFull) {
		s.refuseFull(w, r, u, "create", "Observation", patient, MaxObservationsPerPatient, "observations")
		return
	}
	if err != nil {
		s.internal(w, r, "store observation", err)
		return
	}
	if err := s.record(u, "create", "Observation", id, patient, outcomeSuccess); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	w.Header().Set("Location", "/fhir/Observation/"+id)
	writeBody(w, http.StatusCreated, mediaFHIR, json.RawMessage(ob))
}

// handleSearch serves GET /fhir/<type>?subject=Patient/<id>, the only
// search this server supports.
func (s *Server) handleSearch(resourceType string, index, key func(string) string) func(http.ResponseWriter, *http.Request, *user) {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		q := r.URL.Query()
		subject := q.Get("subject")
		patient, ok := parsePatientRef(subject)
		if !ok || len(q) != 1 || len(q["subject"]) != 1 {
			writeInvalid(w, &InvalidError{Resource: resourceType, Field: "subject", Reason: `search needs exactly one parameter, subject=Patient/<id>`})
			return
		}
		if !s.patientExists(w, r, u, "search", patient) {
			return
		}
		ids, resources, err := s.store.list(r.Context(), index(patient), key)
		if err != nil {
			s.internal(w, r, "search", err)
			return
		}
		if err := s.record(u, "search", resourceType, "", patient, outcomeSuccess); err != nil {
			s.internal(w, r, "audit", err)
			return
		}
		writeBody(w, http.StatusOK, mediaFHIR, newBundle(ids, resources))
	}
}

// refuseFull answers 409 with an OperationOutcome naming the per-patient
// limit that a create would exceed, and audits the refusal.
func (s *Server) refuseFull(w http.ResponseWriter, r *http.Request, u *user, action, resourceType, patient string, limit int, what string) {
	if err := s.record(u, action, resourceType, "", patient, outcomeDenied); err != nil {
		s.internal(w, r, "audit", err)
		return
	}
	writeBody(w, http.StatusConflict, mediaFHIR, operationOutcome{ResourceType: "OperationOutcome",
		Issue: []issue{{Severity: "error", Code: "business-rule",
			Diagnostics: "the patient has " + strconv.Itoa(limit) + " " + what + ", the limit"}}})
}
