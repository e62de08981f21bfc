// Package pgtest starts a real, throwaway PostgreSQL server for tests: the
// Debian package's binaries, a fresh cluster in a temporary directory,
// listening on a free loopback port only, password (SCRAM) authentication,
// stopped and removed when the test ends.
//
// Tests that need it call Start; without PostgreSQL on the machine they are
// skipped with the reason, or fail when COFRE_REQUIRE_POSTGRES is set (as
// CI sets it). It is not a fixture for production use.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// Server is a running PostgreSQL cluster.
type Server struct {
	// DSN connects as the superuser "cofre" to database "postgres".
	DSN string
	// Port is the loopback TCP port it listens on.
	Port int
	// DataDir is the cluster's data directory, for tests that scan what
	// the server wrote to disk.
	DataDir string
}

// Start starts a server for t and stops it at t's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("COFRE_REQUIRE_POSTGRES") != "" {
			t.Fatalf("pgtest: %v", err)
		}
		t.Skipf("pgtest: %v (install the Debian package postgresql; COFRE_REQUIRE_POSTGRES=1 makes this a failure)", err)
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// PostgreSQL refuses to run as root: as root, run it as the package's
	// "postgres" user, which must own the cluster's directory.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pgtest: %s: %v\n%s", name, err, out)
		}
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		os.Chown(pwFile, int(cred.Uid), int(cred.Gid))
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "cofre", "--auth=scram-sha-256", "--pwfile="+pwFile, "-E", "UTF8", "--no-sync")
	port := freePort(t)
	// Loopback TCP only; the unix socket goes to the cluster's directory.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off", port, dir)
	run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("pgtest: stop: %v\n%s", err, out)
		}
	})
	return &Server{DSN: fmt.Sprintf("postgres://cofre:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port), Port: port, DataDir: data}
}

// binDir finds initdb, pg_ctl and postgres: Debian keeps them in
// /usr/lib/postgresql/VERSION/bin (the newest wins), else PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries not found")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
