//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/internal/fusetest"
)

// TestSparkStandalone runs a Spark standalone cluster — a master and two
// workers, each an attested workload under cofre run (cofre spark master,
// cofre spark worker) — and a driver (cofre spark submit) whose executors
// run in the workers: Q1 over data cofre encrypted comes out as cofre
// computes it. The cluster admits only processes holding the secret the
// policy releases; a worker whose binary does not match the policy is
// refused at activation and never gets it.
func TestSparkStandalone(t *testing.T) {
	submit, jar := requireSpark(t)
	fusetest.Require(t)
	l := newLakeStack(t)
	work := t.TempDir()
	data := filepath.Join(work, "taxi")
	examples, err := filepath.Abs(repoPath("spark/examples"))
	if err != nil {
		t.Fatal(err)
	}
	python, _ := exec.LookPath("python3")
	java, _ := exec.LookPath("java")
	home, err := exec.Command(python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))").Output()
	if err != nil {
		t.Fatal(err)
	}
	sparkHome := strings.TrimSpace(string(home))
	env := map[string]string{
		"PATH":           strings.Join([]string{filepath.Dir(python), filepath.Dir(submit), filepath.Dir(java), "/usr/bin", "/bin"}, ":"),
		"PYSPARK_PYTHON": python,
		"HOME":           work,
	}
	port, webMaster := freePort(t), freePort(t)
	masterURL := fmt.Sprintf("spark://127.0.0.1:%d", port)
	secretFile := map[string]string{"/etc/cofre/spark.secret": `{{ secret "spark_secret" "hex" }}`}
	vol := map[string]string{"spark-local": "/var/spark-local"}
	const q1 = "SELECT passenger_count, count(*) AS trips, round(sum(total_amount), 2) AS revenue, round(avg(fare_amount), 2) AS avg_fare FROM taxi GROUP BY passenger_count ORDER BY passenger_count NULLS LAST"
	l.setManifest("cluster", []lakeService{
		{name: "ingest", grants: "trips_key", args: []string{"datagen", "taxi", "--rows", "200000", "--seed", "5", "--out", data, "--encrypt", "--footer-key", "trips_key"}},
		{name: "query", grants: "trips_key", args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", q1}},
		{name: "master", grants: "", env: env, files: secretFile,
			args: []string{"spark", "master", "--spark-home", sparkHome, "--port", fmt.Sprint(port), "--webui-port", fmt.Sprint(webMaster), "--auth-secret-file", "/etc/cofre/spark.secret"}},
		{name: "worker", grants: "trips_key", env: env, files: secretFile, volumes: vol,
			args: []string{"spark", "worker", "--spark-home", sparkHome, "--master", masterURL, "--webui-port", "0", "--auth-secret-file", "/etc/cofre/spark.secret", "--local-dir", "/var/spark-local"}},
		{name: "driver", grants: "trips_key", env: env, files: secretFile, volumes: vol,
			args: []string{"spark", "submit", "--master", masterURL, "--spark-submit", submit, "--kms-jar", jar, "--local-dir", "/var/spark-local",
				"--auth-secret-file", "/etc/cofre/spark.secret", "--plaintext-output", "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2",
				filepath.Join(examples, "taxi_q1.py"), data}},
	}, "  trips_key: {kind: parquet-master-key}\n  spark_secret: {kind: symmetric, size: 32}\n")

	l.run(0, "cluster", "ingest")
	want := l.run(0, "cluster", "query")

	l.startDaemon("cluster", "master", "master", `Starting Spark master|I have been elected leader`)
	for _, w := range []string{"worker-1", "worker-2"} {
		l.startDaemon("cluster", "worker", w, `Successfully registered with master`)
	}

	got := l.run(0, "cluster", "driver")
	lines := regexp.MustCompile(`(?m)^q1:(.*)$`).FindAllStringSubmatch(got, -1)
	if len(lines) < 7 {
		t.Fatalf("driver printed %d groups:\n%s", len(lines), tail(got))
	}
	for _, m := range lines {
		f := strings.Split(m[1], ",")
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(f[0]) + `\s+` + f[1] + `\s+` + strings.TrimRight(strings.TrimRight(f[2], "0"), ".") + `\s+` + strings.TrimRight(strings.TrimRight(f[3], "0"), ".") + `\s*$`)
		if !row.MatchString(want) {
			t.Errorf("cluster group %s not in cofre's answer:\n%s", m[1], want)
		}
	}
	// The executors ran in the attested workers.
	for _, w := range []string{"worker-1", "worker-2"} {
		if log := l.daemonLog(w); !strings.Contains(log, "Asked to launch executor") {
			t.Errorf("%s launched no executor:\n%s", w, tail(log))
		}
	}

	// A worker built from other code is another workload: refused at
	// activation, it never sees the secret and cannot join.
	patched := filepath.Join(work, "cofre-patched")
	b, err := os.ReadFile(l.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(patched, append(b, 'x'), 0o755); err != nil {
		t.Fatal(err)
	}
	out := l.cofre(1, l.runEnvFor("cluster", "worker", "worker-patched"), "run", "--supervise", "--", patched)
	if !strings.Contains(out, "REFUSED") {
		t.Errorf("patched worker: %s", tail(out))
	}
}

// daemons are the long-running processes a test started, by instance.
var (
	daemonsMu sync.Mutex
	daemons   = map[string]*bytes.Buffer{}
)

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startDaemon starts one instance of a service under cofre run in the
// background, waits until its output matches ready, and stops it (SIGTERM,
// then SIGKILL of its process group) when the test ends.
func (l *lakeStack) startDaemon(manifest, svc, instance, ready string) *exec.Cmd {
	t := l.t
	t.Helper()
	var buf bytes.Buffer
	daemonsMu.Lock()
	daemons[instance] = &buf
	daemonsMu.Unlock()
	cmd := exec.Command(l.bin, "run", "--supervise", "--", l.bin)
	cmd.Env = append(os.Environ(), l.runEnvFor(manifest, svc, instance)...)
	w := lockedBuffer{&daemonsMu, &buf}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	re := regexp.MustCompile(ready)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if re.MatchString(l.daemonLog(instance)) {
			return cmd
		}
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", instance, tail(l.daemonLog(instance)))
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready after 90 s:\n%s", instance, tail(l.daemonLog(instance)))
	return nil
}

func (l *lakeStack) daemonLog(instance string) string {
	daemonsMu.Lock()
	defer daemonsMu.Unlock()
	if b := daemons[instance]; b != nil {
		return b.String()
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
