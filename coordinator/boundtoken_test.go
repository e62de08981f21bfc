package coordinator

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/token"
)

// tokenOptions verifies workload tokens as a relying party of the test
// coordinator does, at the test clock's time.
func (e *testEnv) tokenOptions() token.Options {
	e.t.Helper()
	jwks, err := e.c.tokenKeys.JWKS(e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	keys, err := token.StaticJWKS(jwks)
	if err != nil {
		e.t.Fatal(err)
	}
	return token.Options{JWKS: keys, Issuer: e.cfg.Issuer, Now: e.clock.Now(), AllowSimulation: true}
}

// hpkeKey is the key an instance makes for relying parties to encrypt to.
func hpkeKey(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicJWK(t testing.TB, pub any) json.RawMessage {
	t.Helper()
	cf, err := token.ConfirmationForKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return cf.JWK
}

func models() map[string]string {
	return map[string]string{
		"chest-xray-cnn": hex.EncodeToString(sha256Sum("chest-xray-cnn.onnx")),
		"mnist-7":        hex.EncodeToString(sha256Sum("mnist-7.onnx")),
	}
}

func TestWorkloadToken(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	chain := workloadChain(t, r)
	opts := e.tokenOptions()
	opts.ConfirmationCertificate = chain[0]
	act, err := token.Verify(t.Context(), r.Token, opts)
	if err != nil {
		t.Fatalf("activation token: %v", err)
	}

	k := hpkeKey(t)
	nonce := bytes.Repeat([]byte{9}, 32)
	e.clock.Add(10 * time.Minute)
	resp, err := e.c.WorkloadToken(t.Context(), &api.WorkloadTokenRequest{PublicKey: publicJWK(t, k.PublicKey()), Runtime: models(), Nonce: nonce}, chain)
	if err != nil {
		t.Fatalf("WorkloadToken: %v", err)
	}
	opts = e.tokenOptions()
	opts.ConfirmationKey, opts.Nonce = k.PublicKey(), nonce
	got, err := token.Verify(t.Context(), resp.Token, opts)
	if err != nil {
		t.Fatalf("the workload token does not verify for the new key: %v", err)
	}
	if !reflect.DeepEqual(got.Submods, act.Submods) {
		t.Errorf("submods differ from the activation's:\n got %+v\nwant %+v", got.Submods, act.Submods)
	}
	if !got.EncryptionKey {
		t.Error("a workload token is not marked as bound to an encryption key: it would pass as a caller credential")
	}
	if !reflect.DeepEqual(got.Runtime, models()) {
		t.Errorf("runtime %v, want %v", got.Runtime, models())
	}
	if got.Issuer != act.Issuer || got.VerifierID != act.VerifierID || !got.Simulation() {
		t.Errorf("iss %q verifier %q simulation %v: want the activation token's", got.Issuer, got.VerifierID, got.Simulation())
	}
	// The certificate (1 h from activation) ends it before TokenLifetime
	// (1 h from now) does.
	if want := chain[0].NotAfter.Truncate(time.Second); !got.Expiry.Equal(want) || !resp.Expires.Equal(want) {
		t.Errorf("exp %v (response %v), want the certificate's expiry %v", got.Expiry, resp.Expires, want)
	}
	// It is bound to the new key, not to the certificate.
	opts.ConfirmationKey, opts.ConfirmationCertificate = nil, chain[0]
	if _, err := token.Verify(t.Context(), resp.Token, opts); !errors.Is(err, token.ErrConfirmation) {
		t.Errorf("verified for the certificate: %v, want ErrConfirmation", err)
	}

	// Without runtime claims or nonce; a short TokenLifetime sets exp.
	e.cfg.TokenLifetime = 5 * time.Minute
	e.restart()
	resp, err = e.c.WorkloadToken(t.Context(), &api.WorkloadTokenRequest{PublicKey: publicJWK(t, k.PublicKey())}, chain)
	if err != nil {
		t.Fatal(err)
	}
	opts = e.tokenOptions()
	opts.ConfirmationKey = k.PublicKey()
	if got, err = token.Verify(t.Context(), resp.Token, opts); err != nil || got.Runtime != nil || got.Nonce != nil {
		t.Fatalf("Verify: %v (%+v)", err, got)
	}
	if want := e.clock.Now().Add(5 * time.Minute); !got.Expiry.Equal(want) {
		t.Errorf("exp %v, want now + TokenLifetime %v", got.Expiry, want)
	}

	// The audit log names the instance and the key, by hash.
	var buf bytes.Buffer
	if err := e.c.AuditLines(t.Context(), 0, e.userCert, &buf); err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	runtimeJSON, _ := json.Marshal(models())
	rsum := sha256.Sum256(runtimeJSON)
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `"event":"workload_token"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d workload_token audit lines, want 2:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{`"granted":true`, `"instance":"` + r.Instance + `"`, `"key_sha256":"` + hex.EncodeToString(sum[:]) + `"`,
		`"runtime_sha256":"` + hex.EncodeToString(rsum[:]) + `"`, `"status":"warning"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("audit line lacks %s: %s", want, lines[0])
		}
	}
	if strings.Contains(lines[0], "mnist-7") {
		t.Error("the audit line holds the runtime claims themselves, not their hash")
	}
}

// TestWorkloadTokenRefusals covers every refusal, each with its code and
// the check it names.
func TestWorkloadTokenRefusals(t *testing.T) {
	e := newTestEnv(t)
	info := e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	chain := workloadChain(t, r)
	good := func() *api.WorkloadTokenRequest {
		return &api.WorkloadTokenRequest{PublicKey: publicJWK(t, hpkeKey(t).PublicKey()), Runtime: models()}
	}
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	private, err := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"})
	if err != nil {
		t.Fatal(err)
	}
	many := map[string]string{}
	for i := range 33 {
		many[fmt.Sprintf("m%02d", i)] = "v"
	}

	tests := []struct {
		name  string
		edit  func(*api.WorkloadTokenRequest)
		chain []*x509.Certificate
		err   *Error // the class (errors.Is)
		check string // a reason's check, for bad requests
	}{
		{"no client certificate", nil, []*x509.Certificate{}, ErrUnauthorized, ""},
		{"a user's certificate", nil, []*x509.Certificate{e.userCert}, ErrUnauthorized, ""},
		{"no public key", func(q *api.WorkloadTokenRequest) { q.PublicKey = nil }, nil, ErrBadRequest, "public_key"},
		{"a private JWK", func(q *api.WorkloadTokenRequest) { q.PublicKey = private }, nil, ErrBadRequest, "public_key"},
		{"a symmetric JWK", func(q *api.WorkloadTokenRequest) { q.PublicKey = json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`) }, nil, ErrBadRequest, "public_key"},
		{"RSA-1024", func(q *api.WorkloadTokenRequest) {
			q.PublicKey = json.RawMessage(fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB"}`, base64.RawURLEncoding.EncodeToString(weakRSA.N.Bytes())))
		}, nil, ErrBadRequest, "public_key"},
		{"an extra member", func(q *api.WorkloadTokenRequest) {
			q.PublicKey = json.RawMessage(strings.Replace(string(q.PublicKey), `{`, `{"secret":"s",`, 1))
		}, nil, ErrBadRequest, "public_key"},
		{"not JSON", func(q *api.WorkloadTokenRequest) { q.PublicKey = json.RawMessage(`"pem"`) }, nil, ErrBadRequest, "public_key"},
		{"the certificate's own key", func(q *api.WorkloadTokenRequest) { q.PublicKey = publicJWK(t, &a.key.PublicKey) }, nil, ErrBadRequest, "public_key"},
		{"33 runtime claims", func(q *api.WorkloadTokenRequest) { q.Runtime = many }, nil, ErrBadRequest, "runtime"},
		{"a runtime name with a newline", func(q *api.WorkloadTokenRequest) { q.Runtime = map[string]string{"model\nforged": "v"} }, nil, ErrBadRequest, "runtime"},
		{"a runtime value too long", func(q *api.WorkloadTokenRequest) { q.Runtime = map[string]string{"model": strings.Repeat("v", 257)} }, nil, ErrBadRequest, "runtime"},
		{"a short nonce", func(q *api.WorkloadTokenRequest) { q.Nonce = []byte("1234") }, nil, ErrBadRequest, "nonce"},
		{"a long nonce", func(q *api.WorkloadTokenRequest) { q.Nonce = make([]byte, 65) }, nil, ErrBadRequest, "nonce"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := good()
			if tt.edit != nil {
				tt.edit(q)
			}
			ch := chain
			if tt.chain != nil {
				ch = tt.chain
			}
			resp, err := e.c.WorkloadToken(t.Context(), q, ch)
			if !errors.Is(err, tt.err) {
				t.Fatalf("WorkloadToken: %v (%+v), want %s", err, resp, tt.err.Code)
			}
			if tt.check == "" {
				return
			}
			var ce *Error
			errors.As(err, &ce)
			for _, r := range ce.Reasons {
				if r.Check == tt.check {
					return
				}
			}
			t.Fatalf("reasons %+v name no check %q", ce.Reasons, tt.check)
		})
	}
	t.Run("every problem reported", func(t *testing.T) {
		q := &api.WorkloadTokenRequest{PublicKey: private, Runtime: many, Nonce: []byte{1}}
		_, err := e.c.WorkloadToken(t.Context(), q, chain)
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Reasons) != 3 {
			t.Fatalf("%v, want 3 reasons", err)
		}
	})

	// The instance record changes under the instance.
	editRecord := func(edit func(*instanceRecord)) {
		t.Helper()
		err := e.c.store.Update(func(tx *store.Tx) error {
			b, err := tx.Get(store.Manifest("hospital"), tableInstances, r.Instance)
			if err != nil {
				return err
			}
			var rec instanceRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return err
			}
			edit(&rec)
			if b, err = json.Marshal(rec); err != nil {
				return err
			}
			return tx.Put(store.Manifest("hospital"), tableInstances, r.Instance, b)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("activated before workload tokens", func(t *testing.T) {
		var saved json.RawMessage
		editRecord(func(rec *instanceRecord) { saved, rec.Submods = rec.Submods, nil })
		defer editRecord(func(rec *instanceRecord) { rec.Submods = saved })
		if _, err := e.c.WorkloadToken(t.Context(), good(), chain); !errors.Is(err, ErrConflict) {
			t.Fatalf("%v, want conflict", err)
		}
	})
	t.Run("past the instance deadline", func(t *testing.T) {
		var saved time.Time
		editRecord(func(rec *instanceRecord) { saved, rec.Deadline = rec.Deadline, t0 })
		defer editRecord(func(rec *instanceRecord) { rec.Deadline = saved })
		if _, err := e.c.WorkloadToken(t.Context(), good(), chain); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("%v, want unauthorized", err)
		}
	})
	if _, err := e.c.WorkloadToken(t.Context(), good(), chain); err != nil {
		t.Fatalf("the restored record: %v", err)
	}

	t.Run("unknown instance", func(t *testing.T) {
		other := newTestEnv(t)
		other.mustUpload(other.manifestDoc(doc{}), 0, 1)
		or, err := other.activate(other.activation())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.WorkloadToken(t.Context(), good(), workloadChain(t, or)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("another coordinator's instance: %v, want unauthorized", err)
		}
		if err := e.c.store.Update(func(tx *store.Tx) error {
			return tx.Delete(store.Manifest("hospital"), tableInstances, r.Instance)
		}); err != nil {
			t.Fatal(err)
		}
		// Later subtests activate instances of their own.
		if _, err := e.c.WorkloadToken(t.Context(), good(), chain); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("a deleted instance: %v, want unauthorized", err)
		}
	})

	t.Run("superseded by a renewal", func(t *testing.T) {
		b := e.activation()
		rb, err := e.activate(b)
		if err != nil {
			t.Fatal(err)
		}
		old := workloadChain(t, rb)
		if _, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, b)}, old); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.WorkloadToken(t.Context(), good(), old); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("%v, want unauthorized", err)
		}
	})

	t.Run("manifest updated since activation", func(t *testing.T) {
		b := e.activation()
		rb, err := e.activate(b)
		if err != nil {
			t.Fatal(err)
		}
		e.mustUpload(e.manifestDoc(doc{version: 2, predecessor: info.SHA256}), 0, 1)
		if _, err := e.c.WorkloadToken(t.Context(), good(), workloadChain(t, rb)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("%v, want unauthorized", err)
		}
	})

	t.Run("expired certificate", func(t *testing.T) {
		b := e.activation()
		rb, err := e.activate(b)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(2 * time.Hour)
		if _, err := e.c.WorkloadToken(t.Context(), good(), workloadChain(t, rb)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("%v, want unauthorized", err)
		}
	})

	// Every call, granted or refused, left an audit line.
	var buf bytes.Buffer
	if err := e.c.AuditLines(t.Context(), 0, e.userCert, &buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `"event":"workload_token","granted":false`); n < len(tests) {
		t.Errorf("%d refused workload_token audit lines, want at least %d", n, len(tests))
	}
}

// TestWorkloadTokenHTTP drives the endpoint through the TLS server and the
// Go client: only a workload certificate gets a token.
func TestWorkloadTokenHTTP(t *testing.T) {
	e := newTestEnv(t)
	base := e.serve()
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	wl := e.client(base, &tls.Certificate{Certificate: append([][]byte{r.Certificate}, r.Chain...), PrivateKey: a.key})
	k := hpkeKey(t)
	tok, err := wl.WorkloadToken(t.Context(), k.PublicKey(), models(), nil)
	if err != nil {
		t.Fatalf("WorkloadToken: %v", err)
	}
	opts := e.tokenOptions()
	opts.ConfirmationKey = k.PublicKey()
	if c, err := token.Verify(t.Context(), tok, opts); err != nil || c.Runtime["mnist-7"] == "" {
		t.Fatalf("Verify: %v", err)
	}
	userTLS := &tls.Certificate{Certificate: [][]byte{e.userCert.Raw}, PrivateKey: e.user, Leaf: e.userCert}
	for name, c := range map[string]*tls.Certificate{"no certificate": nil, "a user certificate": userTLS} {
		if _, err := e.client(base, c).WorkloadToken(t.Context(), k.PublicKey(), nil, nil); !isStatus(err, 401) {
			t.Errorf("%s: %v, want 401", name, err)
		}
	}
	if _, err := wl.WorkloadToken(t.Context(), k.PublicKey(), map[string]string{"bad name": "v"}, nil); !isStatus(err, 400) {
		t.Errorf("bad runtime: %v, want 400", err)
	}

	// The metrics count the route and the audit events, granted and not.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(e.c.RootCertificate()), ServerName: "localhost"}}}
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`cofre_coordinator_audit_events_total{event="workload_token",granted="true"} 1`,
		`cofre_coordinator_audit_events_total{event="workload_token",granted="false"} 3`,
		`route="workload_token"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// FuzzWorkloadTokenRequest sends arbitrary bodies to POST
// /v1/workload/token with a genuine workload certificate: the coordinator
// answers with an API error (never a panic or a 500), or with a token that
// verifies and binds a public key.
func FuzzWorkloadTokenRequest(f *testing.F) {
	e := newTestEnv(f)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		f.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, der := range append([][]byte{r.Certificate}, r.Chain...) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			f.Fatal(err)
		}
		chain = append(chain, c)
	}
	f.Add([]byte(`{}`))
	h := e.c.Handler()
	opts := e.tokenOptions()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, api.PathWorkloadToken, bytes.NewReader(body))
		req.TLS = &tls.ConnectionState{PeerCertificates: chain}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s for %q", rec.Code, rec.Body, body)
		}
		if rec.Code != http.StatusOK {
			var apiErr api.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &apiErr); err != nil || apiErr.Code == "" {
				t.Fatalf("answer %d is not an API error: %s", rec.Code, rec.Body)
			}
			return
		}
		var resp api.WorkloadTokenResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		c, err := token.Verify(t.Context(), resp.Token, opts)
		if err != nil {
			t.Fatalf("issued a token that does not verify: %v", err)
		}
		if _, err := c.Confirmation.PublicKey(); err != nil {
			t.Fatalf("issued a token without a public cnf key: %v", err)
		}
	})
}

// TestRenewToken: a renewal carries a fresh token for the renewed
// certificate, with the activation's appraisal; an instance whose record
// has no appraisal renews without one.
func TestRenewToken(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.MaxInstanceLife = 3 * time.Hour
	e.restart()
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	chain := workloadChain(t, r)
	opts := e.tokenOptions()
	opts.ConfirmationCertificate = chain[0]
	act, err := token.Verify(t.Context(), r.Token, opts)
	if err != nil {
		t.Fatalf("activation token: %v", err)
	}

	e.clock.Add(50 * time.Minute)
	rn, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
	if err != nil {
		t.Fatal(err)
	}
	if rn.Token == "" {
		t.Fatal("the renewal carries no token")
	}
	renewed, err := x509.ParseCertificate(rn.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	opts = e.tokenOptions()
	opts.ConfirmationCertificate = renewed
	got, err := token.Verify(t.Context(), rn.Token, opts)
	if err != nil {
		t.Fatalf("the renewal token does not verify for the renewed certificate: %v", err)
	}
	if !reflect.DeepEqual(got.Submods, act.Submods) || got.Issuer != act.Issuer || got.VerifierID != act.VerifierID {
		t.Errorf("claims differ from the activation's:\n got %+v\nwant %+v", got, act)
	}
	// TokenLifetime (1 h) and the certificate (1 h) end together, before
	// the deadline (3 h).
	if want := e.clock.Now().Add(time.Hour); !got.Expiry.Equal(want) || !rn.TokenExpires.Equal(want) {
		t.Errorf("exp %v (response %v), want %v", got.Expiry, rn.TokenExpires, want)
	}
	// The old activation token is past its exp by now; the new one is not.
	e.clock.Add(20 * time.Minute)
	opts = e.tokenOptions()
	opts.ConfirmationCertificate = renewed
	if _, err := token.Verify(t.Context(), r.Token, opts); !errors.Is(err, token.ErrExpired) {
		t.Errorf("the activation token after 70 min: %v, want ErrExpired", err)
	}
	if _, err := token.Verify(t.Context(), rn.Token, opts); err != nil {
		t.Errorf("the renewal token after 20 min: %v", err)
	}
	// Bound to the certificate's key, not another.
	opts.ConfirmationCertificate, opts.ConfirmationKey = nil, hpkeKey(t).PublicKey()
	if _, err := token.Verify(t.Context(), rn.Token, opts); !errors.Is(err, token.ErrConfirmation) {
		t.Errorf("verified for another key: %v, want ErrConfirmation", err)
	}

	// Near the deadline the deadline sets exp.
	chain = []*x509.Certificate{renewed, chain[1]}
	e.clock.Add(30 * time.Minute) // 1 h 40 min after activation
	rn, err = e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
	if err != nil {
		t.Fatal(err)
	}
	renewed, _ = x509.ParseCertificate(rn.Certificate)
	chain = []*x509.Certificate{renewed, chain[1]}
	e.clock.Add(50 * time.Minute) // 2 h 30 min
	rn, err = e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(3 * time.Hour); !rn.TokenExpires.Equal(want) {
		t.Errorf("token exp %v, want the instance deadline %v", rn.TokenExpires, want)
	}
	renewed, _ = x509.ParseCertificate(rn.Certificate)
	chain = []*x509.Certificate{renewed, chain[1]}

	// A record without the appraisal: a renewal, no token, no error.
	if err := e.c.store.Update(func(tx *store.Tx) error {
		b, err := tx.Get(store.Manifest("hospital"), tableInstances, r.Instance)
		if err != nil {
			return err
		}
		var rec instanceRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		rec.Submods = nil
		if b, err = json.Marshal(rec); err != nil {
			return err
		}
		return tx.Put(store.Manifest("hospital"), tableInstances, r.Instance, b)
	}); err != nil {
		t.Fatal(err)
	}
	rn, err = e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
	if err != nil {
		t.Fatalf("renew without a stored appraisal: %v", err)
	}
	if rn.Token != "" || !rn.TokenExpires.IsZero() {
		t.Errorf("token %q (exp %v) for an instance without a stored appraisal", rn.Token, rn.TokenExpires)
	}
	b, err := json.Marshal(rn)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"token`)) {
		t.Errorf("the response names a token: %s", b)
	}
}
