//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attestd"
)

// attestdProcess is a running `cofre attestd --dev`.
type attestdProcess struct {
	cmd    *exec.Cmd
	url    string
	state  string
	client *http.Client // trusts the dev TLS certificate
	admin  *http.Client // also presents the dev admin certificate
	stdout *bytes.Buffer
}

// startAttestd starts the service on a free loopback port and reads its
// address from the line it prints.
func startAttestd(t *testing.T) *attestdProcess {
	t.Helper()
	bin := os.Getenv("COFRE_BIN")
	if bin == "" {
		t.Fatal("COFRE_BIN is not set: run through `make e2e`")
	}
	state := t.TempDir()
	cmd := exec.Command(bin, "attestd", "--dev", "--listen", "127.0.0.1:0", "--state", state, "--log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &attestdProcess{cmd: cmd, state: state, stdout: &bytes.Buffer{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.WriteString(line + "\n")
			if rest, ok := strings.CutPrefix(line, "cofre attestd: listening on "); ok {
				found <- strings.Fields(rest)[0]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("attestd exited before listening: %s", stderr.String())
		}
		p.url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("attestd did not print its address: %s", stderr.String())
	}

	dev := filepath.Join(state, "dev")
	pemCert, err := os.ReadFile(filepath.Join(dev, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemCert)
	p.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	adminCert, err := tls.LoadX509KeyPair(filepath.Join(dev, "admin", "admin.pem"), filepath.Join(dev, "admin", "admin-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p.admin = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{adminCert}}}}
	return p
}

func (p *attestdProcess) post(t *testing.T, path string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := p.client.Post(p.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (p *attestdProcess) get(t *testing.T, c *http.Client, path string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestAttestdEndToEnd: the real binary over real HTTPS. Challenge, sim
// evidence made with the CLI, token, and the token verified by cofre and by
// an independent WebCrypto implementation.
func TestAttestdEndToEnd(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed for the independent token verifier (test/e2e/verify_token.mjs)")
	}
	p := startAttestd(t)
	dir := t.TempDir()

	// 1. Challenge.
	code, body := p.post(t, "/v1/challenge", nil)
	if code != 200 {
		t.Fatalf("challenge: %d %s", code, body)
	}
	var ch struct {
		Nonce []byte `json:"nonce"`
	}
	json.Unmarshal(body, &ch)

	// 2. Evidence from the CLI, binding the nonce and a workload key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(dir, "workload.pub.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	m := strings.Repeat("5a", 32)
	evFile := filepath.Join(dir, "ev.json")
	if code, _, errs := cofre(t, "evidence", "produce", "--sim-platform", filepath.Join(p.state, "dev", "sim", "platform.pem"),
		"--nonce", hex.EncodeToString(ch.Nonce), "--public-key", pubFile, "--measurement", m, "-o", evFile); code != 0 {
		t.Fatalf("evidence produce: exit %d: %s", code, errs)
	}
	var ev struct {
		Payload []byte `json:"payload"`
	}
	evb, _ := os.ReadFile(evFile)
	json.Unmarshal(evb, &ev)

	// 3. Token.
	req := map[string]any{"evidence": ev.Payload, "nonce": ch.Nonce, "runtime_data": der, "policy": "dev"}
	code, body = p.post(t, "/v1/attest/sim.v1", req)
	if code != 200 {
		t.Fatalf("attest: %d %s", code, body)
	}
	var tr struct {
		Token string `json:"token"`
	}
	json.Unmarshal(body, &tr)

	// A replay is refused.
	if code, body := p.post(t, "/v1/attest/sim.v1", req); code != 403 || !strings.Contains(string(body), `"nonce_unknown"`) {
		t.Fatalf("replay: %d %s", code, body)
	}

	// 4. The keys, as a relying party fetches them.
	code, jwks := p.get(t, p.client, "/certs")
	if code != 200 {
		t.Fatalf("/certs: %d", code)
	}
	jwksFile := filepath.Join(dir, "jwks.json")
	os.WriteFile(jwksFile, jwks, 0o600)

	// 5a. cofre's own verifier.
	if code, out, errs := cofre(t, "token", "verify", "--jwks", jwksFile, "--measurement", m, "--allow-simulation", tr.Token); code != 0 {
		t.Fatalf("cofre token verify: exit %d\n%s%s", code, out, errs)
	}
	// The same, with the keys fetched from the service (https, its dev
	// certificate trusted) and the issuer and nonce checked.
	if code, out, errs := cofre(t, "token", "verify", "--jwks", p.url+"/certs", "--cacert", filepath.Join(p.state, "dev", "tls", "cert.pem"),
		"--issuer", p.url, "--nonce", hex.EncodeToString(ch.Nonce), "--allow-simulation", tr.Token); code != 0 {
		t.Fatalf("cofre token verify --jwks URL: exit %d\n%s%s", code, out, errs)
	}
	// Without --issuer, an https --jwks pins the issuer it implies
	// (<issuer>/certs): the service's own tokens pass, another issuer's
	// would not.
	if code, out, errs := cofre(t, "token", "verify", "--jwks", p.url+"/certs", "--cacert", filepath.Join(p.state, "dev", "tls", "cert.pem"),
		"--allow-simulation", tr.Token); code != 0 {
		t.Fatalf("cofre token verify --jwks URL without --issuer: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := cofre(t, "token", "verify", "--jwks", p.url+"/certs?x", "--cacert", filepath.Join(p.state, "dev", "tls", "cert.pem"),
		"--allow-simulation", tr.Token); code != 0 {
		t.Fatalf("cofre token verify --jwks URL?query (origin as issuer): exit %d\n%s", code, errs)
	}
	if code, _, _ := cofre(t, "token", "verify", "--jwks", jwksFile, tr.Token); code != 1 {
		t.Fatalf("cofre token verify without --allow-simulation: exit %d, want 1 (refused)", code)
	}

	// 5b. An independent implementation: Node WebCrypto, no cofre code.
	nodeVerify := func(tok string) (int, string, string) {
		cmd := exec.Command(node, "verify_token.mjs", tok, jwksFile, p.url)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String(), errb.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errb.String()
	}
	code, out, errs := nodeVerify(tr.Token)
	if code != 0 {
		t.Fatalf("node verify: exit %d: %s", code, errs)
	}
	var summary struct {
		Valid       bool     `json:"valid"`
		TEE         string   `json:"tee"`
		Simulation  bool     `json:"simulation"`
		Status      string   `json:"status"`
		Measurement string   `json:"measurement"`
		Cnf         []string `json:"cnf"`
	}
	if err := json.Unmarshal([]byte(out), &summary); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if !summary.Valid || summary.TEE != "sim" || !summary.Simulation || summary.Status != "warning" || summary.Measurement != m || len(summary.Cnf) != 1 || summary.Cnf[0] != "jwk" {
		t.Fatalf("node summary %+v", summary)
	}
	// A changed payload byte fails the independent check too.
	parts := strings.Split(tr.Token, ".")
	pl := []byte(parts[1])
	if pl[len(pl)/2] == 'A' {
		pl[len(pl)/2] = 'B'
	} else {
		pl[len(pl)/2] = 'A'
	}
	if code, _, _ := nodeVerify(parts[0] + "." + string(pl) + "." + parts[2]); code != 1 {
		t.Fatalf("node verify of a tampered token: exit %d, want 1", code)
	}

	// 6. Admin endpoints need the admin certificate.
	if code, _ := p.get(t, p.client, "/v1/policies/dev"); code != 401 {
		t.Fatalf("GET policy without a client certificate: %d", code)
	}
	if code, body := p.get(t, p.admin, "/v1/policies/dev"); code != 200 || !strings.Contains(string(body), "allow_simulation: true") {
		t.Fatalf("GET policy as admin: %d %s", code, body)
	}
	if code, body := p.get(t, p.client, "/metrics"); code != 200 || !strings.Contains(string(body), `cofre_attestd_verdicts_total{status="warning"} 1`) {
		t.Fatalf("metrics: %d", code)
	}

	// 7. Graceful stop; the audit log verifies.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("attestd exit: %v", err)
	}
	f, err := os.Open(filepath.Join(p.state, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := attestd.VerifyAuditLog(f)
	if err != nil || sum.Entries != 2 {
		t.Fatalf("audit log: %d entries, %v", sum.Entries, err)
	}
}
