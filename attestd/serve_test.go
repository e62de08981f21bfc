package attestd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/token"
)

// TestServeDevelopmentSetup serves over real TLS on a loopback listener
// with what PrepareDev makes, checks admin authentication with the dev
// admin certificate, and shuts down gracefully.
func TestServeDevelopmentSetup(t *testing.T) {
	dir := t.TempDir()
	dev, err := PrepareDev(dir, t0)
	must(t, err)
	// Idempotent: a second call loads the same material.
	dev2, err := PrepareDev(dir, t0)
	must(t, err)
	if !dev.TLSCert.Leaf.Equal(dev2.TLSCert.Leaf) {
		t.Fatal("PrepareDev made a new TLS certificate for an unchanged setup")
	}
	for _, f := range []string{dev.KEKFile, dev.AdminKeyFile, dev.SimPlatformFile, filepath.Join(dir, "tls", "key.pem")} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v", f, err, st.Mode().Perm())
		}
	}
	policies, err := OpenDirPolicies(filepath.Join(dir, "policies"))
	must(t, err)
	sp, err := NewStoredPolicy([]byte(DevPolicy))
	must(t, err)
	must(t, policies.PutPolicy(t.Context(), sp))
	keys, err := token.NewKeySet(token.ES256, t0)
	must(t, err)
	audit, err := OpenAuditLog(filepath.Join(dir, "audit.log"))
	must(t, err)
	t.Cleanup(func() { audit.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	issuer := "https://" + ln.Addr().String()
	clk := &clock{now: t0}
	srv, err := New(Config{
		Registry: attest.NewRegistry(sim.NewVerifier(dev.SimRoots)),
		Policies: policies, Keys: keys, Issuer: issuer, Clock: clk.Now,
		AdminCAs: dev.AdminCAs, Audit: audit,
	})
	must(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, dev.TLSCert) }()

	roots := x509.NewCertPool()
	roots.AddCert(dev.TLSCert.Leaf)
	admin, err := tls.LoadX509KeyPair(dev.AdminCertFile, dev.AdminKeyFile)
	must(t, err)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{admin}}}}
	resp, err := client.Get(issuer + "/v1/policies/dev")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/policies/dev with the dev admin certificate: %d", resp.StatusCode)
	}

	// Evidence from the dev sim platform file is accepted.
	pb, err := os.ReadFile(dev.SimPlatformFile)
	must(t, err)
	plat, err := sim.ParsePlatform(pb)
	must(t, err)
	nonce := challengeAt(t, client, issuer)
	rd, _ := attest.ReportData(nonce, nil, nil)
	ev, err := (&sim.Producer{Platform: plat, Measurement: measurement, Now: clk.Now}).Produce(t.Context(), rd)
	must(t, err)
	if st := postJSON(t, client, issuer+"/v1/attest/sim.v1", AttestRequest{Evidence: ev.Payload, Nonce: nonce, Policy: "dev"}); st != 200 {
		t.Fatalf("attest: %d", st)
	}

	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := client.Get(issuer + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestDirPoliciesPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies")
	d, err := OpenDirPolicies(dir)
	must(t, err)
	sp, err := NewStoredPolicy([]byte(policyPinned))
	must(t, err)
	must(t, d.PutPolicy(t.Context(), sp))
	sp2, _ := NewStoredPolicy([]byte(policyDev))
	must(t, d.PutPolicy(t.Context(), sp2))
	must(t, d.DeletePolicy(t.Context(), "dev"))

	again, err := OpenDirPolicies(dir)
	must(t, err)
	got, err := again.Policy(t.Context(), "pinned")
	if err != nil || got.SHA256 != sp.SHA256 {
		t.Fatalf("reopened: %v", err)
	}
	if _, err := again.Policy(t.Context(), "dev"); err == nil {
		t.Fatal("deleted policy came back")
	}
	// A file whose policy name differs from its file name stops the start.
	os.WriteFile(filepath.Join(dir, "other.policy"), []byte(policyDev), 0o600)
	if _, err := OpenDirPolicies(dir); err == nil {
		t.Fatal("mismatched policy file accepted")
	}
}

func TestPolicyNames(t *testing.T) {
	for name, want := range map[string]bool{
		"dev": true, "prod-2026.v1": true, "a_b": true,
		"": false, "Dev": false, "../etc": false, ".hidden": false, "a/b": false, "a..b": false,
		strings.Repeat("x", maxPolicyName): true, strings.Repeat("x", maxPolicyName+1): false,
	} {
		if got := validPolicyName(name); got != want {
			t.Errorf("validPolicyName(%q) = %v", name, got)
		}
	}
}
