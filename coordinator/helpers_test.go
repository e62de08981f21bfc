package coordinator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/manifest"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testEnv is a coordinator on a simulated platform, with three manifest
// owners, a user and a workload measurement.
type testEnv struct {
	t     testing.TB
	dir   string
	root  *sim.Root
	plat  *sim.Platform
	cfg   Config
	c     *Coordinator
	clock *testClock

	owners      []*ecdsa.PrivateKey
	user        *ecdsa.PrivateKey
	userCert    *x509.Certificate
	measurement []byte
}

// testWriter sends the coordinator's log to the test's.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), clock: &testClock{now: t0}}
	var err error
	if e.root, err = sim.NewRoot(t0.Add(-time.Hour), 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if e.plat, err = e.root.NewPlatform("test-node", t0.Add(-time.Hour), 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(e.root.Cert)
	// The sim verifier, and a stand-in for a hardware verifier (fakeTEE)
	// for the cases sim evidence cannot show (debug mode).
	reg := attest.NewRegistry(sim.NewVerifier(pool), fakeTEE{})
	sealer, err := seal.NewSimSealer(e.plat, []byte("coordinator test"))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = Config{
		StateDir:     e.dir,
		Sealer:       sealer,
		TrustDomain:  "cofre.test",
		Producer:     &sim.Producer{Platform: e.plat, Measurement: []byte("coordinator"), Now: e.clock.Now},
		Registry:     reg,
		Issuer:       "https://coordinator.test",
		Clock:        e.clock.Now,
		CertLifetime: time.Hour,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	for range 3 {
		e.owners = append(e.owners, newKey(t))
	}
	e.user = newKey(t)
	e.userCert = selfSigned(t, e.user, "alice")
	e.measurement = sha256Sum("workload v1")
	e.start()
	t.Cleanup(func() {
		if e.c != nil {
			e.c.Close()
		}
	})
	return e
}

func (e *testEnv) start() {
	e.t.Helper()
	c, err := New(e.cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.c = c
}

// restart closes the coordinator and opens its state again.
func (e *testEnv) restart() {
	e.t.Helper()
	if err := e.c.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.c = nil
	e.start()
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func selfSigned(t testing.TB, k *ecdsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func pubPEM(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

// doc is a manifest document for the test environment.
type doc struct {
	name        string
	version     uint64
	predecessor string
	threshold   int
	reference   string // the sim reference's body (indented by the caller)
	extra       string // more top-level YAML
	service     string // more service YAML (indented 4)
	tolerations string
}

func (e *testEnv) manifestDoc(d doc) []byte {
	e.t.Helper()
	if d.name == "" {
		d.name = "hospital"
	}
	if d.version == 0 {
		d.version = 1
	}
	if d.threshold == 0 {
		d.threshold = 2
	}
	if d.reference == "" {
		d.reference = "measurements: [" + hex.EncodeToString(e.measurement) + "]\ndebug_allowed: true"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nversion: %d\n", d.name, d.version)
	if d.predecessor != "" {
		fmt.Fprintf(&b, "predecessor: %s\n", d.predecessor)
	}
	b.WriteString("owners:\n")
	for i, k := range e.owners {
		fmt.Fprintf(&b, "  owner%d:\n    public_key: |\n%s\n", i, indent(pubPEM(e.t, k), 6))
	}
	fmt.Fprintf(&b, "update_threshold: %d\n", d.threshold)
	fmt.Fprintf(&b, "packages:\n  app:\n    references:\n      - tee: sim\n%s\n", indent(d.reference, 8))
	fmt.Fprintf(&b, `services:
  api:
    package: app
    command: ["/app/api", "--port", '{{ host "port" }}']
    host_params:
      port:
        pattern: "[0-9]{1,5}"
    env:
      DB_PASSWORD: '{{ secret "db_password" }}'
      SESSION_KEY: '{{ secret "session" "hex" }}'
      ME: '{{ workload "spiffe-id" }}'
    files:
      /etc/api/cert.pem: '{{ workload "cert-pem" }}'
      /etc/api/partner: '{{ secret "partner_token" }}'
    kms_grants: [master]
    volumes:
      data:
        path: /data
        key: volkey
      tmp:
        path: /tmp/spill
        key: volkey
        scratch: true
%s
  worker:
    package: app
    command: ["/app/worker"]
    max_instances: 2
secrets:
  db_password:
    kind: ascii
    size: 24
  session:
    kind: symmetric
  per_instance:
    kind: symmetric
    shared: false
  volkey:
    kind: symmetric
  master:
    kind: parquet-master-key
  other_master:
    kind: parquet-master-key
  partner_token:
    kind: uploaded
users:
  alice:
    certificate: |
%s
    roles: [uploader, auditor]
roles:
  uploader:
    resource: secrets
    names: [partner_token]
    actions: [read, write]
  auditor:
    resource: audit
    actions: [read]
attestation:
  allow_simulation: true
`, indent(d.service, 4), indent(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.userCert.Raw})), 6))
	if d.tolerations != "" {
		fmt.Fprintf(&b, "  tolerations:\n%s\n", indent(d.tolerations, 4))
	}
	b.WriteString(d.extra)
	return []byte(b.String())
}

// upload signs the document with the given owners and sets it.
func (e *testEnv) upload(name string, document []byte, signers ...int) (*api.ManifestInfo, error) {
	e.t.Helper()
	up := &api.ManifestUpload{Document: document}
	hash := manifest.Hash(document)
	for _, i := range signers {
		sig, err := manifest.Sign(document, e.owners[i])
		if err != nil {
			e.t.Fatal(err)
		}
		f, err := manifest.MarshalSignature(manifest.Signature{Owner: fmt.Sprintf("owner%d", i), Signature: sig}, hash)
		if err != nil {
			e.t.Fatal(err)
		}
		up.Signatures = append(up.Signatures, f)
	}
	return e.c.SetManifest(context.Background(), name, up)
}

func (e *testEnv) mustUpload(document []byte, signers ...int) *api.ManifestInfo {
	e.t.Helper()
	m, err := manifest.Parse("test", document)
	if err != nil {
		e.t.Fatalf("test manifest does not parse: %v\n%s", err, document)
	}
	info, err := e.upload(m.Name, document, signers...)
	if err != nil {
		e.t.Fatalf("SetManifest: %v", err)
	}
	if _, ok := m.Secrets["partner_token"]; ok {
		if err := e.c.SetSecret(context.Background(), m.Name, "partner_token", []byte("s3cret-partner"), e.userCert); err != nil {
			e.t.Fatalf("SetSecret: %v", err)
		}
	}
	return info
}

// activation describes one activation attempt; tests change fields to
// make it wrong in one way.
type activation struct {
	manifest, service string
	measurement       []byte
	svn               uint64
	digest            []byte
	evidenceDigest    []byte            // the digest the evidence binds (default digest)
	key               *ecdsa.PrivateKey // the CSR key
	boundKey          *ecdsa.PrivateKey // the key the evidence binds (default key)
	nonce             []byte            // default: a fresh challenge
	producer          attest.Producer   // default: the env's sim platform
	host              map[string]string
}

func (e *testEnv) activation() *activation {
	return &activation{manifest: "hospital", service: "api", measurement: e.measurement,
		digest: sha256Sum("binary"), key: newKey(e.t), host: map[string]string{"port": "8443"}}
}

func (e *testEnv) request(a *activation) *api.ActivateRequest {
	e.t.Helper()
	if a.nonce == nil {
		ch := e.c.Challenge()
		a.nonce = ch.Nonce
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, a.key)
	if err != nil {
		e.t.Fatal(err)
	}
	bound := a.boundKey
	if bound == nil {
		bound = a.key
	}
	spki, err := x509.MarshalPKIXPublicKey(&bound.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	digest := a.evidenceDigest
	if digest == nil {
		digest = a.digest
	}
	rd, err := attest.ReportData(a.nonce, spki, digest)
	if err != nil {
		e.t.Fatal(err)
	}
	p := a.producer
	if p == nil {
		p = &sim.Producer{Platform: e.plat, Measurement: a.measurement, SVN: a.svn, Now: e.clock.Now}
	}
	ev, err := p.Produce(context.Background(), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	return &api.ActivateRequest{Manifest: a.manifest, Service: a.service, Nonce: a.nonce,
		Evidence: api.Evidence{Format: ev.Format, Data: ev.Payload}, CSR: csrDER, WorkloadDigest: a.digest, HostParams: a.host}
}

func (e *testEnv) activate(a *activation) (*api.ActivateResponse, error) {
	e.t.Helper()
	return e.c.Activate(context.Background(), e.request(a))
}

// workloadChain returns the certificate chain an activation issued.
func workloadChain(t *testing.T, r *api.ActivateResponse) []*x509.Certificate {
	t.Helper()
	var chain []*x509.Certificate
	for _, der := range append([][]byte{r.Certificate}, r.Chain...) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	return chain
}

// fakeTEE stands in for a hardware verifier: its "evidence" is the JSON of
// its claims. Only tests register it, to reach checks sim evidence cannot
// (a hardware TEE in debug mode).
type fakeTEE struct{}

func (fakeTEE) Format() string { return attest.FormatSEVSNP }

func (fakeTEE) Verify(_ context.Context, ev attest.Evidence, _ attest.Options) (*attest.Claims, error) {
	var p fakeEvidence
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return nil, attest.Malformed("fake: %v", err)
	}
	return &attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, TCBStatus: attest.TCBUnevaluated,
		Measurement: p.Measurement, Debug: p.Debug, ReportData: p.ReportData}, nil
}

type fakeEvidence struct {
	Measurement attest.Hex `json:"measurement"`
	Debug       bool       `json:"debug"`
	ReportData  attest.Hex `json:"report_data"`
}

// fakeProducer makes fakeTEE evidence.
type fakeProducer struct {
	measurement []byte
	debug       bool
}

func (fakeProducer) Format() string { return attest.FormatSEVSNP }

func (p fakeProducer) Produce(_ context.Context, rd [attest.ReportDataSize]byte) (attest.Evidence, error) {
	b, err := json.Marshal(fakeEvidence{Measurement: p.measurement, Debug: p.debug, ReportData: rd[:]})
	return attest.Evidence{Format: attest.FormatSEVSNP, Payload: b}, err
}
