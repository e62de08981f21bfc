//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/x509"

	"fmt"
	"github.com/cofre-cc/cofre/internal/fusetest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runStack is a coordinator (dev, SIMULATION) with a manifest whose
// service runs /bin/sh, and what `cofre run` needs to reach it.
type runStack struct {
	t      *testing.T
	bin    string
	state  string
	coord  *coordinatorProcess
	agent  *agentProcess
	fleet  *fleet
	shm    string // a memory-backed directory for --files-root
	digest string // workload digest of /bin/sh
	volume bool   // the service has an encrypted volume "data" at /data
}

func newRunStack(t *testing.T, script string, extraCoord ...string) *runStack {
	return newRunStackVolume(t, script, false, extraCoord...)
}

func newRunStackVolume(t *testing.T, script string, volume bool, extraCoord ...string) *runStack {
	t.Helper()
	s := &runStack{t: t, bin: os.Getenv("COFRE_BIN"), state: t.TempDir(), volume: volume}
	s.fleet = newFleet(t, s.state)
	s.coord = startCoordinator(t, s.state, extraCoord...)
	s.fleet.loadPlatform()
	s.agent = startAgent(t, filepath.Join(s.state, "sim", "platform.pem"))
	shm, err := os.MkdirTemp("/dev/shm", "cofre-e2e-")
	if err != nil {
		t.Fatalf("/dev/shm is needed (memory-backed files): %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	s.shm = shm
	out := s.cofre(0, nil, "run", "--print-digest", "--", "/bin/sh")
	s.digest = strings.TrimSpace(out)

	doc := s.manifest(script)
	admin := s.fleet.client(s.coord.url, &s.fleet.user)
	if _, err := admin.SetManifest(context.Background(), "ward", doc, s.fleet.sign(t, doc)); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if err := admin.SetSecret(context.Background(), "ward", "token", []byte("the-uploaded-token")); err != nil {
		t.Fatal(err)
	}
	return s
}

// manifest is the test policy: /bin/sh runs script, with a secret in a
// file and in the environment, and its certificate in a file.
func (s *runStack) manifest(script string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: ward\nversion: 1\nowners:\n")
	for i, k := range s.fleet.owners {
		fmt.Fprintf(&b, "  o%d:\n    public_key: |\n%s\n", i, indentLines(pemOf("PUBLIC KEY", mustPKIX(s.t, &k.PublicKey)), 6))
	}
	fmt.Fprintf(&b, `update_threshold: 2
packages:
  app:
    references:
      - tee: sim
        measurements: [%s]
services:
  api:
    package: app
    command: ["/bin/sh", "-c", %q]
    workload_digests: [%s]
    env:
      TOKEN: '{{ secret "token" }}'
    files:
      /etc/app/password: '{{ secret "password" }}'
      /etc/app/cert.pem: '{{ workload "cert-pem" }}'
      /etc/app/key.pem: '{{ workload "key-pem" }}'
%ssecrets:
  token:
    kind: uploaded
  password:
    kind: ascii
    size: 32
  volkey:
    kind: symmetric
users:
  ops:
    certificate: |
%s
    roles: [uploader]
roles:
  uploader:
    resource: secrets
    names: [token]
    actions: [read, write]
attestation:
  allow_simulation: true
`, s.digest, script, s.digest, volumeYAML(s.volume), indentLines(pemOf("CERTIFICATE", s.fleet.userCert.Raw), 6))
	return []byte(b.String())
}

// cofre runs the binary and checks its exit code; env adds variables.
func (s *runStack) cofre(want int, env []string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	if code != want {
		s.t.Fatalf("cofre %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}

// runEnv is how a pod spec would configure cofre run: environment only.
func (s *runStack) runEnv(filesRoot string) []string {
	return []string{
		"COFRE_COORDINATOR=" + s.coord.url,
		"COFRE_INSECURE_SIMULATION=true",
		"COFRE_RUN_SIM_ROOT=" + filepath.Join(s.state, "sim", "root-cert.pem"),
		"COFRE_RUN_MANIFEST=ward",
		"COFRE_RUN_SERVICE=api",
		"COFRE_RUN_AGENT=" + s.agent.addr,
		"COFRE_RUN_FILES_ROOT=" + filesRoot,
	}
}

// TestRunAdmitted: the secrets arrive (files under the memory-backed root,
// the environment), the exit status passes through, and nothing of the
// host's environment reaches the program.
func TestRunAdmitted(t *testing.T) {
	script := `cat "$COFRE_FILES_ROOT/etc/app/password"; echo; echo "token=$TOKEN"; echo "preload=$LD_PRELOAD"; test -s "$COFRE_FILES_ROOT/etc/app/key.pem" && echo key-ok; exit 3`
	s := newRunStack(t, script)
	root := filepath.Join(s.shm, "admitted")
	out := s.cofre(3, append(s.runEnv(root), "LD_PRELOAD=/tmp/evil.so"), "run", "--", "/bin/sh")
	for _, want := range []string{"token=the-uploaded-token", "preload=\n", "key-ok", "SIMULATION"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	pw, err := os.ReadFile(filepath.Join(root, "etc/app/password"))
	if err != nil || len(pw) != 32 || !strings.Contains(out, string(pw)) {
		t.Fatalf("password file %q (%v) not what the program read", pw, err)
	}
}

// TestRunRefused: a refused activation exits 1 with the coordinator's
// reasons, runs nothing and writes nothing.
func TestRunRefused(t *testing.T) {
	s := newRunStack(t, "echo RAN")
	// A modified executable: /bin/sh with one byte appended.
	mod := filepath.Join(t.TempDir(), "sh")
	b, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(mod, append(b, 0), 0o755)
	root := filepath.Join(s.shm, "refused")
	out := s.cofre(1, s.runEnv(root), "run", "--", mod)
	if strings.Contains(out, "RAN") || !strings.Contains(out, "measurement") {
		t.Fatalf("a modified executable: the program ran, or no reason given:\n%s", out)
	}
	// Unknown service.
	out = s.cofre(1, append(s.runEnv(root), "COFRE_RUN_SERVICE=payroll"), "run", "--", "/bin/sh")
	if strings.Contains(out, "RAN") || !strings.Contains(out, "service") {
		t.Fatalf("unknown service:\n%s", out)
	}
	if _, err := os.Stat(root); err == nil {
		t.Fatal("a refused activation wrote files")
	}
	// Files on a disk-backed directory: refused before the program runs.
	disk := filepath.Join(t.TempDir(), "files")
	out = s.cofre(3, s.runEnv(disk), "run", "--", "/bin/sh")
	if strings.Contains(out, "RAN") || !strings.Contains(out, "memory-backed") {
		t.Fatalf("a disk-backed files root:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(disk, "etc/app/password")); err == nil {
		t.Fatal("a secret reached the disk")
	}
}

// TestRunSupervised: signals reach the program and its status comes back;
// the certificate is renewed and its file rewritten while it runs.
func TestRunSupervised(t *testing.T) {
	script := `trap 'echo got-term; exit 42' TERM
cert="$COFRE_FILES_ROOT/etc/app/cert.pem"
first=$(cat "$cert")
i=0
while [ "$(cat "$cert")" = "$first" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
[ "$(cat "$cert")" != "$first" ] && echo renewed
touch "$COFRE_FILES_ROOT/ready"
while :; do sleep 0.1; done`
	s := newRunStack(t, script, "--cert-lifetime", "6s")
	root := filepath.Join(s.shm, "supervised")
	cmd := exec.Command(s.bin, "run", "--supervise", "--", "/bin/sh")
	cmd.Env = append(os.Environ(), s.runEnv(root)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(root, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the program never got ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 42 {
		t.Fatalf("exit %v, want 42:\n%s", err, out.String())
	}
	for _, want := range []string{"renewed", "got-term"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// agentProcess is a running `cofre agent`.
type agentProcess struct {
	cmd  *exec.Cmd
	addr string // unix:///…
	done chan struct{}
}

func startAgent(t *testing.T, platform string) *agentProcess {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(os.Getenv("COFRE_BIN"), "agent", "--listen", "unix://"+sock, "--sim-platform", platform, "--log-level", "warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProcess{cmd: cmd, addr: "unix://" + sock, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("agent exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not create its socket: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func volumeYAML(on bool) string {
	if !on {
		return ""
	}
	return "    volumes:\n      data:\n        path: /data\n        key: volkey\n"
}

// TestRunVolume: an encrypted volume mounted by the supervising launcher
// keeps the program's data across runs, holds only ciphertext on disk,
// and a volume rolled back to an older copy is refused.
func TestRunVolume(t *testing.T) {
	fusetest.Require(t)
	script := `d="$COFRE_FILES_ROOT/data"
if [ -f "$d/visits" ]; then n=$(cat "$d/visits"); else n=0; fi
n=$((n+1)); echo "$n" > "$d/visits"; echo "patient-record-$n" >> "$d/log"; echo "visit $n"`
	s := newRunStackVolume(t, script, true)
	root := filepath.Join(s.shm, "vol")
	backing := filepath.Join(t.TempDir(), "data")
	env := append(s.runEnv(root), "COFRE_RUN_VOLUME_DIR=data="+backing)
	out := s.cofre(0, env, "run", "--supervise", "--", "/bin/sh")
	if !strings.Contains(out, "visit 1") {
		t.Fatalf("first run:\n%s", out)
	}
	old := filepath.Join(t.TempDir(), "old")
	copyDir(t, backing, old)
	out = s.cofre(0, env, "run", "--supervise", "--", "/bin/sh")
	if !strings.Contains(out, "visit 2") {
		t.Fatalf("second run did not see the first's data:\n%s", out)
	}
	// Only ciphertext on disk.
	filepath.WalkDir(backing, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("patient-record")) {
				t.Errorf("%s holds plaintext", p)
			}
		}
		return nil
	})
	// Roll the volume back to the copy taken after the first run.
	os.RemoveAll(backing)
	copyDir(t, old, backing)
	out = s.cofre(3, env, "run", "--supervise", "--", "/bin/sh")
	if strings.Contains(out, "visit") || !strings.Contains(out, "not in the state last reported") {
		t.Fatalf("a rolled-back volume:\n%s", out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
