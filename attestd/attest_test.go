package attestd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/token"
)

// TestAttestIssuesVerifiableToken runs the whole flow: challenge, sim
// evidence binding the nonce and a workload key, token, and verification
// with the keys fetched from /certs, as a relying party does it.
func TestAttestIssuesVerifiableToken(t *testing.T) {
	e := newEnv(t)
	wk := newWorkloadKey(t)
	nonce := e.challenge()
	r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, wk.jwk), Nonce: nonce, RuntimeData: wk.jwk, Policy: "dev"})
	if r.status != 200 {
		t.Fatalf("attest: %d %+v", r.status, r.err)
	}
	c, err := e.verify(r.token, token.Options{
		Nonce:                nonce,
		AllowSimulation:      true,
		ConfirmationKey:      &wk.priv.PublicKey,
		ExpectedMeasurements: []attest.Hex{measurement},
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.TEE() != attest.TEESim || !c.Simulation() || c.Status() != ear.TrustTierWarning {
		t.Errorf("tee %v simulation %v status %v", c.TEE(), c.Simulation(), c.Status())
	}
	if got := c.SubmodNames(); !slices.Equal(got, []string{"cpu0"}) {
		t.Errorf("submods %v", got)
	}
	if c.Issuer != e.ts.URL || !c.IssuedAt.Equal(t0) || !c.Expiry.Equal(t0.Add(5*time.Minute)) || c.Draft {
		t.Errorf("iss %s iat %v exp %v draft %v", c.Issuer, c.IssuedAt, c.Expiry, c.Draft)
	}
	if c.Submods["cpu0"].PolicyID != "dev" {
		t.Errorf("policy id %q", c.Submods["cpu0"].PolicyID)
	}
	// Without AllowSimulation a relying party refuses it: simulation never
	// passes as hardware.
	if _, err := e.verify(r.token, token.Options{Nonce: nonce}); !errors.Is(err, token.ErrSimulation) {
		t.Errorf("verify without AllowSimulation: %v, want ErrSimulation", err)
	}
	// Bound to the workload key: another key does not match cnf.
	other := newWorkloadKey(t)
	if _, err := e.verify(r.token, token.Options{AllowSimulation: true, ConfirmationKey: &other.priv.PublicKey}); !errors.Is(err, token.ErrConfirmation) {
		t.Errorf("verify with another key: %v, want ErrConfirmation", err)
	}
	ents := e.entries()
	if len(ents) != 1 || ents[0].Event != EventIssue || ents[0].Status != "warning" || ents[0].TEE != "sim" || ents[0].Policy != "dev" || ents[0].TokenSHA256 != hashHex([]byte(r.token)) {
		t.Errorf("audit entries %+v", ents)
	}
}

// TestRuntimeDataPKIXBecomesCnf: a PKIX DER public key (what
// `cofre evidence produce --public-key` binds) becomes cnf too.
func TestRuntimeDataPKIXBecomesCnf(t *testing.T) {
	e := newEnv(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	nonce := e.challenge()
	r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, der), Nonce: nonce, RuntimeData: der, Policy: "dev"})
	if r.status != 200 {
		t.Fatalf("attest: %d %+v", r.status, r.err)
	}
	if _, err := e.verify(r.token, token.Options{AllowSimulation: true, ConfirmationKey: &k.PublicKey}); err != nil {
		t.Fatalf("verify with the PKIX key: %v", err)
	}
	// Opaque runtime data is bound but gives no cnf.
	nonce = e.challenge()
	opaque := []byte("not a key")
	r = e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, opaque), Nonce: nonce, RuntimeData: opaque, Policy: "dev"})
	if r.status != 200 {
		t.Fatalf("attest: %d %+v", r.status, r.err)
	}
	if _, ok := payloadOf(t, r.token)["cnf"]; ok {
		t.Error("opaque runtime data produced a cnf")
	}
}

func TestAttestRefusals(t *testing.T) {
	e := newEnv(t)
	wk := newWorkloadKey(t)
	privJWK := func() []byte {
		j, _ := jwk.Import(wk.priv)
		b, _ := json.Marshal(j)
		return b
	}()

	// good returns a fresh, valid request.
	good := func() AttestRequest {
		n := e.challenge()
		return AttestRequest{Evidence: e.evidence(n, wk.jwk), Nonce: n, RuntimeData: wk.jwk, Policy: "dev"}
	}
	otherRoot, _ := sim.NewRoot(t0.Add(-time.Hour), time.Hour*24)
	otherPlat, _ := otherRoot.NewPlatform("intruder", t0.Add(-time.Hour), time.Hour*24)

	tests := []struct {
		name   string
		path   string
		req    func() AttestRequest
		raw    func() []byte // instead of req
		status int
		code   Code
		field  string // a reason must name this field (or check)
	}{
		{name: "unknown nonce", req: func() AttestRequest {
			r := good()
			r.Nonce = bytes.Repeat([]byte{9}, attest.NonceSize)
			r.Evidence = e.evidence(r.Nonce, wk.jwk)
			return r
		}, status: 403, code: CodeNonceUnknown},
		{name: "binding mismatch: other runtime data", req: func() AttestRequest {
			r := good()
			r.RuntimeData = newWorkloadKey(t).jwk
			return r
		}, status: 403, code: CodeBindingMismatch, field: "report_data"},
		{name: "binding mismatch: no runtime data", req: func() AttestRequest {
			r := good()
			r.RuntimeData = nil
			return r
		}, status: 403, code: CodeBindingMismatch, field: "report_data"},
		{name: "binding mismatch: evidence for another nonce", req: func() AttestRequest {
			r := good()
			r.Evidence = e.evidence(e.challenge(), wk.jwk)
			return r
		}, status: 403, code: CodeBindingMismatch, field: "report_data"},
		{name: "tampered signature", req: func() AttestRequest {
			r := good()
			r.Evidence = tamperSimSignature(t, r.Evidence)
			return r
		}, status: 403, code: CodeEvidenceRefused, field: "signature"},
		{name: "tampered bytes", req: func() AttestRequest {
			r := good()
			r.Evidence[len(r.Evidence)/2] ^= 0x40
			return r
		}, status: 403, code: CodeEvidenceRefused},
		{name: "untrusted sim platform", req: func() AttestRequest {
			r := good()
			rd, _ := attest.ReportData(r.Nonce, wk.jwk, nil)
			ev, err := (&sim.Producer{Platform: otherPlat, Measurement: measurement}).Produce(t.Context(), rd)
			must(t, err)
			r.Evidence = ev.Payload
			return r
		}, status: 403, code: CodeEvidenceRefused, field: "certificates"},
		{name: "policy refusal: measurement", req: func() AttestRequest {
			r := good()
			r.Policy = "pinned"
			return r
		}, status: 403, code: CodePolicyRefused, field: "measurement"},
		{name: "policy refusal: simulation under a hardware policy", req: func() AttestRequest {
			r := good()
			r.Policy = "hardware"
			return r
		}, status: 403, code: CodePolicyRefused, field: "simulation"},
		{name: "unknown policy", req: func() AttestRequest {
			r := good()
			r.Policy = "nope"
			return r
		}, status: 404, code: CodeUnknownPolicy},
		{name: "no policy", req: func() AttestRequest {
			r := good()
			r.Policy = ""
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "unknown format", path: "/v1/attest/nope.v9", req: good, status: 404, code: CodeUnsupportedFormat},
		{name: "unknown part format", req: func() AttestRequest {
			r := good()
			r.Parts = []Part{{Format: "nope.v9", Evidence: []byte{1}}}
			return r
		}, status: 404, code: CodeUnsupportedFormat},
		{name: "GPU evidence as the main evidence", path: "/v1/attest/nvidia.spdm", req: good, status: 400, code: CodeBadRequest},
		{name: "private JWK as runtime data", req: func() AttestRequest {
			r := good()
			r.RuntimeData = privJWK
			r.Evidence = e.evidence(r.Nonce, privJWK)
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "symmetric JWK as runtime data", req: func() AttestRequest {
			r := good()
			r.RuntimeData = []byte(`{"kty":"oct","k":"c2VjcmV0"}`)
			r.Evidence = e.evidence(r.Nonce, r.RuntimeData)
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "short nonce", req: func() AttestRequest {
			r := good()
			r.Nonce = r.Nonce[:16]
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "no evidence", req: func() AttestRequest {
			r := good()
			r.Evidence = nil
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "draft policy without draft=1", req: func() AttestRequest {
			r := good()
			r.DraftPolicy = policyDev
			return r
		}, status: 400, code: CodeBadRequest},
		{name: "draft=1 without a draft policy", path: "/v1/attest/sim.v1?draft=1", req: good, status: 400, code: CodeBadRequest},
		{name: "draft=1 with an invalid draft policy", path: "/v1/attest/sim.v1?draft=1", req: func() AttestRequest {
			r := good()
			r.Policy = ""
			r.DraftPolicy = "name: x\nreferences: []\n"
			return r
		}, status: 400, code: CodeInvalidPolicy},
		{name: "unknown profile", path: "/v1/attest/sim.v1?profile=aws", req: good, status: 400, code: CodeBadRequest},
		{name: "malformed JSON", raw: func() []byte { return []byte(`{"evidence": "AAAA", `) }, status: 400, code: CodeBadRequest},
		{name: "unknown field", raw: func() []byte {
			b, _ := json.Marshal(good())
			return append(b[:len(b)-1], []byte(`,"runtime_dat":"AAAA"}`)...)
		}, status: 400, code: CodeBadRequest},
		{name: "trailing data", raw: func() []byte {
			b, _ := json.Marshal(good())
			return append(b, []byte(`{}`)...)
		}, status: 400, code: CodeBadRequest},
		{name: "not base64", raw: func() []byte { return []byte(`{"evidence":"***","nonce":"AAAA","policy":"dev"}`) }, status: 400, code: CodeBadRequest},
		{name: "oversized body", raw: func() []byte {
			return append([]byte(`{"evidence":"`), append(bytes.Repeat([]byte("A"), maxAttestBody), []byte(`"}`)...)...)
		}, status: 413, code: CodeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/v1/attest/sim.v1"
			}
			var r result
			if tt.raw != nil {
				r = e.attestRaw(path, tt.raw())
			} else {
				r = e.attest(path, tt.req())
			}
			if r.status != tt.status || r.err.Code != tt.code || r.token != "" {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.err.Code, r.err.Message, tt.status, tt.code)
			}
			if tt.field != "" && !slices.ContainsFunc(r.err.Reasons, func(x Reason) bool { return x.Field == tt.field }) {
				t.Fatalf("no reason names %q: %+v", tt.field, r.err.Reasons)
			}
			for _, x := range r.err.Reasons {
				if x.Submod != "cpu0" {
					t.Errorf("reason without submod cpu0: %+v", x)
				}
			}
		})
	}
	// Every refusal is audited, with its code, and never a token.
	ents := e.entries()
	if len(ents) != len(tests) {
		t.Fatalf("%d audit entries for %d refusals", len(ents), len(tests))
	}
	for i, a := range ents {
		if a.Event != EventRefuse || a.Code != tests[i].code || a.TokenSHA256 != "" {
			t.Errorf("audit entry %d (%s): %+v", i, tests[i].name, a)
		}
	}
}

// tamperSimSignature flips a bit of a sim payload's signature, keeping the
// envelope well formed, so the refusal is the signature check's.
func tamperSimSignature(t *testing.T, payload []byte) []byte {
	t.Helper()
	var env map[string]any
	must(t, json.Unmarshal(payload, &env))
	sig := []byte(env["signature"].(string))
	// Flip a base64 character in the middle of the signature.
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	env["signature"] = string(sig)
	b, err := json.Marshal(env)
	must(t, err)
	return b
}

func TestNonceSingleUse(t *testing.T) {
	e := newEnv(t)
	nonce := e.challenge()
	req := AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"}
	if r := e.attest("/v1/attest/sim.v1", req); r.status != 200 {
		t.Fatalf("first use: %d %+v", r.status, r.err)
	}
	if r := e.attest("/v1/attest/sim.v1", req); r.status != 403 || r.err.Code != CodeNonceUnknown {
		t.Fatalf("replay: %d %q, want 403 nonce_unknown", r.status, r.err.Code)
	}

	// A failed first use spends the nonce too.
	nonce = e.challenge()
	req = AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "pinned"}
	if r := e.attest("/v1/attest/sim.v1", req); r.err.Code != CodePolicyRefused {
		t.Fatalf("first use: %d %q", r.status, r.err.Code)
	}
	req.Policy = "dev"
	if r := e.attest("/v1/attest/sim.v1", req); r.status != 403 || r.err.Code != CodeNonceUnknown {
		t.Fatalf("retry after a refusal: %d %q, want 403 nonce_unknown", r.status, r.err.Code)
	}

	// Expiry: usable up to the lifetime, not at it.
	nonce = e.challenge()
	req = AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"}
	e.clock.Advance(2 * time.Minute)
	if r := e.attest("/v1/attest/sim.v1", req); r.status != 403 || r.err.Code != CodeNonceExpired {
		t.Fatalf("expired: %d %q, want 403 nonce_expired", r.status, r.err.Code)
	}
}

// TestChallengesAreStateless: issuing challenges stores nothing, so no
// client can exhaust them; only used nonces are remembered, until they
// expire, and the bound on those refuses (503) rather than forgets.
func TestChallengesAreStateless(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxChallenges = 2 })
	for range 10 {
		e.challenge()
	}
	if n := e.srv.challenges.Remembered(); n != 0 {
		t.Fatalf("%d nonces remembered after issuing only", n)
	}
	spend := func() result {
		nonce := e.challenge()
		return e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	}
	for range 2 {
		if r := spend(); r.status != 200 {
			t.Fatalf("attest: %d %+v", r.status, r.err)
		}
	}
	if r := spend(); r.status != 503 || r.err.Code != CodeUnavailable {
		t.Fatalf("third used nonce: %d %q, want 503", r.status, r.err.Code)
	}
	// Expired nonces are forgotten and make room again.
	e.clock.Advance(2 * time.Minute)
	if r := spend(); r.status != 200 {
		t.Fatalf("after expiry: %d %+v", r.status, r.err)
	}
	if n := e.srv.challenges.Remembered(); n != 1 {
		t.Fatalf("%d remembered after expiry", n)
	}
}

func TestDraftPolicy(t *testing.T) {
	e := newEnv(t)
	nonce := e.challenge()
	draft := strings.Replace(policyPinned, "name: pinned", "name: trial", 1)
	r := e.attest("/v1/attest/sim.v1?draft=1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, DraftPolicy: draft})
	if r.status != 200 {
		t.Fatalf("draft: %d %+v", r.status, r.err)
	}
	// The draft shows the verdict (contraindicated: the measurement is not
	// the pinned one) as plain JSON: there is no token, nothing is signed.
	if r.token != "" {
		t.Fatalf("a draft answered a token")
	}
	var d DraftResponse
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	must(t, dec.Decode(&d))
	cpu0, ok := d.Submods["cpu0"]
	if !d.Draft || d.Policy != "draft:trial" || d.Status != ear.TrustTierContraindicated.String() || !ok {
		t.Fatalf("draft answer: %s", r.body)
	}
	if cpu0.Status != ear.TrustTierContraindicated.String() || len(cpu0.Reasons) == 0 || cpu0.Claims == nil || cpu0.Reasons[0].Field == "" {
		t.Fatalf("draft cpu0: %s", r.body)
	}
	if bytes.Count(r.body, []byte(".")) >= 2 && bytes.Contains(r.body, []byte("eyJ")) {
		t.Fatalf("draft answer looks like it carries a JWT: %s", r.body)
	}
	// Never stored.
	if resp := e.do(e.admin, "GET", "/v1/policies/trial", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("draft policy stored: GET %d", resp.StatusCode)
	}
	ents := e.entries()
	if a := ents[len(ents)-1]; a.Event != EventDraft || !a.Draft || a.Policy != "draft:trial" || a.PolicySHA256 != hashHex([]byte(draft)) || a.TokenSHA256 != "" || a.Status != d.Status {
		t.Errorf("audit: %+v", a)
	}
}

// TestDraftRefusals: a draft with the MAA profile is refused (a draft
// answers no token, so no MAA-shaped answer either), and a draft never
// skips the nonce, evidence or binding checks.
func TestDraftRefusals(t *testing.T) {
	e := newEnv(t)
	draft := strings.Replace(policyPinned, "name: pinned", "name: trial", 1)
	nonce := e.challenge()
	r := e.attest("/v1/attest/sim.v1?draft=1&profile=maa", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, DraftPolicy: draft})
	if r.status != 400 || r.err.Code != CodeBadRequest {
		t.Fatalf("draft with profile=maa: %d %+v", r.status, r.err)
	}
	// The nonce of the refused request above was not spent (refused
	// before it was read), but a replayed nonce is refused as usual.
	nonce = e.challenge()
	req := AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, DraftPolicy: draft}
	if r := e.attest("/v1/attest/sim.v1?draft=1", req); r.status != 200 {
		t.Fatalf("draft: %d %+v", r.status, r.err)
	}
	if r := e.attest("/v1/attest/sim.v1?draft=1", req); r.status != 403 || r.err.Code != CodeNonceUnknown {
		t.Fatalf("replayed draft: %d %+v", r.status, r.err)
	}
	// Evidence that does not bind the nonce is refused, draft or not.
	nonce = e.challenge()
	other := e.challenge()
	if r := e.attest("/v1/attest/sim.v1?draft=1", AttestRequest{Evidence: e.evidence(other, nil), Nonce: nonce, DraftPolicy: draft}); r.status != 403 || r.err.Code != CodeBindingMismatch {
		t.Fatalf("unbound draft: %d %+v", r.status, r.err)
	}
}

func TestMAAProfile(t *testing.T) {
	e := newEnv(t)
	nonce := e.challenge()
	r := e.attest("/v1/attest/sim.v1?profile=maa", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	if r.status != 200 {
		t.Fatalf("attest: %d %+v", r.status, r.err)
	}
	p := payloadOf(t, r.token)
	for _, k := range []string{"x-ms-attestation-type", "x-ms-ver", "eat_profile", "submods"} {
		if _, ok := p[k]; !ok {
			t.Errorf("MAA profile token lacks %s: %v", k, p)
		}
	}
	if _, err := e.verify(r.token, token.Options{AllowSimulation: true}); err != nil {
		t.Errorf("verify: %v", err)
	}
	// The default profile has no x-ms claims.
	nonce = e.challenge()
	r = e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	for k := range payloadOf(t, r.token) {
		if strings.HasPrefix(k, "x-ms-") {
			t.Errorf("EAR profile token has %s", k)
		}
	}
}

func TestParts(t *testing.T) {
	e := newEnv(t)
	wk := newWorkloadKey(t)
	attestParts := func(policy string, parts func(nonce []byte) []Part) result {
		nonce := e.challenge()
		return e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, wk.jwk), Nonce: nonce, RuntimeData: wk.jwk, Policy: policy, Parts: parts(nonce)})
	}

	// A GPU part (32-byte report data binding) and a second CPU TEE.
	r := attestParts("gpu", func(n []byte) []Part {
		return []Part{
			{Format: attest.FormatNVGPU, Evidence: gpuEvidence(n, wk.jwk)},
			{Format: attest.FormatSim, Evidence: e.evidence(n, wk.jwk)},
			{Format: attest.FormatNVGPU, Evidence: gpuEvidence(n, wk.jwk)},
		}
	})
	if r.status != 200 {
		t.Fatalf("attest with parts: %d %+v", r.status, r.err)
	}
	c, err := e.verify(r.token, token.Options{AllowSimulation: true})
	must(t, err)
	if got := c.SubmodNames(); !slices.Equal(got, []string{"cpu0", "cpu1", "gpu0", "gpu1"}) {
		t.Fatalf("submods %v", got)
	}
	if g := c.Submods["gpu0"]; g.Claims.TEE != attest.TEENVGPU || g.Status != ear.TrustTierAffirming {
		t.Errorf("gpu0: %v %v", g.Claims.TEE, g.Status)
	}

	for _, tt := range []struct {
		name   string
		policy string
		parts  func(n []byte) []Part
		code   Code
		field  string
	}{
		{"GPU bound to another nonce", "gpu", func(n []byte) []Part {
			return []Part{{Format: attest.FormatNVGPU, Evidence: gpuEvidence(e.challenge(), wk.jwk)}}
		}, CodeBindingMismatch, "report_data"},
		{"GPU refused", "gpu", func(n []byte) []Part {
			return []Part{{Format: attest.FormatNVGPU, Evidence: []byte(`{"forged":true}`)}}
		}, CodeEvidenceRefused, "signature"},
		{"GPU not in the policy", "dev", func(n []byte) []Part {
			return []Part{{Format: attest.FormatNVGPU, Evidence: gpuEvidence(n, wk.jwk)}}
		}, CodePolicyRefused, "tee"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := attestParts(tt.policy, tt.parts)
			if r.status != 403 || r.err.Code != tt.code {
				t.Fatalf("got %d %q, want 403 %q", r.status, r.err.Code, tt.code)
			}
			if !slices.ContainsFunc(r.err.Reasons, func(x Reason) bool { return x.Submod == "gpu0" && x.Field == tt.field }) {
				t.Fatalf("no gpu0 reason on %q: %+v", tt.field, r.err.Reasons)
			}
		})
	}
	var tooMany []Part
	for range maxParts + 1 {
		tooMany = append(tooMany, Part{Format: attest.FormatNVGPU, Evidence: []byte("{}")})
	}
	if r := attestParts("gpu", func([]byte) []Part { return tooMany }); r.status != 400 {
		t.Errorf("%d parts: %d", len(tooMany), r.status)
	}
}

func TestRoutesAnswerJSON(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		method, path string
		status       int
		code         Code
	}{
		{"GET", "/nope", 404, CodeNotFound},
		{"GET", "/v1/challenge", 405, CodeMethodNotAllowed},
		{"DELETE", "/certs", 405, CodeMethodNotAllowed},
	} {
		var er ErrorResponse
		resp := e.do(e.client, tt.method, tt.path, nil, &er)
		if resp.StatusCode != tt.status || er.Code != tt.code {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, er.Code, tt.status, tt.code)
		}
		if tt.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", tt.method, tt.path)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp := e.do(e.client, "GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	e := newEnv(t)
	var oc token.Metadata
	if resp := e.do(e.client, "GET", "/.well-known/openid-configuration", nil, &oc); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if oc.Issuer != e.ts.URL || oc.JWKSURI != e.ts.URL+"/certs" || !slices.Equal(oc.IDTokenSigningAlgValuesSupported, []string{"ES256"}) || !slices.Contains(oc.ClaimsSupported, "x-ms-attestation-type") {
		t.Errorf("openid configuration %+v", oc)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	resp := e.do(e.client, "GET", "/certs", nil, &set)
	if resp.Header.Get("Content-Type") != "application/jwk-set+json" || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", resp.Header.Get("Content-Type"), set)
	}
	kid, _ := e.keys.Current()
	if set.Keys[0]["kid"] != kid || set.Keys[0]["d"] != nil {
		t.Errorf("JWKS key %v", set.Keys[0])
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	nonce := e.challenge()
	e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	resp := e.do(e.client, "GET", "/metrics", nil, nil)
	var b strings.Builder
	buf := new(bytes.Buffer)
	buf.ReadFrom(resp.Body)
	b.Write(buf.Bytes())
	for _, want := range []string{
		`cofre_attestd_requests_total{code="200",route="POST /v1/challenge"} 1`,
		`cofre_attestd_requests_total{code="200",route="POST /v1/attest/{format}"} 1`,
		`cofre_attestd_requests_total{code="403",route="POST /v1/attest/{format}"} 1`,
		`cofre_attestd_request_duration_seconds_bucket{route="POST /v1/attest/{format}",le="+Inf"} 2`,
		`cofre_attestd_verdicts_total{status="warning"} 1`,
		`cofre_attestd_refusals_total{code="nonce_unknown"} 1`,
		`cofre_attestd_nonces_used 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// failingWriter fails every write: a full or broken disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestAuditFailureWithholdsTokens: no token leaves the service unless its
// issuance is on record.
func TestAuditFailureWithholdsTokens(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Audit = NewAuditLog(failingWriter{}) })
	nonce := e.challenge()
	r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
	if r.status != 503 || r.err.Code != CodeUnavailable || r.token != "" {
		t.Fatalf("got %d %q token %v", r.status, r.err.Code, r.token != "")
	}
	if resp := e.do(e.client, "GET", "/readyz", nil, nil); resp.StatusCode != 503 {
		t.Fatalf("readyz %d with a broken audit log", resp.StatusCode)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	keys, _ := token.NewKeySet(token.ES256, t0)
	base := Config{Registry: attest.NewRegistry(), Policies: NewMemPolicies(), Keys: keys, Audit: NewAuditLog(&bytes.Buffer{}), Issuer: "https://attest.example"}
	if _, err := New(base); err != nil {
		t.Fatalf("base config: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"no registry":            func(c *Config) { c.Registry = nil },
		"no policies":            func(c *Config) { c.Policies = nil },
		"no keys":                func(c *Config) { c.Keys = nil },
		"no audit":               func(c *Config) { c.Audit = nil },
		"http issuer":            func(c *Config) { c.Issuer = "http://attest.example" },
		"issuer trailing slash":  func(c *Config) { c.Issuer = "https://attest.example/" },
		"overlap below lifetime": func(c *Config) { c.KeyOverlap = time.Minute },
	} {
		c := base
		edit(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
