//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInference is the diagnostics hop across processes: the inference
// service (cofre infer serve) and its caller (cofre infer client) are both
// attested workloads of the coordinator (SIMULATION). The caller verifies
// the service's tokens, seals an image to its attested key and gets the
// demo model's finding; the model hash it was shown is the file's; a
// service whose policy does not admit the caller's measurement refuses it,
// and a caller that expects another service measurement sends nothing.
func TestInference(t *testing.T) {
	lib := os.Getenv("COFRE_ONNXRUNTIME_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../bin/onnxruntime/libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library (make onnxruntime): %v", err)
	}
	l := newLakeStack(t)
	models := t.TempDir()
	model, err := os.ReadFile("../../infer/models/chest/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(models, "chest"), 0o755)
	os.WriteFile(filepath.Join(models, "chest", "model.onnx"), model, 0o644)
	sum := sha256.Sum256(model)
	image, _ := filepath.Abs("../../infer/models/chest/examples/nodule.png")
	labels, _ := filepath.Abs("../../infer/models/chest/labels.txt")
	port, strictPort := freePort(t), freePort(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	nobody := strings.Repeat("00", 32)
	env := map[string]string{"COFRE_ONNXRUNTIME_LIB": lib}
	serve := func(listen int, callers string) []string {
		return []string{"infer", "serve", "--models", models, "--listen", fmt.Sprintf("127.0.0.1:%d", listen), "--caller-measurement", callers, "--allow-simulation-callers"}
	}
	call := func(u, service string) []string {
		return []string{"infer", "client", "--url", u, "--model", "chest", "--image", image, "--labels", labels, "--service-measurement", service, "--allow-simulation"}
	}
	l.setManifest("diag", []lakeService{
		{name: "diagnostics", env: env, args: serve(port, l.digest)},
		{name: "strict", env: env, args: serve(strictPort, nobody)},
		{name: "caller", args: call(url, l.digest)},
		{name: "misdirected", args: call(url, nobody)},
		{name: "refused", args: call(fmt.Sprintf("https://127.0.0.1:%d", strictPort), l.digest)},
	}, "")
	l.startDaemon("diag", "diagnostics", "diagnostics", `cofre infer: serving chest`)
	l.startDaemon("diag", "strict", "strict", `cofre infer: serving chest`)

	out := l.run(0, "diag", "caller")
	t.Log(out)
	if !regexp.MustCompile(`(?m)^nodule\s+1\.0000$`).MatchString(out) {
		t.Fatalf("the caller did not get the finding:\n%s", out)
	}
	if !strings.Contains(out, "model chest sha256 "+hex.EncodeToString(sum[:])) {
		t.Fatalf("the attested model hash is not the file's:\n%s", out)
	}
	if !strings.Contains(out, "SIMULATION") {
		t.Fatalf("a simulated service was not labelled:\n%s", out)
	}
	if out := l.run(1, "diag", "refused"); !strings.Contains(out, "REFUSED") || !strings.Contains(out, "403") {
		t.Fatalf("a caller outside the service's policy:\n%s", out)
	}
	if out := l.run(1, "diag", "misdirected"); !strings.Contains(out, "REFUSED") || !strings.Contains(out, "measurement") {
		t.Fatalf("a caller expecting another service:\n%s", out)
	}
	if strings.Count(l.daemonLog("diagnostics"), "msg=inference") != 1 {
		t.Fatalf("the service ran %d inferences, want 1 (the misdirected caller must send nothing):\n%s", strings.Count(l.daemonLog("diagnostics"), "msg=inference"), l.daemonLog("diagnostics"))
	}
}
