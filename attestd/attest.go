package attestd

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/internal/challenge"
	"github.com/cofre-cc/cofre/token"
)

// A challenge is the nonce that evidence binds into its report data.
var _ [attest.NonceSize]byte = [challenge.Size]byte{}

func (s *Server) handleChallenge(w http.ResponseWriter, _ *http.Request) {
	n, exp := s.challenges.Issue(s.now())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ChallengeResponse{Nonce: n[:], ExpiresAt: exp.UTC().Format(time.RFC3339)})
}

// handleAttest runs one attestation and audits its outcome, whatever it is.
func (s *Server) handleAttest(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	entry := &AuditEntry{AuditHeader: AuditHeader{Time: now}, Format: trunc(r.PathValue("format")), Remote: remoteHost(r)}
	out, aerr := s.attest(r.Context(), w, r, now, entry)
	if aerr != nil {
		entry.Event = EventRefuse
		entry.Code = aerr.body.Code
		entry.Reasons = aerr.body.Reasons
		if entry.Status == "" {
			entry.Status = aerr.body.Status
		}
		s.metrics.refusals.WithLabelValues(string(aerr.body.Code)).Inc()
		if err := s.cfg.Audit.Append(entry); err != nil {
			// The refusal still goes out (it grants nothing), but the
			// service is no longer ready and issues nothing more.
			s.log.Error("audit log append failed", "event", EventRefuse, "err", err)
		}
		s.log.Info("attestation refused", "code", aerr.body.Code, "format", entry.Format, "policy", entry.Policy, "reasons", len(aerr.body.Reasons), "remote", entry.Remote)
		writeError(w, aerr)
		return
	}
	if out.draft != nil {
		entry.Event = EventDraft
		if err := s.cfg.Audit.Append(entry); err != nil {
			s.log.Error("audit log append failed; draft withheld", "event", EventDraft, "err", err)
			writeError(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable; no appraisal given"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, out.draft)
		return
	}
	tok := out.token
	entry.Event = EventIssue
	entry.TokenSHA256 = hashHex([]byte(tok))
	entry.KeyID = tokenKeyID(tok)
	if err := s.cfg.Audit.Append(entry); err != nil {
		// Fail closed: a token whose issuance is not on record is not
		// handed out.
		s.log.Error("audit log append failed; token withheld", "event", EventIssue, "err", err)
		writeError(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "audit log unavailable; no token issued"))
		return
	}
	s.log.Debug("token issued", "format", entry.Format, "policy", entry.Policy, "status", entry.Status, "tee", entry.TEE, "kid", entry.KeyID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, AttestResponse{Token: tok})
}

// outcome is what a successful attestation answers: a signed token, or,
// for a draft, the appraisal as plain JSON (never a token).
type outcome struct {
	token string
	draft *DraftResponse
}

// piece is one piece of evidence on its way to a submodule.
type piece struct {
	submod string
	ev     attest.Evidence
	claims *attest.Claims
	result *appraise.Result
}

// attest does the work of POST /v1/attest/{format}, recording what it
// learns in entry (never secrets: hashes of evidence, nonce and runtime
// data).
func (s *Server) attest(ctx context.Context, w http.ResponseWriter, r *http.Request, now time.Time, entry *AuditEntry) (*outcome, *apiError) {
	q := r.URL.Query()
	draft, err := parseBool(q.Get("draft"))
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "draft: "+err.Error())
	}
	entry.Draft = draft
	profile := token.ProfileEAR
	if p := q.Get("profile"); p != "" {
		if profile, err = token.ParseProfile(p); err != nil {
			return nil, newError(http.StatusBadRequest, CodeBadRequest, "profile: want ear or maa")
		}
	}
	entry.Profile = profile.String()
	if draft && profile != token.ProfileEAR {
		// A draft answers no token, so a token profile means nothing;
		// refused so that no client believes it got an MAA-shaped answer.
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "profile=maa and draft=1 exclude each other: a draft answers no token")
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAttestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("body exceeds %d bytes", maxAttestBody))
		}
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "read body: "+err.Error())
	}
	req, err := decodeAttestRequest(body)
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, err.Error())
	}
	entry.Policy = req.Policy
	entry.NonceSHA256 = hashHex(req.Nonce)
	if req.RuntimeData != nil {
		entry.RuntimeDataSHA256 = hashHex(req.RuntimeData)
	}
	entry.EvidenceSHA256 = append(entry.EvidenceSHA256, hashHex(req.Evidence))
	for _, p := range req.Parts {
		entry.Parts = append(entry.Parts, p.Format)
		entry.EvidenceSHA256 = append(entry.EvidenceSHA256, hashHex(p.Evidence))
	}

	// Freshness first: from here on the nonce is spent, whatever happens.
	switch err := s.challenges.Consume(req.Nonce, now); {
	case errors.Is(err, challenge.ErrExpired):
		return nil, newError(http.StatusForbidden, CodeNonceExpired, "nonce expired: request a new challenge")
	case errors.Is(err, challenge.ErrTooMany):
		e := newError(http.StatusServiceUnavailable, CodeUnavailable, "too many attestations in flight; retry shortly")
		e.retryAfter = 1
		return nil, e
	case err != nil:
		return nil, newError(http.StatusForbidden, CodeNonceUnknown, "nonce unknown or already used: request a new challenge")
	}

	pieces, aerr := s.pieces(r.PathValue("format"), req)
	if aerr != nil {
		return nil, aerr
	}
	policy, aerr := s.policy(ctx, req, draft, entry)
	if aerr != nil {
		return nil, aerr
	}
	cnf, err := confirmation(req.RuntimeData)
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "runtime_data: "+err.Error())
	}

	// Genuineness and binding of every piece; every failure is reported.
	opts := attest.Options{Now: now, Collateral: s.cfg.Collateral}
	var refused, unbound []Reason
	for _, p := range pieces {
		c, err := s.cfg.Registry.Verify(ctx, p.ev, opts)
		if err != nil {
			refused = append(refused, verifierReasons(p.submod, err)...)
			continue
		}
		p.claims = c
		if err := attest.CheckBinding(c, req.Nonce, req.RuntimeData, nil); err != nil {
			unbound = append(unbound, verifierReasons(p.submod, err)...)
		}
	}
	if len(refused) > 0 {
		e := newError(http.StatusForbidden, CodeEvidenceRefused, "evidence refused: it is not genuine")
		e.body.Reasons = append(refused, unbound...)
		return nil, e
	}
	if len(unbound) > 0 {
		e := newError(http.StatusForbidden, CodeBindingMismatch, "evidence does not bind this nonce and runtime_data")
		e.body.Reasons = unbound
		return nil, e
	}
	primary := pieces[0].claims
	entry.TEE = primary.TEE.String()
	entry.Measurement = primary.Measurement.String()

	// Appraisal of every piece under the one policy.
	submods := make(map[string]token.Submod, len(pieces))
	var reasons []Reason
	for _, p := range pieces {
		p.result = appraise.Appraise(p.claims, policy, now)
		submods[p.submod] = token.NewSubmod(p.claims, p.result)
		if !p.result.Accepted() {
			reasons = append(reasons, appraisalReasons(p.submod, p.result.Reasons)...)
		}
	}
	if draft {
		// A draft answers the appraisal itself, whatever its verdict, as
		// plain JSON: no token, no signature. Drafts are unauthenticated
		// and take any policy, so anything signed with a key in /certs
		// would be a token a relying party that ignores cofre.draft (a
		// generic JWT library, an MAA-profile client) could accept.
		d := &DraftResponse{Draft: true, Policy: policy.Name, Submods: make(map[string]DraftSubmod, len(pieces))}
		for _, p := range pieces {
			d.Submods[p.submod] = DraftSubmod{Status: p.result.Status.String(), Vector: p.result.Vector, Reasons: appraisalReasons(p.submod, p.result.Reasons), Claims: p.claims}
		}
		status := (&token.Claims{Submods: submods}).Status()
		d.Status = status.String()
		entry.Status = d.Status
		entry.Reasons = reasons
		s.metrics.verdicts.WithLabelValues(status.String()).Inc()
		return &outcome{draft: d}, nil
	}
	claims := &token.Claims{
		Issuer:       s.cfg.Issuer,
		IssuedAt:     now,
		Expiry:       now.Add(s.cfg.TokenLifetime),
		Nonce:        req.Nonce,
		VerifierID:   s.cfg.VerifierID,
		Submods:      submods,
		Confirmation: cnf,
		Profile:      profile,
	}
	status := claims.Status()
	entry.Status = status.String()
	s.metrics.verdicts.WithLabelValues(status.String()).Inc()
	if len(reasons) > 0 {
		// The reasons and nothing to present.
		e := newError(http.StatusForbidden, CodePolicyRefused, fmt.Sprintf("appraisal under policy %q: %s", policy.Name, status))
		e.body.Status = status.String()
		e.body.Reasons = reasons
		return nil, e
	}
	if status != ear.TrustTierAffirming && status != ear.TrustTierWarning {
		return nil, newError(http.StatusForbidden, CodePolicyRefused, "appraisal status "+status.String())
	}
	tok, err := s.issuer.Issue(claims)
	if err != nil {
		s.log.Error("token issue failed", "err", err)
		return nil, newError(http.StatusInternalServerError, CodeInternal, "could not issue the token")
	}
	return &outcome{token: tok}, nil
}

// pieces names the evidence: the main evidence is cpu0 (the workload's CPU
// TEE, which every token has); parts are named by the kind of TEE their
// format attests: gpu0, gpu1… for GPUs, cpu1… for further CPU TEEs, part0…
// for anything else.
func (s *Server) pieces(format string, req *AttestRequest) ([]*piece, *apiError) {
	known := func(f string) bool {
		_, ok := s.cfg.Registry.Verifier(f)
		return ok && len(f) <= maxFormatName
	}
	if !known(format) {
		return nil, newError(http.StatusNotFound, CodeUnsupportedFormat, fmt.Sprintf("no verifier for format %q", trunc(format)))
	}
	if token.SubmodKind(format) == "gpu" {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s evidence attests a GPU: send it in parts, next to the CPU TEE's evidence", format))
	}
	formats := make([]string, len(req.Parts))
	for i, p := range req.Parts {
		if !known(p.Format) {
			return nil, newError(http.StatusNotFound, CodeUnsupportedFormat, fmt.Sprintf("parts[%d]: no verifier for format %q", i, trunc(p.Format)))
		}
		formats[i] = p.Format
	}
	names := token.SubmodNames(formats)
	out := []*piece{{submod: names[0], ev: attest.Evidence{Format: format, Payload: req.Evidence}}}
	for i, p := range req.Parts {
		out = append(out, &piece{submod: names[i+1], ev: attest.Evidence{Format: p.Format, Payload: p.Evidence}})
	}
	return out, nil
}

// policy finds the request's policy: the stored one it names, or its
// draft, which is parsed and used once and never stored.
func (s *Server) policy(ctx context.Context, req *AttestRequest, draft bool, entry *AuditEntry) (*appraise.Policy, *apiError) {
	if draft {
		if req.DraftPolicy == "" {
			return nil, newError(http.StatusBadRequest, CodeBadRequest, "draft=1 needs draft_policy in the body")
		}
		if req.Policy != "" {
			return nil, newError(http.StatusBadRequest, CodeBadRequest, "policy and draft_policy exclude each other")
		}
		if len(req.DraftPolicy) > maxPolicyBody {
			return nil, newError(http.StatusBadRequest, CodeInvalidPolicy, fmt.Sprintf("draft_policy exceeds %d bytes", maxPolicyBody))
		}
		p, err := appraise.ParsePolicy([]byte(req.DraftPolicy))
		if err != nil {
			return nil, newError(http.StatusBadRequest, CodeInvalidPolicy, err.Error())
		}
		// The policy id says "draft" too, so that no log or token reader
		// mistakes it for a stored policy of the same name.
		d := *p
		d.Name = "draft:" + p.Name
		entry.Policy = d.Name
		entry.PolicySHA256 = hashHex([]byte(req.DraftPolicy))
		return &d, nil
	}
	if req.DraftPolicy != "" {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "draft_policy needs ?draft=1")
	}
	if req.Policy == "" {
		return nil, newError(http.StatusBadRequest, CodeBadRequest, "policy is missing")
	}
	sp, err := s.cfg.Policies.Policy(ctx, req.Policy)
	if errors.Is(err, ErrPolicyNotFound) {
		return nil, newError(http.StatusNotFound, CodeUnknownPolicy, fmt.Sprintf("no policy %q", req.Policy))
	}
	if err != nil {
		s.log.Error("policy store", "err", err)
		return nil, newError(http.StatusInternalServerError, CodeInternal, "policy store unavailable")
	}
	entry.PolicySHA256 = hex.EncodeToString(sp.SHA256[:])
	return sp.Policy, nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errors.New("want 1, true, 0 or false")
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// tokenKeyID reads the kid from a token this server just signed.
func tokenKeyID(tok string) string {
	hdr, _, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(b, &h)
	return h.Kid
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// trunc shortens a client-supplied string quoted in an error.
func trunc(s string) string {
	if len(s) > maxFormatName {
		return s[:maxFormatName] + "…"
	}
	return s
}
