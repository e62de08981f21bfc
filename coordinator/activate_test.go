package coordinator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/token"
)

func TestActivate(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	chain := workloadChain(t, r)
	if got := chain[0].URIs; len(got) != 1 || got[0].String() != "spiffe://cofre.test/hospital/api/"+r.Instance {
		t.Errorf("URI SANs %v", got)
	}
	if !r.Simulation || r.Status != "warning" {
		t.Errorf("simulation %v status %q: sim must be labelled and capped at warning", r.Simulation, r.Status)
	}
	if got, want := r.Config.Command, []string{"/app/api", "--port", "8443"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("command %q, want %q", got, want)
	}
	if len(r.Config.Env["DB_PASSWORD"]) != 24 || len(r.Config.Env["SESSION_KEY"]) != 64 || r.Config.Env["ME"] != r.SPIFFEID {
		t.Errorf("env %v", r.Config.Env)
	}
	if string(r.Config.Files["/etc/api/partner"]) != "s3cret-partner" {
		t.Errorf("uploaded secret file %q", r.Config.Files["/etc/api/partner"])
	}
	if !strings.Contains(string(r.Config.Files["/etc/api/cert.pem"]), "BEGIN CERTIFICATE") {
		t.Error("workload certificate file missing")
	}

	// Shared secrets are the same for every instance.
	r2, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	if r2.Config.Env["DB_PASSWORD"] != r.Config.Env["DB_PASSWORD"] || r2.Instance == r.Instance {
		t.Error("shared secret differs between instances, or instance IDs repeat")
	}

	// The token is an EAR bound to the CSR key, verifiable with the JWKS.
	jwks, err := e.c.tokenKeys.JWKS(t0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.StaticJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	opts := token.Options{JWKS: keys, Issuer: "https://coordinator.test", Now: t0, AllowSimulation: true, ConfirmationCertificate: chain[0]}
	if _, err := token.Verify(t.Context(), r.Token, opts); err != nil {
		t.Fatalf("token: %v", err)
	}
	opts.ConfirmationCertificate = workloadChain(t, r2)[0]
	if _, err := token.Verify(t.Context(), r.Token, opts); err == nil {
		t.Error("the token verified for another instance's certificate")
	}
}

// TestActivateRefusals covers every activation refusal the coordinator
// makes, each with the check it must name.
func TestActivateRefusals(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	hw := strings.Replace(string(e.manifestDoc(doc{name: "nodebug", reference: "measurements: [" + hex.EncodeToString(e.measurement) + "]"})), "- tee: sim", "- tee: sevsnp", 1)
	e.mustUpload([]byte(hw), 0, 1)
	e.mustUpload(e.manifestDoc(doc{name: "nosim", extra: ""}), 0, 1)
	e.mustUpload(e.manifestDoc(doc{name: "svn", reference: "measurements: [" + hex.EncodeToString(e.measurement) + "]\ndebug_allowed: true\nmin_svn: 5",
		tolerations: "- field: svn\n  expires: 2026-11-01\n  reason: patch rollout"}), 0, 1)
	e.mustUpload(e.manifestDoc(doc{name: "digests", service: "workload_digests: [" + hex.EncodeToString(sha256Sum("other binary")) + "]"}), 0, 1)

	otherRoot, err := sim.NewRoot(t0.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherPlat, err := otherRoot.NewPlatform("rogue", t0.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	used := e.activation()
	if _, err := e.activate(used); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		mutate func(a *activation)
		check  string // the refused check, as named in the reasons
		code   string
	}{
		{"wrong measurement", func(a *activation) { a.measurement = sha256Sum("patched workload") }, "cpu0: appraisal", api.CodeRefused},
		{"hardware without debug refuses debug mode", func(a *activation) {
			a.manifest, a.producer = "nodebug", fakeProducer{measurement: e.measurement, debug: true}
		}, "cpu0: appraisal", api.CodeRefused},
		{"expired toleration", func(a *activation) { a.manifest = "svn"; a.svn = 1 }, "cpu0: appraisal", api.CodeRefused},
		{"report data not bound to the CSR key", func(a *activation) { a.boundKey = newKey(t) }, "cpu0: report data", api.CodeRefused},
		{"report data not bound to the digest", func(a *activation) { a.evidenceDigest = sha256Sum("other binary") }, "cpu0: report data", api.CodeRefused},
		{"replayed nonce", func(a *activation) { a.nonce = used.nonce }, "nonce", api.CodeRefused},
		{"forged nonce", func(a *activation) { a.nonce = make([]byte, 32) }, "nonce", api.CodeRefused},
		{"unknown service", func(a *activation) { a.service = "payroll" }, "service", api.CodeRefused},
		{"unknown manifest", func(a *activation) { a.manifest = "payroll" }, "manifest", api.CodeRefused},
		{"evidence from an untrusted platform", func(a *activation) {
			a.producer = &sim.Producer{Platform: otherPlat, Measurement: e.measurement, Now: e.clock.Now}
		}, "cpu0: ", api.CodeRefused},
		{"workload digest not listed", func(a *activation) { a.manifest = "digests" }, "workload digest", api.CodeRefused},
		{"host parameter not matching", func(a *activation) { a.host = map[string]string{"port": "80; rm -rf /"} }, "", api.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.activation()
			tt.mutate(a)
			_, err := e.activate(a)
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("Activate: %v, want code %s", err, tt.code)
			}
			if tt.check == "" {
				return
			}
			for _, r := range ce.Reasons {
				if strings.HasPrefix(r.Check, tt.check) {
					return
				}
			}
			t.Fatalf("reasons %+v name no check %q", ce.Reasons, tt.check)
		})
	}
}

func TestSimulationNotAllowed(t *testing.T) {
	e := newTestEnv(t)
	d := e.manifestDoc(doc{})
	d = []byte(strings.Replace(string(d), "  allow_simulation: true\n", "  allow_simulation: false\n", 1))
	// A manifest with a sim reference and no allow_simulation is invalid…
	if _, err := e.upload("hospital", d, 0, 1); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("SetManifest: %v, want bad_request", err)
	}
	// …and a hardware-only manifest refuses sim evidence.
	d = e.manifestDoc(doc{reference: "measurements: [" + hex.EncodeToString(e.measurement) + "]"})
	d = []byte(strings.Replace(string(d), "      - tee: sim\n", "      - tee: sevsnp\n", 1))
	d = []byte(strings.Replace(string(d), "  allow_simulation: true\n", "  allow_simulation: false\n", 1))
	e.mustUpload(d, 0, 1)
	_, err := e.activate(e.activation())
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != api.CodeRefused || !strings.Contains(ce.Reasons[0].Field, "simulation") {
		t.Fatalf("Activate: %v (%+v), want refused on simulation", err, ce)
	}
}

func TestMaxInstances(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	for i := range 2 {
		a := e.activation()
		a.service = "worker"
		if _, err := e.activate(a); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	a := e.activation()
	a.service = "worker"
	_, err := e.activate(a)
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != api.CodeRefused || ce.Reasons[0].Check != "max instances" {
		t.Fatalf("third instance: %v, want refused on max instances", err)
	}
	// Slots of instances whose certificates lapsed are free again.
	e.clock.Add(2 * time.Hour)
	a = e.activation()
	a.service = "worker"
	if _, err := e.activate(a); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestForgedWorkloadCertificate(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	genuine := workloadChain(t, r)

	// A self-made CA issuing a certificate with the same SPIFFE ID.
	caKey := newKey(t)
	u, _ := url.Parse(r.SPIFFEID)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cofre hospital v1"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), URIs: []*url.URL{u}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	leaf, _ := x509.ParseCertificate(leafDER)

	for name, chain := range map[string][]*x509.Certificate{
		"forged chain":         {leaf, ca},
		"forged leaf, real CA": {leaf, genuine[1]},
		"no certificate":       nil,
		"real leaf, forged CA": {genuine[0], ca},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("data key")}, chain)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("KMS with %s: %v, want unauthorized", name, err)
			}
		})
	}
	if _, err := e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("data key")}, genuine); err != nil {
		t.Fatalf("KMS with the genuine chain: %v", err)
	}
}
