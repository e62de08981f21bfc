package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/agent"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// startAgent runs "cofre agent args…" until the test ends and returns its
// stdout lines up to the last "listening on" line, and a stop function
// that cancels the command and returns its error and remaining output.
func startAgent(t *testing.T, listeners int, args ...string) (lines []string, stop func() (string, error)) {
	t.Helper()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	root := newRoot(pw, &stderr)
	root.SetArgs(append([]string{"agent"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.Close()
		done <- err
	}()
	out := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out <- sc.Text()
		}
		close(out)
	}()
	for n := 0; n < listeners; {
		l, ok := <-out
		if !ok {
			cancel()
			t.Fatalf("agent exited: %v\nstdout %q\nstderr %s", <-done, lines, stderr.String())
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "cofre agent: listening on ") {
			n++
		}
	}
	var stopped bool
	stop = func() (string, error) {
		stopped = true
		cancel()
		var rest []string
		for l := range out {
			rest = append(rest, l)
		}
		err := <-done
		return strings.Join(rest, "\n") + stderr.String(), err
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return lines, stop
}

func listeningOn(lines []string, scheme string) string {
	for _, l := range lines {
		if u, ok := strings.CutPrefix(l, "cofre agent: listening on "); ok && strings.HasPrefix(u, scheme) {
			return u
		}
	}
	return ""
}

func TestAgentCommandServesEvidence(t *testing.T) {
	dir := t.TempDir()
	sockDir := filepath.Join(dir, "run") // created by the agent
	sock := filepath.Join(sockDir, "agent.sock")
	state := filepath.Join(dir, "state")
	// --listen comes from the environment, as a DaemonSet would set it.
	t.Setenv("COFRE_AGENT_LISTEN", "unix://"+sock)
	lines, stop := startAgent(t, 2, "--dev", "--state", state, "--tcp", "127.0.0.1:0")
	if !strings.Contains(strings.Join(lines, "\n"), "SIMULATION") {
		t.Errorf("no SIMULATION warning in %q", lines)
	}
	if got := listeningOn(lines, "unix://"); got != "unix://"+sock {
		t.Fatalf("unix listener %q, want %q", got, "unix://"+sock)
	}
	for path, want := range map[string]os.FileMode{sock: agentSocketMode | os.ModeSocket, sockDir: agentSocketDirMode | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode %v, want %v", path, fi.Mode(), want)
		}
	}

	// The dev coordinator with the same --state trusts this root.
	rootPEM, err := os.ReadFile(filepath.Join(state, "sim", simRootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := sim.ParseRootCertificates(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	verifier := sim.NewVerifier(roots)
	for _, addr := range []string{"unix://" + sock, listeningOn(lines, "http://")} {
		c, err := agent.NewClient(addr)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte("/usr/bin/python3 app.py"))
		nonce := bytes.Repeat([]byte{9}, attest.NonceSize)
		rd, err := attest.ReportData(nonce, []byte("key"), digest[:])
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.Producer(digest[:]).Produce(context.Background(), rd)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		claims, err := verifier.Verify(context.Background(), ev, attest.Options{})
		if err != nil {
			t.Fatalf("%s: evidence refused: %v", addr, err)
		}
		if err := attest.CheckBinding(claims, nonce, []byte("key"), digest[:]); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
	}

	rest, err := stop()
	if err != nil {
		t.Fatalf("agent returned %v: %s", err, rest)
	}
	if !strings.Contains(rest, "cofre agent: stopped") {
		t.Errorf("output after stop: %q", rest)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

func TestAgentSocketFile(t *testing.T) {
	dir := t.TempDir()

	// A stale socket (its agent died) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, stop := startAgent(t, 1, "--dev", "--state", filepath.Join(dir, "state"), "--listen", "unix://"+stale)

	// A live agent's socket is not taken over.
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "--dev", "--state", filepath.Join(dir, "state"), "--listen", "unix://" + stale}, &out, &errb); code != exitUnavail ||
		!strings.Contains(errb.String(), "another agent is listening") {
		t.Errorf("second agent on a live socket: exit %d: %s", code, errb.String())
	}
	if rest, err := stop(); err != nil {
		t.Fatal(err, rest)
	}

	// Any other file is left alone.
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"agent", "--dev", "--state", filepath.Join(dir, "state"), "--listen", "unix://" + regular}, &out, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), "not a socket") {
		t.Errorf("regular file at --listen: exit %d: %s", code, errb.String())
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep" {
		t.Fatalf("regular file touched: %q %v", b, err)
	}
}

func TestAgentUsageErrors(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "a.sock")
	notPEM := filepath.Join(dir, "platform.pem")
	if err := os.WriteFile(notPEM, []byte("not a platform"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"agent", "--listen", sock}, // neither --sim-platform nor --dev
		{"agent", "--listen", sock, "--sim-platform", filepath.Join(dir, "no")}, // unreadable
		{"agent", "--listen", sock, "--sim-platform", notPEM},                   // not a platform
		{"agent", "--dev", "--state", dir, "--listen", "tcp://127.0.0.1:1"},     // not a unix address
		{"agent", "--dev", "--state", dir, "--listen", "unix://relative.sock"},  // not absolute
		{"agent", "--dev", "--state", dir, "--listen", ""},                      // nothing to serve
		{"agent", "--dev", "--state", dir, "--listen", sock, "--tcp", "nope"},   // not host:port
		{"agent", "--dev", "--state", dir, "--listen", sock, "--log-format", "xml"},
		{"agent", "extra-arg"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errb.String())
		}
	}
	t.Setenv("COFRE_AGENT_DEV", "maybe")
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "--listen", sock}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "COFRE_AGENT_DEV") {
		t.Errorf("bad COFRE_AGENT_DEV: exit %d: %s", code, errb.String())
	}
}
