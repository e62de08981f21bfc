package attestd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/token"
)

// benchEnv is a test server whose audit log is a real file (fsync on
// every append), for benchmarks.
func benchEnv(b *testing.B) (*env, http.Handler) {
	e := newEnv(b)
	audit, err := OpenAuditLog(filepath.Join(b.TempDir(), "audit.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { audit.Close() })
	e.cfg.Audit = audit
	srv, err := New(e.cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e, srv.Handler()
}

// BenchmarkAttest measures the server side of one issuance: the challenge
// and attest handlers with sim evidence, an ES256 token and an audit
// append synced to a file, without TLS or the network. Evidence is
// produced in batches outside the timer.
func BenchmarkAttest(b *testing.B) {
	e, h := benchEnv(b)
	const batch = 128
	var bodies [][]byte
	b.ResetTimer()
	for range b.N {
		if len(bodies) == 0 {
			b.StopTimer()
			for range batch {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/challenge", nil))
				var cr ChallengeResponse
				json.Unmarshal(rec.Body.Bytes(), &cr)
				body, _ := json.Marshal(AttestRequest{Evidence: e.evidence(cr.Nonce, nil), Nonce: cr.Nonce, Policy: "dev"})
				bodies = append(bodies, body)
			}
			b.StartTimer()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/attest/sim.v1", bytes.NewReader(bodies[0])))
		bodies = bodies[1:]
		if rec.Code != http.StatusOK {
			b.Fatalf("attest: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkAttestParts: the pieces of one issuance alone, to see where the
// time of BenchmarkAttest goes.
func BenchmarkAttestParts(b *testing.B) {
	e, _ := benchEnv(b)
	nonce := bytes.Repeat([]byte{1}, attest.NonceSize)
	payload := e.evidence(nonce, nil)
	ev := attest.Evidence{Format: attest.FormatSim, Payload: payload}
	ctx := context.Background()
	claims, err := e.cfg.Registry.Verify(ctx, ev, attest.Options{Now: t0})
	if err != nil {
		b.Fatal(err)
	}
	sp, _ := e.cfg.Policies.Policy(ctx, "dev")
	res := appraise.Appraise(claims, sp.Policy, t0)
	tc := &token.Claims{Issuer: "https://attest.example", IssuedAt: t0, Expiry: t0.Add(defaultTokenLifetime), Nonce: nonce,
		VerifierID: "bench", Submods: map[string]token.Submod{"cpu0": token.NewSubmod(claims, res)}}
	issuer := token.NewIssuer(e.keys)
	b.Run("sim verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.cfg.Registry.Verify(ctx, ev, attest.Options{Now: t0}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appraise", func(b *testing.B) {
		for b.Loop() {
			appraise.Appraise(claims, sp.Policy, t0)
		}
	})
	b.Run("issue ES256", func(b *testing.B) {
		for b.Loop() {
			if _, err := issuer.Issue(tc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("audit append+fsync", func(b *testing.B) {
		for b.Loop() {
			if err := e.cfg.Audit.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue, Format: attest.FormatSim, EvidenceSHA256: []string{hashHex(payload)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode request", func(b *testing.B) {
		body, _ := json.Marshal(AttestRequest{Evidence: payload, Nonce: nonce, Policy: "dev"})
		for b.Loop() {
			if _, err := decodeAttestRequest(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
