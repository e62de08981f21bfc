package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// epoch is when the fixtures are made; clients verify an hour later.
var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at() time.Time { return epoch.Add(time.Hour) }

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl *x509.Certificate, parent *ca, pub, signer any) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	parentCert, parentKey := tmpl, signer
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCA(t testing.TB, name string, parent *ca) *ca {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             epoch.Add(-time.Minute),
		NotAfter:              epoch.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	return &ca{cert: issue(t, tmpl, parent, &k.PublicKey, k), key: k}
}

// serverCert issues a TLS server certificate (and its chain) from issuer.
func serverCert(t testing.TB, issuer *ca, chain []*x509.Certificate, notAfter time.Time) tls.Certificate {
	t.Helper()
	k := newKey(t)
	leaf := issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "coordinator"},
		NotBefore:   epoch.Add(-time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, issuer, &k.PublicKey, nil)
	tc := tls.Certificate{PrivateKey: k, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// userCert is a self-signed client certificate, as manifests list them.
func userCert(t testing.TB) tls.Certificate {
	t.Helper()
	k := newKey(t)
	c := issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "alice"},
		NotBefore:   epoch.Add(-time.Minute),
		NotAfter:    epoch.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, nil, &k.PublicKey, k)
	return tls.Certificate{PrivateKey: k, Leaf: c, Certificate: [][]byte{c.Raw}}
}

// fake is a fake coordinator: a loopback TLS server whose
// GET /v1/attestation serves sim evidence bound to a root, and whose other
// endpoints are whatever the test sets in handler.
type fake struct {
	t        testing.TB
	srv      *httptest.Server
	root     *ca // the coordinator's root
	simRoot  *sim.Root
	platform *sim.Platform
	producer *sim.Producer

	mu sync.Mutex // guards the fields below
	// bindRoot is the root whose key the evidence binds (default root).
	bindRoot *x509.Certificate
	// fixedNonce, if set, replaces the client's nonce (replay).
	fixedNonce []byte
	// attestation, if set, answers GET /v1/attestation instead.
	attestation http.HandlerFunc
	cert        tls.Certificate
	handler     http.HandlerFunc

	attestations atomic.Int32
}

func newFake(t testing.TB) *fake {
	t.Helper()
	simRoot, err := sim.NewRoot(epoch, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := simRoot.NewPlatform("node-1", epoch, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m := sha256.Sum256([]byte("coordinator"))
	f := &fake{
		t:        t,
		root:     newCA(t, "cofre coordinator root test", nil),
		simRoot:  simRoot,
		platform: plat,
		producer: &sim.Producer{Platform: plat, Measurement: m[:], Now: func() time.Time { return epoch }},
	}
	f.cert = serverCert(t, f.root, nil, epoch.Add(24*time.Hour))
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// httptest adds its own certificate to srv.TLS; the per-connection
	// config replaces it with f.cert (the client dials an IP, so there is
	// no SNI for GetCertificate to go by).
	f.srv.TLS = &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return &tls.Config{ClientAuth: tls.RequestClientCert, Certificates: []tls.Certificate{f.cert}}, nil
		},
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) set(fn func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	attestation, handler := f.attestation, f.handler
	f.mu.Unlock()
	if r.URL.Path == api.PathAttestation && r.Method == http.MethodGet {
		f.attestations.Add(1)
		if attestation != nil {
			attestation(w, r)
			return
		}
		f.serveAttestation(w, r)
		return
	}
	if handler == nil {
		http.NotFound(w, r)
		return
	}
	handler(w, r)
}

func (f *fake) serveAttestation(w http.ResponseWriter, r *http.Request) {
	nonce, err := hex.DecodeString(r.URL.Query().Get(api.NonceQueryParam))
	if err != nil || len(nonce) != attest.NonceSize {
		writeJSON(w, http.StatusBadRequest, api.Error{Code: api.CodeBadRequest, Message: "bad nonce"})
		return
	}
	f.mu.Lock()
	bind := f.root.cert
	if f.bindRoot != nil {
		bind = f.bindRoot
	}
	if f.fixedNonce != nil {
		nonce = f.fixedNonce
	}
	f.mu.Unlock()
	rd, err := attest.ReportData(nonce, bind.RawSubjectPublicKeyInfo, nil)
	if err != nil {
		f.t.Error(err)
		return
	}
	ev, err := f.producer.Produce(context.Background(), rd)
	if err != nil {
		f.t.Error(err)
		return
	}
	w.Header().Set(api.HeaderSimulation, "true")
	writeJSON(w, http.StatusOK, api.AttestationResponse{
		Evidence:        api.Evidence{Format: ev.Format, Data: ev.Payload},
		RootCertificate: f.root.cert.Raw,
		TrustDomain:     "cofre.test",
		Simulation:      true,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// registry trusts the fake's sim root.
func (f *fake) registry() *attest.Registry {
	pool := x509.NewCertPool()
	pool.AddCert(f.simRoot.Cert)
	return attest.NewRegistry(sim.NewVerifier(pool))
}

// policy admits the fake's sim measurement (or another).
func simPolicy(measurement []byte) *appraise.Policy {
	return &appraise.Policy{
		Name:            "coordinator",
		AllowSimulation: true,
		References:      []appraise.Reference{{TEE: attest.TEESim, Measurements: []attest.Hex{measurement}, DebugAllowed: true}},
	}
}

// options are the defaults of a client of f: sim accepted, no policy.
func (f *fake) options() Options {
	return Options{Registry: f.registry(), InsecureSimulation: true, Now: at}
}

func (f *fake) client(t testing.TB, opts Options) *Client {
	t.Helper()
	c, err := New(f.srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
