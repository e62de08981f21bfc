package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cofre-cc/cofre/attest"
)

// Paths of the agent's HTTP API (docs/api/agent.yaml).
const (
	PathPlatform = "/v1/platform" // GET
	PathEvidence = "/v1/evidence" // POST
	PathHealth   = "/healthz"     // GET
	PathReady    = "/readyz"      // GET
	PathMetrics  = "/metrics"     // GET, Prometheus text format
)

// HeaderSimulation is "true" on every response: everything this agent
// signs is SIMULATION evidence.
const HeaderSimulation = "Cofre-Simulation"

// Error codes of the API's error bodies ({"code", "message"}).
const (
	CodeBadRequest           = "bad_request"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
)

// PlatformInfo describes the agent's platform (GET /v1/platform). It is
// what an untrusted agent says about itself: informational, never a basis
// for trust (the evidence's certificate chain is).
type PlatformInfo struct {
	// Format is the evidence format the agent produces: "sim.v1".
	Format string `json:"format"`
	// PlatformID is the platform's stable identifier, SHA-256 of its
	// public key: the PlatformID of the claims its evidence yields.
	PlatformID attest.Hex `json:"platform_id"`
	// PlatformName is the name in the platform certificate (a node name),
	// or empty.
	PlatformName string `json:"platform_name,omitempty"`
	// Simulation is always true: the evidence gives no confidentiality.
	Simulation bool `json:"simulation"`
	// RootSHA256 is the SHA-256 of the sim root certificate (DER), when
	// the agent's chain includes it.
	RootSHA256 attest.Hex `json:"root_sha256,omitempty"`
	// NotAfter is when the platform certificate expires; its evidence is
	// refused after it.
	NotAfter time.Time `json:"not_after"`
}

// Workload is what a launcher measured and asks the agent to report.
type Workload struct {
	// Measurement is the workload digest (launch.Measure): exactly 32
	// bytes, the size attest.ReportData binds.
	Measurement []byte
	// Signer is reported as the claims' Signer, or nil; at most 64 bytes.
	Signer []byte
	// ProductID is reported as the claims' ProductID, or empty; at most 64
	// bytes of printable UTF-8.
	ProductID string
	// SVN is reported as the claims' SVN.
	SVN uint64
}

// evidenceRequest is the body of POST /v1/evidence.
type evidenceRequest struct {
	ReportData  []byte `json:"report_data"`
	Measurement []byte `json:"measurement"`
	Signer      []byte `json:"signer,omitempty"`
	ProductID   string `json:"product_id,omitempty"`
	SVN         uint64 `json:"svn,omitempty"`
}

// evidenceResponse is the answer of POST /v1/evidence.
type evidenceResponse struct {
	Format     string `json:"format"`
	Data       []byte `json:"data"`
	Simulation bool   `json:"simulation"`
}

// errorBody is the body of every non-2xx response.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errInvalid is what every refusal of a request's content wraps; the
// server answers it with 400 bad_request and the message.
var errInvalid = errors.New("invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// decodeEvidenceRequest parses a POST /v1/evidence body (untrusted bytes
// from any local process) strictly: unknown fields and trailing data are
// refused, so a misspelled "signer" never silently drops a value, and
// every field is checked (validate).
func decodeEvidenceRequest(b []byte) (*evidenceRequest, error) {
	var req evidenceRequest
	if err := decodeStrict(b, &req); err != nil {
		return nil, invalid("body: %s", clip(err.Error()))
	}
	if len(req.ReportData) != attest.ReportDataSize {
		return nil, invalid("report_data is %d bytes, want %d", len(req.ReportData), attest.ReportDataSize)
	}
	if err := req.workload().validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

func (r *evidenceRequest) workload() Workload {
	return Workload{Measurement: r.Measurement, Signer: r.Signer, ProductID: r.ProductID, SVN: r.SVN}
}

// validate checks a workload's fields against what sim.v1 verifiers
// accept, so that the agent never signs evidence that could only be
// refused, and the client fails before a round trip.
func (w Workload) validate() error {
	if len(w.Measurement) != sha256.Size {
		return invalid("measurement is %d bytes, want %d (a SHA-256 workload digest)", len(w.Measurement), sha256.Size)
	}
	if len(w.Signer) > maxFieldSize {
		return invalid("signer is %d bytes, limit %d", len(w.Signer), maxFieldSize)
	}
	if len(w.ProductID) > maxFieldSize {
		return invalid("product_id is %d bytes, limit %d", len(w.ProductID), maxFieldSize)
	}
	// The product id lands in claims, tokens and logs; control characters
	// there could forge log lines or terminal output.
	if !utf8.ValidString(w.ProductID) {
		return invalid("product_id is not valid UTF-8")
	}
	for _, r := range w.ProductID {
		if !unicode.IsPrint(r) {
			return invalid("product_id holds a non-printable character %U", r)
		}
	}
	return nil
}

// decodeEvidenceResponse parses an agent's answer (untrusted bytes: the
// agent is not trusted) strictly and checks its shape. The evidence itself
// is checked by the relying party's verifier, not here.
func decodeEvidenceResponse(b []byte) (attest.Evidence, error) {
	var resp evidenceResponse
	if err := decodeStrict(b, &resp); err != nil {
		return attest.Evidence{}, fmt.Errorf("%w: %s", ErrMalformedResponse, clip(err.Error()))
	}
	// The agent produces sim.v1 only; anything else claiming to come from
	// it, or sim evidence not labelled as simulation, is a broken or
	// hostile agent.
	if resp.Format != attest.FormatSim {
		return attest.Evidence{}, fmt.Errorf("%w: format %q, want %q", ErrMalformedResponse, clip(resp.Format), attest.FormatSim)
	}
	if !resp.Simulation {
		return attest.Evidence{}, fmt.Errorf("%w: sim.v1 evidence not marked simulation", ErrMalformedResponse)
	}
	if len(resp.Data) == 0 || len(resp.Data) > maxEvidenceSize {
		return attest.Evidence{}, fmt.Errorf("%w: evidence is %d bytes, want 1 to %d", ErrMalformedResponse, len(resp.Data), maxEvidenceSize)
	}
	return attest.Evidence{Format: resp.Format, Payload: resp.Data}, nil
}

// decodePlatformInfo parses GET /v1/platform's answer strictly.
func decodePlatformInfo(b []byte) (*PlatformInfo, error) {
	var info PlatformInfo
	if err := decodeStrict(b, &info); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedResponse, clip(err.Error()))
	}
	if info.Format != attest.FormatSim || !info.Simulation || len(info.PlatformID) != sha256.Size {
		return nil, fmt.Errorf("%w: platform format %q simulation %v platform_id of %d bytes, want %q, true, %d",
			ErrMalformedResponse, clip(info.Format), info.Simulation, len(info.PlatformID), attest.FormatSim, sha256.Size)
	}
	info.PlatformName = sanitize(info.PlatformName)
	return &info, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// clip bounds text that came, in part, from untrusted input.
func clip(s string) string {
	const max = 256
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
