package attestd

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/token"
)

func TestAdminAuthentication(t *testing.T) {
	e := newEnv(t)
	otherCA, otherKey := testCA(t, "someone else's CA")
	wrong := clientWithCert(e.ts, testLeaf(t, otherCA, otherKey, "intruder", t0.Add(-time.Hour), t0.Add(time.Hour)))
	for _, tt := range []struct {
		name   string
		client *http.Client
		status int
		code   Code
	}{
		{"no client certificate", e.client, 401, CodeUnauthenticated},
		{"certificate from another CA", wrong, 403, CodeForbidden},
	} {
		for _, req := range []struct{ method, path string }{
			{"GET", "/v1/policies/dev"},
			{"PUT", "/v1/policies/dev"},
			{"DELETE", "/v1/policies/dev"},
			{"POST", "/v1/keys/rotate"},
		} {
			var er ErrorResponse
			resp := e.do(tt.client, req.method, req.path, []byte(policyDev), &er)
			if resp.StatusCode != tt.status || er.Code != tt.code {
				t.Errorf("%s: %s %s: %d %q, want %d %q", tt.name, req.method, req.path, resp.StatusCode, er.Code, tt.status, tt.code)
			}
		}
	}
	// Nothing changed: dev is still there, the key did not rotate.
	if resp := e.do(e.admin, "GET", "/v1/policies/dev", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET dev as admin: %d", resp.StatusCode)
	}
	// The admin certificate is checked at the injected clock: expired.
	e.clock.Advance(48 * time.Hour)
	var er ErrorResponse
	if resp := e.do(e.admin, "GET", "/v1/policies/dev", nil, &er); resp.StatusCode != 403 || er.Code != CodeForbidden {
		t.Fatalf("expired admin certificate: %d %q", resp.StatusCode, er.Code)
	}
}

func TestAdminWithoutCA(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AdminCAs = nil })
	var er ErrorResponse
	if resp := e.do(e.admin, "GET", "/v1/policies/dev", nil, &er); resp.StatusCode != 403 || er.Code != CodeForbidden {
		t.Fatalf("no admin CA configured: %d %q", resp.StatusCode, er.Code)
	}
}

func TestPolicyAdministration(t *testing.T) {
	e := newEnv(t)
	doc := []byte("name: analytics\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: [\"" + strings.Repeat("ab", 32) + "\"]\n")

	var pr PolicyResponse
	resp := e.do(e.admin, "PUT", "/v1/policies/analytics", doc, &pr)
	if resp.StatusCode != 201 || pr.Name != "analytics" || pr.SHA256 != hashHex(doc) {
		t.Fatalf("create: %d %+v", resp.StatusCode, pr)
	}
	etag := resp.Header.Get("ETag")

	resp = e.do(e.admin, "GET", "/v1/policies/analytics", nil, nil)
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body.Bytes(), doc) || resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("get: %d %q %s %s", resp.StatusCode, body, resp.Header.Get("ETag"), resp.Header.Get("Content-Type"))
	}

	// The stored policy is used at once.
	nonce := e.challenge()
	if r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "analytics"}); r.status != 200 {
		t.Fatalf("attest under the new policy: %d %+v", r.status, r.err)
	}

	for _, tt := range []struct {
		name    string
		path    string
		body    []byte
		header  map[string]string
		status  int
		code    Code
		replace bool
	}{
		{name: "name differs from URL", path: "/v1/policies/other", body: doc, status: 400, code: CodeInvalidPolicy},
		{name: "invalid policy", path: "/v1/policies/analytics", body: []byte("name: analytics\nreferences: []\n"), status: 400, code: CodeInvalidPolicy},
		{name: "unknown field", path: "/v1/policies/analytics", body: []byte("name: analytics\nallow_simulaton: true\nreferences: [{tee: sgx, any_code: true}]\n"), status: 400, code: CodeInvalidPolicy},
		{name: "bad name", path: "/v1/policies/Bad%20Name", body: doc, status: 400, code: CodeBadRequest},
		{name: "stale If-Match", path: "/v1/policies/analytics", body: doc, header: map[string]string{"If-Match": `"00"`}, status: 412, code: CodePrecondition},
		{name: "If-None-Match on an existing policy", path: "/v1/policies/analytics", body: doc, header: map[string]string{"If-None-Match": "*"}, status: 412, code: CodePrecondition},
		{name: "oversized", path: "/v1/policies/analytics", body: bytes.Repeat([]byte("#"), maxPolicyBody+1), status: 413, code: CodeBodyTooLarge},
		{name: "replace with matching If-Match", path: "/v1/policies/analytics", body: doc, header: map[string]string{"If-Match": etag}, status: 200, replace: true},
	} {
		req, _ := http.NewRequest("PUT", e.ts.URL+tt.path, bytes.NewReader(tt.body))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := e.admin.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}

	if resp := e.do(e.admin, "DELETE", "/v1/policies/analytics", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp := e.do(e.admin, "GET", "/v1/policies/analytics", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("get after delete: %d", resp.StatusCode)
	}
	if resp := e.do(e.admin, "DELETE", "/v1/policies/analytics", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("second delete: %d", resp.StatusCode)
	}
	nonce = e.challenge()
	if r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "analytics"}); r.err.Code != CodeUnknownPolicy {
		t.Fatalf("attest under the deleted policy: %d %q", r.status, r.err.Code)
	}

	var puts, deletes int
	for _, a := range e.entries() {
		switch a.Event {
		case EventPolicyPut:
			puts++
			if a.Admin != "CN=test admin" || a.PolicySHA256 != hashHex(doc) {
				t.Errorf("policy_put entry %+v", a)
			}
		case EventPolicyDelete:
			deletes++
		}
	}
	if puts != 2 || deletes != 1 {
		t.Errorf("audit: %d puts, %d deletes", puts, deletes)
	}
}

// TestKeyRotation: a token signed before a rotation keeps verifying during
// the overlap, and the rotated key set is what the key store saves.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	kek := bytes.Repeat([]byte{7}, KEKSize)
	sealer, err := NewAESGCMSealer(kek)
	must(t, err)
	kf := KeyFile{Path: dir + "/keys.sealed", Sealer: sealer}
	e := newEnv(t, func(c *Config) { c.KeyStore = kf; c.KeyOverlap = time.Hour })

	issue := func() string {
		nonce := e.challenge()
		r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: e.evidence(nonce, nil), Nonce: nonce, Policy: "dev"})
		if r.status != 200 {
			t.Fatalf("attest: %d %+v", r.status, r.err)
		}
		return r.token
	}
	before := issue()
	oldKid, _ := e.keys.Current()

	var rr RotateResponse
	if resp := e.do(e.admin, "POST", "/v1/keys/rotate", nil, &rr); resp.StatusCode != 200 || rr.KeyID == oldKid || rr.KeyID == "" {
		t.Fatalf("rotate: %d %+v", resp.StatusCode, rr)
	}
	after := issue()
	if u, _ := token.ParseUnverified(after); u.KeyID != rr.KeyID {
		t.Fatalf("new token signed by %q, want %q", u.KeyID, rr.KeyID)
	}
	// Both verify with the published keys (the old one is in its overlap).
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := e.verify(tok, token.Options{AllowSimulation: true}); err != nil {
			t.Errorf("verify token from %s the rotation: %v", name, err)
		}
	}
	// Saved: the key file holds the rotated set.
	ks, err := kf.Load()
	must(t, err)
	if kid, _ := ks.Current(); kid != rr.KeyID {
		t.Errorf("saved current kid %q, want %q", kid, rr.KeyID)
	}
	// After the overlap the old key leaves the JWKS: the old token no
	// longer verifies, even at a time when it had not expired.
	e.clock.Advance(time.Hour)
	_, err = e.verify(before, token.Options{AllowSimulation: true, Now: t0.Add(time.Minute)})
	if !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("old token after the overlap: %v, want unknown signing key", err)
	}
	rotations := 0
	for _, a := range e.entries() {
		if a.Event == EventKeysRotate {
			rotations++
			if a.KeyID != rr.KeyID || a.Admin != "CN=test admin" {
				t.Errorf("rotation entry %+v", a)
			}
		}
	}
	if rotations != 1 {
		t.Errorf("%d rotation entries", rotations)
	}
}

func TestPeriodicRotation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RotateEvery = time.Hour })
	kid, _ := e.keys.Current()
	e.srv.maybeRotate(t.Context())
	if k, _ := e.keys.Current(); k != kid {
		t.Fatal("rotated before the period")
	}
	e.clock.Advance(time.Hour)
	e.srv.maybeRotate(t.Context())
	if k, _ := e.keys.Current(); k == kid {
		t.Fatal("did not rotate after the period")
	}
}

// TestAdminChangesNeedTheAuditLog: with the audit log broken, no policy is
// stored or deleted and no key rotates (503); every change that does
// happen is on record before it happens.
func TestAdminChangesNeedTheAuditLog(t *testing.T) {
	broken := NewAuditLog(&failingSync{})
	if err := broken.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventRefuse}); err == nil {
		t.Fatal("the failing log accepted an entry")
	}
	e := newEnv(t, func(c *Config) { c.Audit = broken })
	kid, _ := e.keys.Current()
	doc := []byte(strings.Replace(policyDev, "name: dev", "name: analytics", 1))

	var er ErrorResponse
	if resp := e.do(e.admin, "PUT", "/v1/policies/analytics", doc, &er); resp.StatusCode != 503 || er.Code != CodeUnavailable {
		t.Fatalf("PUT with the audit log down: %d %+v", resp.StatusCode, er)
	}
	if resp := e.do(e.admin, "GET", "/v1/policies/analytics", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("the policy was stored unaudited: GET %d", resp.StatusCode)
	}
	if resp := e.do(e.admin, "DELETE", "/v1/policies/dev", nil, &er); resp.StatusCode != 503 || er.Code != CodeUnavailable {
		t.Fatalf("DELETE with the audit log down: %d %+v", resp.StatusCode, er)
	}
	if resp := e.do(e.admin, "GET", "/v1/policies/dev", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("the policy was deleted unaudited: GET %d", resp.StatusCode)
	}
	if resp := e.do(e.admin, "POST", "/v1/keys/rotate", nil, &er); resp.StatusCode != 503 || er.Code != CodeUnavailable {
		t.Fatalf("rotate with the audit log down: %d %+v", resp.StatusCode, er)
	}
	if _, err := e.srv.Rotate(context.Background()); !errors.Is(err, errAuditUnavailable) {
		t.Fatalf("Rotate: %v, want errAuditUnavailable", err)
	}
	if now, _ := e.keys.Current(); now != kid {
		t.Fatal("the key rotated unaudited")
	}
}

// TestAdminAuditBeforeChange: the audit entry of a rotation names the
// key that then signs.
func TestAdminAuditBeforeChange(t *testing.T) {
	e := newEnv(t)
	var rr RotateResponse
	if resp := e.do(e.admin, "POST", "/v1/keys/rotate", nil, &rr); resp.StatusCode != 200 {
		t.Fatalf("rotate: %d", resp.StatusCode)
	}
	ents := e.entries()
	if a := ents[len(ents)-1]; a.Event != EventKeysRotate || a.KeyID != rr.KeyID {
		t.Fatalf("audit %+v, rotated to %s", a, rr.KeyID)
	}
	if kid, _ := e.keys.Current(); kid != rr.KeyID {
		t.Fatalf("current %s, audited %s", kid, rr.KeyID)
	}
}
