//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestHealthcare is the second reference scenario end to end, driven like a
// person would: `cofre health up` starts the coordinator, the node agent,
// Redis, the diagnostics service and the care API (both attested by cofre
// run) and serves the portal; Debian's Chromium, driven by Playwright,
// verifies the care API's attestation in the page, signs in, enters a
// patient, uploads a chest image and reads the diagnosis. Then the
// negatives: a tampered or expired token makes the portal send nothing; a
// plain request to the care API is refused; Redis holds no patient data
// in any key or value; the audit log names every access and no PHI.
// Screenshots are written to $COFRE_E2E_ARTIFACTS (or the test's temp dir).
func TestHealthcare(t *testing.T) {
	bin := os.Getenv("COFRE_BIN")
	lib := os.Getenv("COFRE_ONNXRUNTIME_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../bin/onnxruntime/libonnxruntime.so.1")
	}
	portal, _ := filepath.Abs("../../health/portal/dist")
	driver, _ := filepath.Abs("portal/portal.mjs")
	for _, need := range []string{lib, filepath.Join(portal, "index.html"), "portal/node_modules/playwright-core", "/usr/bin/chromium"} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%v (make onnxruntime portal e2e-portal; apt-get install chromium redis-server)", err)
		}
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is needed (apt-get install redis-server)")
	}
	artifacts := os.Getenv("COFRE_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, "healthcare")
	state := t.TempDir()
	port := freePort(t)
	const password = "e2e-staff-password"

	cmd := exec.Command(bin, "health", "up", "--state", state, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--portal", portal, "--password", password)
	cmd.Env = append(os.Environ(), "COFRE_ONNXRUNTIME_LIB="+lib)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	up := make(chan string, 1)
	var log strings.Builder
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "cofre health is up") {
				up <- ""
			}
		}
		cmd.Wait()
	}()
	select {
	case <-up:
	case <-done:
		t.Fatalf("cofre health up exited:\n%s", log.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("cofre health up not up after 3 minutes:\n%s", log.String())
	}
	url := fmt.Sprintf("http://localhost:%d/", port)
	image, _ := filepath.Abs("../../infer/models/chest/examples/nodule.png")
	browse := func(mode string) string {
		t.Helper()
		c := exec.Command("node", driver, mode, url, password, image, artifacts)
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("portal %s: %v\n%s\n(screenshots in %s; logs in %s)", mode, err, b, artifacts, filepath.Join(state, "logs"))
		}
		return string(b)
	}

	t.Log(browse("flow"))
	t.Log(browse("tampered"))
	t.Log(browse("expired"))
	t.Logf("screenshots: %s", artifacts)

	// The care API takes no plain request: patient data only travels sealed.
	resp, err := http.Get(url + "fhir/Patient")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a plain request to the care API: %d, want 403", resp.StatusCode)
	}

	// The Redis host's administrator sees every key and value, and no
	// patient data.
	var ops struct{ Addr, Username, Password, CA, Cert, Key string }
	b, err := os.ReadFile(filepath.Join(state, "redis-ops.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &ops)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(ops.CA))
	cert, err := tls.X509KeyPair([]byte(ops.Cert), []byte(ops.Key))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: ops.Addr, Username: ops.Username, Password: ops.Password, DisableIdentity: true,
		TLSConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}})
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 4 {
		t.Fatalf("%d keys in Redis: the flow stored nothing?", len(keys))
	}
	phi := []string{"Lovelace", "Testpatient", "MRN-E2E-0001", "1955-12-10", "nodule", password}
	for _, k := range keys {
		v, err := rdb.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range phi {
			if strings.Contains(k, s) || strings.Contains(string(v), s) {
				t.Fatalf("Redis key %q or its value holds %q", k, s)
			}
		}
	}
	t.Logf("Redis: %d keys, every key pseudonymized and every value sealed", len(keys))

	// The audit log: every access to the patient's record, by whom, and
	// no patient data.
	logs, _ := filepath.Glob(filepath.Join(state, "audit", "careapi-*.jsonl"))
	if len(logs) != 1 {
		t.Fatalf("%d care API audit logs, want 1", len(logs))
	}
	audit, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range phi {
		if strings.Contains(string(audit), s) {
			t.Fatalf("the audit log holds %q", s)
		}
	}
	for _, want := range []string{`"clinician"`, "Patient", "DiagnosticReport"} {
		if !strings.Contains(string(audit), want) {
			t.Fatalf("the audit log lacks %s:\n%s", want, audit)
		}
	}
}
