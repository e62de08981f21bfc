package careapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/cofre-cc/cofre/sealed"
)

// GatewayContext is the sealed-message context of the gateway: a sealed
// body is bound to this endpoint and opens nowhere else.
const GatewayContext = "POST /api/sealed"

// innerRequest is the plaintext of a sealed request.
type innerRequest struct {
	// Method is GET or POST.
	Method string `json:"method"`
	// Path is the path and optional query, under /api/ or /fhir/.
	Path string `json:"path"`
	// Headers: only Content-Type and X-CSRF-Token are used.
	Headers map[string]string `json:"headers"`
	// Body is the inner body, base64 (standard, padded); absent for GET.
	Body []byte `json:"body"`
	// Nonce is 16 random bytes as unpadded base64url (22 characters),
	// fresh for every request: the gateway refuses one it has seen
	// within the clock window (see replayCache). Required.
	Nonce string `json:"nonce"`
	// TS is the sender's clock in Unix milliseconds; the gateway
	// refuses one more than MaxClockSkew from its own. Required (a
	// pointer, so that absent and zero differ).
	TS *int64 `json:"ts"`
}

// innerResponse is the plaintext of a sealed response.
type innerResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

// pathChars are the bytes an inner path may hold: what this server's
// routes and ids use. No percent-encoding, so the path checked here is
// the path routed.
func pathChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-_.", c) >= 0
}

// queryChar is what a query may hold: search parameters such as
// subject=Patient/<id>.
func queryChar(c byte) bool {
	return pathChar(c) || strings.IndexByte("=&%", c) >= 0
}

// parseInner parses and checks the plaintext of a sealed request. Every
// refusal is an *InvalidError naming the field, never its value.
func parseInner(b []byte) (*innerRequest, *url.URL, error) {
	bad := func(field, reason string) (*innerRequest, *url.URL, error) {
		return nil, nil, &InvalidError{Resource: "sealed request", Field: field, Reason: reason}
	}
	var in innerRequest
	if err := decodeStrict("sealed request", b, &in); err != nil {
		return nil, nil, err
	}
	switch in.Method {
	case http.MethodGet:
		if len(in.Body) != 0 {
			return bad("body", "a GET has no body")
		}
	case http.MethodPost:
	default:
		return bad("method", "want GET or POST")
	}
	if len(in.Path) == 0 || len(in.Path) > MaxInnerPath {
		return bad("path", "empty or too long")
	}
	p, q, _ := strings.Cut(in.Path, "?")
	for i := 0; i < len(p); i++ {
		if !pathChar(p[i]) {
			return bad("path", "holds a character outside [A-Za-z0-9/-_.]")
		}
	}
	for i := 0; i < len(q); i++ {
		if !queryChar(q[i]) {
			return bad("path", "query holds a character outside [A-Za-z0-9/-_.=&%]")
		}
	}
	// Only the resource routes: never the gateway itself (no nesting),
	// and no dot segments or empty segments that could route somewhere
	// else than the prefix suggests.
	if !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/fhir/") {
		return bad("path", "must start with /api/ or /fhir/")
	}
	if path.Clean(p) != p {
		return bad("path", "not a clean path")
	}
	if p == "/api/sealed" || strings.HasPrefix(p, "/api/sealed/") {
		return bad("path", "the gateway cannot be reached through itself")
	}
	u, err := url.ParseRequestURI(in.Path)
	if err != nil || u.Path != p {
		return bad("path", "not a request URI")
	}
	if _, err := url.ParseQuery(q); err != nil {
		return bad("path", "malformed query")
	}
	if len(in.Headers) > MaxInnerHeaders {
		return bad("headers", "too many")
	}
	for k, v := range in.Headers {
		if len(k) > 64 || len(v) > 256 || strings.ContainsAny(v, "\r\n\x00") {
			return bad("headers", "a header is too long or holds a control character")
		}
	}
	if in.Nonce == "" {
		return bad("nonce", "required")
	}
	if n, err := base64.RawURLEncoding.Strict().DecodeString(in.Nonce); err != nil || len(in.Nonce) != nonceLen || len(n) != nonceSize {
		return bad("nonce", "want 16 bytes as unpadded base64url (22 characters)")
	}
	if in.TS == nil {
		return bad("ts", "required (Unix milliseconds)")
	}
	return &in, u, nil
}

// capture is a bounded in-memory ResponseWriter for the inner request.
type capture struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(b) > MaxGatewayResponse {
		c.overflow = true
		return 0, errors.New("careapi: inner response too large")
	}
	return c.body.Write(b)
}

// handleSealed is the sealed gateway. Refusals before the body opens are
// plain (415, 413, 400 generic); once it opens, every answer, errors
// included, is sealed back, and the outer status is 200.
func (s *Server) handleSealed(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SealKey == nil {
		writeError(w, r, http.StatusNotFound, "not-found", "the sealed gateway is not configured")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != sealed.MediaType {
		writeError(w, r, http.StatusUnsupportedMediaType, "invalid", "Content-Type must be "+sealed.MediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSealedBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, r, http.StatusRequestEntityTooLarge, "too-costly", "sealed body too large")
		return
	}
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "invalid", "the sealed request body could not be read")
		return
	}
	plain, sealer, err := sealed.OpenRequest(s.cfg.SealKey, GatewayContext, body)
	if err != nil || len(plain) > MaxGatewayPlaintext {
		// One answer for every failure: no oracle for a sender probing
		// the key, the suite or the ciphertext.
		writeError(w, r, http.StatusBadRequest, "invalid", "the sealed request body could not be opened")
		return
	}
	resp := s.dispatch(r, plain, w.Header())
	out, err := json.Marshal(resp)
	if err == nil {
		out, err = sealer.Seal(out)
	}
	if err != nil {
		s.internal(w, r, "seal response", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", sealed.MediaType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// dispatch runs the inner request through the routes and returns the
// response to seal. Set-Cookie from the inner response goes onto outer
// (the session cookie belongs to the outer connection; see authed for why
// that is safe).
func (s *Server) dispatch(outer *http.Request, plain []byte, outerHeader http.Header) innerResponse {
	fail := func(status int, msg string) innerResponse {
		b, _ := json.Marshal(map[string]string{"error": msg})
		return innerResponse{Status: status, Headers: map[string]string{"Content-Type": mediaJSON}, Body: b}
	}
	in, u, err := parseInner(plain)
	if err != nil {
		var ie *InvalidError
		msg := "invalid sealed request"
		if errors.As(err, &ie) {
			msg = ie.diagnostics()
		}
		return fail(http.StatusBadRequest, msg)
	}
	// Freshness before anything runs: a replayed request must not reach
	// the session (whose idle expiry it would extend) or a handler.
	switch err := s.replay.admit(in.Nonce, *in.TS, s.now()); {
	case errors.Is(err, errStale):
		return fail(http.StatusBadRequest, "sealed request.ts: outside the accepted clock window")
	case errors.Is(err, errReplay):
		return fail(http.StatusBadRequest, "sealed request.nonce: already used")
	case errors.Is(err, errReplayDB):
		s.log.Warn("careapi: gateway: replay cache full, refusing sealed requests")
		return fail(http.StatusServiceUnavailable, "too many recent requests; try again later")
	case err != nil:
		return fail(http.StatusInternalServerError, "internal error")
	}
	ctx := context.WithValue(outer.Context(), ctxKey{}, true)
	req, err := http.NewRequestWithContext(ctx, in.Method, u.RequestURI(), bytes.NewReader(in.Body))
	if err != nil {
		return fail(http.StatusBadRequest, "invalid sealed request")
	}
	req.RequestURI = u.RequestURI()
	req.Host = outer.Host
	req.RemoteAddr = outer.RemoteAddr
	req.TLS = outer.TLS
	// The outer cookies carry the session; of the inner headers only the
	// two the routes read are taken, so a sealed request cannot smuggle
	// hop-by-hop or proxy headers in.
	for _, c := range outer.Header.Values("Cookie") {
		req.Header.Add("Cookie", c)
	}
	for k, v := range in.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type":
			req.Header.Set("Content-Type", v)
		case http.CanonicalHeaderKey(CSRFHeader):
			req.Header.Set(CSRFHeader, v)
		}
	}
	c := &capture{header: http.Header{}}
	s.mux.ServeHTTP(c, req)
	if c.overflow {
		s.log.Error("careapi: gateway: inner response over limit", "route", req.Pattern)
		return fail(http.StatusInternalServerError, "internal error")
	}
	for _, sc := range c.header.Values("Set-Cookie") {
		outerHeader.Add("Set-Cookie", sc)
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return innerResponse{Status: c.status, Headers: map[string]string{"Content-Type": c.header.Get("Content-Type")}, Body: c.body.Bytes()}
}
