// Package redistest starts a real, throwaway Redis server for tests: the
// Debian package's redis-server, configured from a file in a temporary
// directory, listening on a free loopback port with TLS 1.3 only and client
// certificates required, no persistence, the default user disabled, a
// least-privilege application user and an administrator for the test's own
// inspection. The server is stopped with SIGTERM when the test ends.
//
// Tests that need it call Start; without redis-server on the machine they
// are skipped with the reason, or fail when COFRE_REQUIRE_REDIS is set (as CI
// sets it).
//
// It is not a fixture for production use: its certificate authority is
// generated per test and its keys live in the test's temporary directory. In
// production the coordinator's PKI issues the certificates and the redis
// configuration is written by the deployment, not by this package.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultAppRules is the ACL of the application user when Options.AppRules
// is empty: no commands but the few a key-value cache needs, and only on
// keys under "cofre:". Pub/sub channels are reset so the user can reach
// none. HELLO and AUTH are how go-redis authenticates a connection (HELLO 3
// AUTH user password); Redis lets unauthenticated connections run them
// anyway, but naming them documents that they are expected.
const DefaultAppRules = "resetkeys resetchannels -@all +hello +auth +ping +get +set +del +exists +pexpire +pttl ~cofre:*"

// readyTimeout bounds how long Start waits for redis-server to report that
// it accepts connections; it starts in milliseconds, so this only stops a
// wedged server from hanging the test run.
const readyTimeout = 30 * time.Second

// Options configures Start. The zero value is the default.
type Options struct {
	// AppRules are the ACL rules of the application user, after "on" and
	// its password (redis.conf "user" syntax). Default: DefaultAppRules.
	AppRules string
}

// Server is a running redis-server.
type Server struct {
	// Addr is the loopback host:port of the TLS listener; there is no
	// plaintext listener.
	Addr string
	// CAPool holds the test certificate authority that signed the server's
	// certificate and is the only authority the server accepts client
	// certificates from.
	CAPool *x509.CertPool
	// AppUser and AppPassword authenticate the least-privilege user.
	AppUser, AppPassword string

	t             testing.TB
	ca            *authority
	adminPassword string
	log           *syncBuffer
}

// Start starts a server for t and stops it at t's cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("COFRE_REQUIRE_REDIS") != "" {
			t.Fatalf("redistest: redis-server not found: %v", err)
		}
		t.Skipf("redistest: redis-server not found (install the Debian package redis-server; COFRE_REQUIRE_REDIS=1 makes this a failure)")
	}
	rules := opts.AppRules
	if rules == "" {
		rules = DefaultAppRules
	}
	dir := t.TempDir()
	ca := newAuthority(t)
	serverCert, serverKey := ca.issue(t, "redis", true)
	files := map[string][]byte{"ca.pem": ca.certPEM, "server.pem": serverCert, "server.key": serverKey}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{
		CAPool:        ca.pool,
		AppUser:       "cofre-app",
		AppPassword:   randomHex(t),
		t:             t,
		ca:            ca,
		adminPassword: randomHex(t),
		log:           &syncBuffer{},
	}
	port := freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := config(dir, port, s.AppUser, s.AppPassword, rules, s.adminPassword)
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, confPath)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	exited := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		// Copy the log, and signal readiness when the server says so: no
		// polling, and a server that dies early ends the scan at EOF.
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(s.log, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("redistest: redis-server log:\n%s", s.log.String())
		}
	})
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("redistest: redis-server exited before it was ready:\n%s", s.log.String())
	case <-timer.C:
		t.Fatalf("redistest: redis-server not ready after %v:\n%s", readyTimeout, s.log.String())
	}
	// The log line says the listener is up; one PING proves TLS and the
	// administrator's credentials work before any test relies on them.
	if err := s.AdminClient().Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: ping as admin: %v\n%s", err, s.log.String())
	}
	return s
}

// config renders redis.conf. Passwords are stored as SHA-256 hashes
// ("#hex"), as redis.conf allows, so the file does not hold them in clear.
func config(dir string, port int, appUser, appPassword, appRules, adminPassword string) string {
	hash := func(p string) string {
		h := sha256.Sum256([]byte(p))
		return "#" + hex.EncodeToString(h[:])
	}
	lines := []string{
		"bind 127.0.0.1",
		"protected-mode yes",
		// No plaintext listener at all: every connection is TLS.
		"port 0",
		"tls-port " + strconv.Itoa(port),
		"tls-cert-file " + filepath.Join(dir, "server.pem"),
		"tls-key-file " + filepath.Join(dir, "server.key"),
		"tls-ca-cert-file " + filepath.Join(dir, "ca.pem"),
		"tls-auth-clients yes",
		`tls-protocols "TLSv1.3"`,
		"tls-replication no",
		"tls-cluster no",
		// No persistence: cached values never reach the disk.
		`save ""`,
		"appendonly no",
		"dir " + dir,
		"daemonize no",
		`logfile ""`,
		"databases 1",
		// The default user is how unauthenticated clients act: off, and
		// with no keys or commands should it ever be turned on.
		"user default off resetkeys resetchannels -@all",
		"user " + appUser + " on " + hash(appPassword) + " " + appRules,
		"user cofre-admin on " + hash(adminPassword) + " ~* &* +@all",
	}
	return strings.Join(lines, "\n") + "\n"
}

// ClientCert returns a fresh client certificate signed by the server's
// certificate authority.
func (s *Server) ClientCert() tls.Certificate {
	s.t.Helper()
	certPEM, keyPEM := s.ca.issue(s.t, "client", false)
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// ClientTLS returns a TLS 1.3 client configuration that trusts the server
// and presents a fresh client certificate.
func (s *Server) ClientTLS() *tls.Config {
	s.t.Helper()
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      s.CAPool,
		Certificates: []tls.Certificate{s.ClientCert()},
	}
}

// AdminClient returns a client authenticated as the administrator, who may
// run any command on any key: tests use it to look at what the server holds.
// It is closed at the test's cleanup.
func (s *Server) AdminClient() *redis.Client {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                     s.Addr,
		Username:                 "cofre-admin",
		Password:                 s.adminPassword,
		TLSConfig:                s.ClientTLS(),
		Protocol:                 3,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
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

// syncBuffer is the server's log, written by the copying goroutine and read
// by the test.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
