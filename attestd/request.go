package attestd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

// AttestRequest is the body of POST /v1/attest/{format}. Byte fields are
// standard base64 (RFC 4648 §4, padded), as encoding/json writes []byte.
type AttestRequest struct {
	// Evidence is the format's payload (for sim.v1, the envelope's
	// "payload" bytes).
	Evidence []byte `json:"evidence"`
	// Nonce is the challenge from POST /v1/challenge (32 bytes).
	Nonce []byte `json:"nonce"`
	// RuntimeData is what the evidence binds besides the nonce: its
	// SHA-256 is the key hash of attest.ReportData. A public JWK (JSON) or
	// a PKIX DER public key becomes the token's cnf. Optional.
	RuntimeData []byte `json:"runtime_data,omitempty"`
	// Policy names the stored appraisal policy. Required unless draft.
	Policy string `json:"policy,omitempty"`
	// Parts is extra evidence (a GPU…), each binding the same nonce and
	// runtime data. Optional.
	Parts []Part `json:"parts,omitempty"`
	// DraftPolicy is a policy document (YAML or JSON) to appraise with
	// instead of a stored one; only with ?draft=1.
	DraftPolicy string `json:"draft_policy,omitempty"`
}

// Part is one piece of extra evidence.
type Part struct {
	Format   string `json:"format"`
	Evidence []byte `json:"evidence"`
}

// AttestResponse is the body of a successful POST /v1/attest/{format}.
type AttestResponse struct {
	Token string `json:"token"`
}

// DraftResponse is the body of a successful
// POST /v1/attest/{format}?draft=1: the appraisal under the draft policy,
// whatever its verdict, as plain JSON. It is not a token and nothing signs
// it, so it cannot be presented to a relying party as an attestation.
type DraftResponse struct {
	// Draft is always true.
	Draft bool `json:"draft"`
	// Policy is "draft:" followed by the draft document's name.
	Policy string `json:"policy"`
	// Status is the overall EAR status: the worst submodule's.
	Status string `json:"status"`
	// Submods holds the appraisal of each piece of evidence, named as in a
	// token ("cpu0", "gpu0"…).
	Submods map[string]DraftSubmod `json:"submods"`
}

// DraftSubmod is the appraisal of one piece of evidence in a DraftResponse.
type DraftSubmod struct {
	Status  string          `json:"status"` // EAR status: affirming, warning, contraindicated, none
	Vector  ear.TrustVector `json:"vector"` // EAR trustworthiness vector
	Reasons []Reason        `json:"reasons,omitempty"`
	// Claims are the verifier's normalized claims, as a token would carry
	// them.
	Claims *attest.Claims `json:"claims"`
}

// ChallengeResponse is the body of POST /v1/challenge.
type ChallengeResponse struct {
	Nonce     []byte `json:"nonce"`      // 32 bytes, standard base64
	ExpiresAt string `json:"expires_at"` // RFC 3339
}

// errBadRequest is wrapped by every decoding error: the client's fault.
var errBadRequest = errors.New("bad request")

// decodeAttestRequest parses an attestation request strictly: one JSON
// object, no unknown fields (a misspelled "runtime_data" must not be
// silently ignored, or a key binding would be skipped), no trailing data,
// every size within limits.go. It does not consult the nonce store, the
// registry or the policies.
func decodeAttestRequest(b []byte) (*AttestRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var req AttestRequest
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", errBadRequest)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...))
	}
	if len(req.Evidence) == 0 {
		bad("evidence is missing")
	}
	if len(req.Nonce) != attest.NonceSize {
		bad("nonce is %d bytes, want %d (from POST /v1/challenge)", len(req.Nonce), attest.NonceSize)
	}
	if len(req.RuntimeData) > maxRuntimeData {
		bad("runtime_data is %d bytes, limit %d", len(req.RuntimeData), maxRuntimeData)
	}
	if len(req.Policy) > maxPolicyName {
		bad("policy name is %d bytes, limit %d", len(req.Policy), maxPolicyName)
	}
	if len(req.Parts) > maxParts {
		bad("%d parts, limit %d", len(req.Parts), maxParts)
	}
	for i, p := range req.Parts {
		if p.Format == "" || len(p.Format) > maxFormatName {
			bad("parts[%d].format is missing or longer than %d bytes", i, maxFormatName)
		}
		if len(p.Evidence) == 0 {
			bad("parts[%d].evidence is missing", i)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &req, nil
}
