package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/infer/imaging"
	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/infer/runtime"
	"github.com/cofre-cc/cofre/infer/service"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

const issuer = "https://coordinator.test"

var (
	serviceM = attest.Hex(bytes.Repeat([]byte{0x5e}, 32))
	callerM  = attest.Hex(bytes.Repeat([]byte{0xca}, 32))
	otherM   = attest.Hex(bytes.Repeat([]byte{0x0d}, 32))
	labels   = []string{"normal", "nodule", "effusion", "cardiomegaly"}
)

// env is an inference service on a loopback TLS port with the demo chest
// model on the real ONNX Runtime, and the tokens a coordinator would have
// issued (SIMULATION submods, as the sim TEE's).
type env struct {
	ks          *token.KeySet
	jwks        token.JWKS
	srv         *httptest.Server
	serviceCert tls.Certificate
	hpke        *sealed.PrivateKey
	modelSum    string
	infers      int // inference requests that reached the model
}

func libOptions(t *testing.T) runtime.Options {
	lib := os.Getenv(runtime.EnvLibrary)
	if lib == "" {
		lib = "../../bin/onnxruntime/libonnxruntime.so.1"
	}
	abs, _ := filepath.Abs(lib)
	if _, err := os.Stat(abs); err != nil {
		if os.Getenv("COFRE_REQUIRE_ONNXRUNTIME") == "1" {
			t.Fatalf("ONNX Runtime library: %v", err)
		}
		t.Skipf("ONNX Runtime library not found (%v): run make onnxruntime (COFRE_REQUIRE_ONNXRUNTIME=1 makes this a failure)", err)
	}
	return runtime.Options{LibraryPath: abs, IntraOpThreads: 1}
}

func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{name}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// issue makes a token for measurement m bound to pub (a crypto public key).
func (e *env) issue(t *testing.T, m attest.Hex, pub crypto.PublicKey, runtimeClaims map[string]string) string {
	t.Helper()
	cnf, err := token.ConfirmationForKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := &token.Claims{Issuer: issuer, IssuedAt: now, Expiry: now.Add(time.Hour), VerifierID: "cofre test",
		Confirmation: cnf, Runtime: runtimeClaims,
		Submods: map[string]token.Submod{token.PrimarySubmod: {
			Status: ear.TrustTierWarning, PolicyID: "dev",
			Vector: ear.TrustVector{InstanceIdentity: ear.TrustworthyInstanceClaim, Configuration: ear.ApprovedConfigClaim, Executables: ear.ApprovedRuntimeClaim, Hardware: ear.UnsafeHardwareClaim, RuntimeOpaque: ear.EncryptedMemoryRuntimeClaim},
			Claims: &attest.Claims{Format: attest.FormatSim, TEE: attest.TEESim, Measurement: m, Debug: true,
				ReportData: attest.Hex(bytes.Repeat([]byte{7}, 64)), TCBStatus: attest.TCBUnevaluated, Warnings: []string{attest.SimulationWarning}},
		}}}
	tok, err := token.NewIssuer(e.ks).Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newEnv(t *testing.T, requireSealed bool) *env {
	t.Helper()
	opts := libOptions(t)
	repo := t.TempDir()
	model, err := os.ReadFile("../models/chest/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(repo, "chest"), 0o755)
	os.WriteFile(filepath.Join(repo, "chest", "model.onnx"), model, 0o644)
	models, err := runtime.Open(repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close() })
	sum := sha256.Sum256(model)
	e := &env{modelSum: hex.EncodeToString(sum[:]), serviceCert: selfSigned(t, "diagnostics")}
	if e.ks, err = token.NewKeySet(token.ES256, time.Now()); err != nil {
		t.Fatal(err)
	}
	jwks, _ := e.ks.JWKS(time.Now())
	if e.jwks, err = token.StaticJWKS(jwks); err != nil {
		t.Fatal(err)
	}
	if e.hpke, err = sealed.GenerateKey(sealed.X25519); err != nil {
		t.Fatal(err)
	}
	hpkePub, err := token.ParseConfirmationJWK(e.hpke.PublicJWK())
	if err != nil {
		t.Fatal(err)
	}
	hpkeKey, _ := hpkePub.PublicKey()
	hpkeTok := e.issue(t, serviceM, hpkeKey, service.RuntimeClaims(models))
	tlsTok := e.issue(t, serviceM, e.serviceCert.Leaf.PublicKey, nil)
	h, err := service.Handler(service.Config{Models: models, Key: e.hpke, RequireSealed: requireSealed,
		Token: func() string { return hpkeTok }, TLSToken: func() string { return tlsTok },
		Callers: token.Options{JWKS: e.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{callerM}, AllowSimulation: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/infer") {
			e.infers++
		}
		h.ServeHTTP(w, r)
	}))
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{e.serviceCert}, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// caller returns a client for a caller of measurement m.
func (e *env) caller(t *testing.T, m attest.Hex, service attest.Hex, plaintext bool) *Client {
	t.Helper()
	cert := selfSigned(t, "care-api")
	tok := e.issue(t, m, cert.Leaf.PublicKey, nil)
	c, err := New(Options{URL: e.srv.URL, Certificate: &cert, Token: func() string { return tok }, Plaintext: plaintext,
		Service: token.Options{JWKS: e.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{service}, AllowSimulation: true}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func image(t *testing.T, name string) []oip.Tensor {
	t.Helper()
	b, err := os.ReadFile("../models/chest/examples/" + name + ".png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := imaging.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return []oip.Tensor{{Name: "image", Datatype: oip.FP32, Shape: imaging.Shape(), Data: img.Pixels}}
}

func top(t *testing.T, out []oip.Tensor) string {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("%d outputs", len(out))
	}
	p := out[0].Data.([]float32)
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return labels[best]
}

// TestAttestedSealedInference: an attested caller verifies the service,
// sends a sealed image and gets the model's finding; the model's hash in
// the service's token is the file's.
func TestAttestedSealedInference(t *testing.T) {
	e := newEnv(t, true)
	c := e.caller(t, callerM, serviceM, false)
	at, err := c.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if at.Models["chest"] != e.modelSum || !at.Claims.Simulation() {
		t.Fatalf("attested models %v (want chest=%s), simulation %t", at.Models, e.modelSum, at.Claims.Simulation())
	}
	for _, name := range labels {
		out, err := c.Infer(context.Background(), "chest", image(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := top(t, out); got != name {
			t.Errorf("%s.png diagnosed %s", name, got)
		}
	}
}

// TestRefusals: every check refuses, and no data reaches the model from a
// caller that did not verify the service.
func TestRefusals(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()

	t.Run("caller with another measurement gets 403", func(t *testing.T) {
		_, err := e.caller(t, otherM, serviceM, false).Infer(ctx, "chest", image(t, "normal"))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !strings.Contains(ae.Body, "measurement") {
			t.Fatalf("got %v, want 403 naming the measurement", err)
		}
	})
	t.Run("token bound to another certificate gets 401", func(t *testing.T) {
		cert, other := selfSigned(t, "a"), selfSigned(t, "b")
		tok := e.issue(t, callerM, other.Leaf.PublicKey, nil)
		c, _ := New(Options{URL: e.srv.URL, Certificate: &cert, Token: func() string { return tok },
			Service: token.Options{JWKS: e.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{serviceM}, AllowSimulation: true}})
		_, err := c.Infer(ctx, "chest", image(t, "normal"))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			t.Fatalf("got %v, want 401", err)
		}
	})
	t.Run("service with another measurement is refused before sending", func(t *testing.T) {
		before := e.infers
		_, err := e.caller(t, callerM, otherM, false).Infer(ctx, "chest", image(t, "normal"))
		if !errors.Is(err, ErrRefused) || e.infers != before {
			t.Fatalf("got %v (%d requests sent), want ErrRefused and none", err, e.infers-before)
		}
	})
	t.Run("simulated service refused unless allowed", func(t *testing.T) {
		cert := selfSigned(t, "c")
		c, _ := New(Options{URL: e.srv.URL, Certificate: &cert, Token: func() string { return "x" },
			Service: token.Options{JWKS: e.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{serviceM}}})
		if _, err := c.Attest(ctx); !errors.Is(err, ErrRefused) || !errors.Is(err, token.ErrSimulation) {
			t.Fatalf("got %v, want a simulation refusal", err)
		}
	})
	t.Run("plaintext body refused when sealing is required", func(t *testing.T) {
		_, err := e.caller(t, callerM, serviceM, true).Infer(ctx, "chest", image(t, "normal"))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("got %v, want 415", err)
		}
	})
	t.Run("tampered sealed body gets 400", func(t *testing.T) {
		c := e.caller(t, callerM, serviceM, false)
		at, err := c.Attest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := oip.EncodeInferRequest(&oip.InferRequest{Inputs: image(t, "normal")})
		sealedBody, _, err := sealed.SealRequest(at.key, "POST /v2/models/chest/infer", body)
		if err != nil {
			t.Fatal(err)
		}
		sealedBody[len(sealedBody)-20] ^= 1
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v2/models/chest/infer", bytes.NewReader(sealedBody))
		req.Header.Set("Content-Type", sealed.MediaType)
		req.Header.Set("Authorization", token.AuthScheme+" "+c.opts.Token())
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("no token gets 401", func(t *testing.T) {
		c := e.caller(t, callerM, serviceM, false)
		c.opts.Token = func() string { return "" }
		_, err := c.Infer(ctx, "chest", image(t, "normal"))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			t.Fatalf("got %v, want 401", err)
		}
	})
}

// TestFailedReattestation: after a re-attestation fails (here: an
// impostor's certificate), the client sends nothing more, on new
// connections or old ones, until an attestation succeeds again.
func TestFailedReattestation(t *testing.T) {
	e := newEnv(t, false)
	c := e.caller(t, callerM, serviceM, true)
	ctx := context.Background()
	if _, err := c.Infer(ctx, "chest", image(t, "normal")); err != nil {
		t.Fatal(err)
	}
	impostor := httptest.NewUnstartedServer(e.srv.Config.Handler)
	impostor.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "impostor")}, ClientAuth: tls.RequireAnyClientCert}
	impostor.StartTLS()
	defer impostor.Close()
	good := c.opts.URL
	c.opts.URL = impostor.URL
	if _, err := c.Attest(ctx); !errors.Is(err, ErrRefused) {
		t.Fatalf("re-attesting an impostor: %v", err)
	}
	before := e.infers
	if _, err := c.Infer(ctx, "chest", image(t, "normal")); err == nil {
		t.Fatal("an inference went out after a failed attestation")
	}
	c.opts.URL = good
	if e.infers != before {
		t.Fatal("the real service got a request after the failed attestation")
	}
	if _, err := c.Infer(ctx, "chest", image(t, "normal")); err != nil {
		t.Fatalf("after attesting the real service again: %v", err)
	}
}

// TestImpostorTLS: a server whose TLS key is not the one its TLS token
// binds (a relay in front of the real service) is refused.
func TestImpostorTLS(t *testing.T) {
	e := newEnv(t, false)
	impostor := httptest.NewUnstartedServer(e.srv.Config.Handler)
	impostor.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "impostor")}, ClientAuth: tls.RequireAnyClientCert}
	impostor.StartTLS()
	defer impostor.Close()
	c := e.caller(t, callerM, serviceM, false)
	c.opts.URL = impostor.URL
	if _, err := c.Attest(context.Background()); !errors.Is(err, ErrRefused) || !errors.Is(err, token.ErrConfirmation) {
		t.Fatalf("got %v, want a confirmation refusal", err)
	}
}
