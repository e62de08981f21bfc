//go:build e2e

package e2e

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoordinatorCLI walks an operator's path through the binary: sign a
// manifest as two owners, upload it to a verified (simulated) coordinator,
// upload and read a secret as a user, show the status and verify the audit
// log offline and online.
func TestCoordinatorCLI(t *testing.T) {
	state := t.TempDir()
	dir := t.TempDir()
	f := newFleet(t, state)
	opsCert := filepath.Join(t.TempDir(), "ops.pem")
	if err := os.WriteFile(opsCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.userCert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startCoordinator(t, state, "--auditor", opsCert)
	bin := os.Getenv("COFRE_BIN")
	online := true
	run := func(wantCode int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		if online {
			cmd.Env = append(os.Environ(), "COFRE_COORDINATOR="+p.url, "COFRE_INSECURE_SIMULATION=true")
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("cofre %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return string(out)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	doc, _ := f.doc(1, "")
	mpath := filepath.Join(dir, "ward.yaml")
	if err := os.WriteFile(mpath, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for i, k := range f.owners {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		key := write("owner.key", "PRIVATE KEY", der)
		out := filepath.Join(dir, "sig"+string(rune('0'+i)))
		run(0, "manifest", "sign", "--key", key, "--owner", "o"+string(rune('0'+i)), "-o", out, mpath)
		sigs = append(sigs, out)
	}
	simRoot := filepath.Join(state, "sim", "root-cert.pem")
	userDER, _ := x509.MarshalPKCS8PrivateKey(f.user.PrivateKey)
	userCert := write("ops.pem", "CERTIFICATE", f.userCert.Raw)
	userKey := write("ops.key", "PRIVATE KEY", userDER)

	// One signature is below the threshold: the CLI checks locally (exit 2).
	run(2, "manifest", "set", "--sim-root", simRoot, mpath, sigs[0])
	out := run(0, append([]string{"manifest", "set", "--sim-root", simRoot, mpath}, sigs...)...)
	if !strings.Contains(out, "SIMULATION") {
		t.Errorf("manifest set did not warn about simulation:\n%s", out)
	}
	// Without --sim-root the coordinator's evidence cannot be verified.
	run(1, "status", "--insecure-simulation=true")
	status := run(0, "status", "--sim-root", simRoot)
	if !strings.Contains(status, "ward") {
		t.Errorf("status does not list the manifest:\n%s", status)
	}
	secretFile := filepath.Join(dir, "token")
	os.WriteFile(secretFile, []byte("hunter2-but-longer"), 0o600)
	run(0, "secret", "set", "--sim-root", simRoot, "--cert", userCert, "--key", userKey, "ward", "token", "--from-file", secretFile)
	got := filepath.Join(dir, "token.out")
	run(0, "secret", "get", "--sim-root", simRoot, "--cert", userCert, "--key", userKey, "ward", "token", "-o", got)
	if b, _ := os.ReadFile(got); string(b) != "hunter2-but-longer" {
		t.Fatalf("secret read back %q", b)
	}
	// Without the user certificate: refused.
	run(1, "secret", "get", "--sim-root", simRoot, "ward", "token", "-o", filepath.Join(dir, "nope"))

	head := filepath.Join(dir, "head.json")
	run(0, "audit", "verify", "--sim-root", simRoot, "--cert", userCert, "--cert-key", userKey, "--save-head", head)
	logCopy := filepath.Join(dir, "audit.log")
	b, err := os.ReadFile(filepath.Join(state, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(logCopy, b, 0o600)
	// Offline verification against the saved head; an edited copy is refused.
	auditKey := headKey(t, head, dir)
	online = false
	run(0, "audit", "verify", logCopy, "--key", auditKey, "--head", head)
	edited := strings.Replace(string(b), `"granted":true`, `"granted":false`, 1)
	os.WriteFile(logCopy, []byte(edited), 0o600)
	run(1, "audit", "verify", logCopy, "--key", auditKey, "--head", head)
}

// headKey writes the audit public key of a saved signed head as PEM.
func headKey(t *testing.T, head, dir string) string {
	t.Helper()
	b, err := os.ReadFile(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		PublicKey []byte `json:"public_key"`
	}
	if err := jsonUnmarshal(b, &h); err != nil || len(h.PublicKey) == 0 {
		t.Fatalf("saved head %s: %v", b, err)
	}
	path := filepath.Join(dir, "audit-pub.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: h.PublicKey}), 0o644)
	return path
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
