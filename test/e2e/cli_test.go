//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cofre runs the binary under test and returns its exit code and output.
func cofre(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := os.Getenv("COFRE_BIN")
	if bin == "" {
		t.Fatal("COFRE_BIN is not set: run through `make e2e`")
	}
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return 0, out.String(), errb.String()
}

func repoPath(p string) string { return filepath.Join("..", "..", p) }

func TestSimulationFlow(t *testing.T) {
	dir := t.TempDir()
	simDir := filepath.Join(dir, "sim")
	if code, _, errs := cofre(t, "sim", "init", "--dir", simDir); code != 0 {
		t.Fatalf("sim init: exit %d: %s", code, errs)
	}
	if code, _, _ := cofre(t, "sim", "init", "--dir", simDir); code != 2 {
		t.Fatalf("second sim init: exit %d, want 2 (refuses to overwrite)", code)
	}
	ev := filepath.Join(dir, "ev.json")
	m := strings.Repeat("ab", 32)
	if code, _, errs := cofre(t, "evidence", "produce", "--sim-platform", filepath.Join(simDir, "platform.pem"),
		"--nonce", strings.Repeat("00", 32), "--measurement", m, "-o", ev); code != 0 {
		t.Fatalf("produce: exit %d: %s", code, errs)
	}
	root := filepath.Join(simDir, "root-cert.pem")

	// Genuine, but simulated: refused unless the caller opts in.
	if code, _, errs := cofre(t, "evidence", "verify", "--sim-root", root, ev); code != 1 || !strings.Contains(errs, "SIMULATION") {
		t.Fatalf("sim without --allow-simulation: exit %d, stderr:\n%s", code, errs)
	}
	code, out, errs := cofre(t, "evidence", "verify", "--json", "--allow-simulation", "--sim-root", root, ev)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s", code, errs)
	}
	var res struct {
		TEE         string `json:"tee"`
		Measurement string `json:"measurement"`
		Status      string `json:"status"`
		Simulation  bool   `json:"simulation"`
		Binding     bool   `json:"binding_checked"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if res.TEE != "sim" || !res.Simulation || res.Status != "warning" || res.Measurement != m || res.Binding {
		t.Fatalf("result = %+v", res)
	}
	if code, out, _ := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", root, ev); code != 0 || !strings.Contains(out, "SIMULATION") {
		t.Fatalf("text output must say SIMULATION (exit %d):\n%s", code, out)
	}

	// Binding: the nonce it was produced for passes, another is refused.
	zero := strings.Repeat("00", 32)
	if code, out, errs := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", root, "--nonce", zero, ev); code != 0 || !strings.Contains(out, "binding      checked") {
		t.Fatalf("right nonce: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", root, "--nonce", strings.Repeat("01", 32), ev); code != 1 || !strings.Contains(errs, "report data binding") {
		t.Fatalf("other nonce: exit %d, stderr:\n%s", code, errs)
	}
	if code, _, _ := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", root, "--nonce", "00", ev); code != 2 {
		t.Fatalf("short nonce: exit %d, want 2", code)
	}

	// Appraisal: a policy that allows simulation and pins the measurement.
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("name: dev\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: [\""+m+"\"]\n"), 0o600)
	if code, out, errs := cofre(t, "evidence", "verify", "--sim-root", root, "--policy", policy, ev); code != 0 || !strings.Contains(out, `policy "dev": warning`) {
		t.Fatalf("appraise: exit %d\n%s%s", code, out, errs)
	}
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(other, []byte("name: dev\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: [\"00\"]\n"), 0o600)
	if code, _, errs := cofre(t, "evidence", "verify", "--sim-root", root, "--policy", other, ev); code != 1 || !strings.Contains(errs, "measurement: expected one of 00, got "+m) {
		t.Fatalf("wrong measurement: exit %d, stderr:\n%s", code, errs)
	}
	hw := filepath.Join(dir, "hw.yaml")
	os.WriteFile(hw, []byte("name: prod\nreferences:\n  - tee: sgx\n    measurements: [\"00\"]\n"), 0o600)
	if code, _, errs := cofre(t, "evidence", "verify", "--sim-root", root, "--policy", hw, ev); code != 1 || !strings.Contains(errs, "simulation") {
		t.Fatalf("sim under a hardware policy: exit %d, stderr:\n%s", code, errs)
	}

	// Refusals: no trusted root, another root, a flipped byte.
	if code, _, _ := cofre(t, "evidence", "verify", "--allow-simulation", ev); code != 1 {
		t.Fatalf("no sim root: exit %d, want 1", code)
	}
	otherSim := filepath.Join(dir, "other-sim")
	cofre(t, "sim", "init", "--dir", otherSim)
	if code, _, _ := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", filepath.Join(otherSim, "root-cert.pem"), ev); code != 1 {
		t.Fatalf("other root: exit %d, want 1", code)
	}
	b, _ := os.ReadFile(ev)
	var env struct {
		Format  string `json:"format"`
		Payload []byte `json:"payload"`
	}
	json.Unmarshal(b, &env)
	env.Payload[len(env.Payload)/2] ^= 0x01
	tampered := filepath.Join(dir, "tampered.json")
	tb, _ := json.Marshal(env)
	os.WriteFile(tampered, tb, 0o600)
	if code, _, errs := cofre(t, "evidence", "verify", "--allow-simulation", "--sim-root", root, tampered); code != 1 {
		t.Fatalf("tampered: exit %d, want 1: %s", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"evidence", "verify", "/nonexistent/evidence"},
		{"evidence", "verify", "--format", "nope.v9", repoPath("go.mod")},
		{"evidence", "verify", "--at", "yesterday", "--format", "sim.v1", repoPath("go.mod")},
		{"evidence", "verify"},
		{"evidence", "frobnicate"},
		{"evidence", "verify", "--no-such-flag", "x"},
	}
	for _, args := range tests {
		if code, _, _ := cofre(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := cofre(t, "version"); code != 0 || !strings.HasPrefix(out, "cofre ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d: %q", code, out)
	}
}
