package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// epoch is the pinned time of every test: report timestamps, certificate
// validity and verification.
var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	root     *sim.Root
	platform *sim.Platform
	server   *Server
	verifier *sim.Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root, err := sim.NewRoot(epoch, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := root.NewPlatform("node-1", epoch, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Platform: plat, Clock: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return &fixture{root: root, platform: plat, server: s, verifier: sim.NewVerifier(pool)}
}

// tcpClient serves f's handler on loopback TCP and returns a client of it.
func (f *fixture) tcpClient(t testing.TB) *Client {
	t.Helper()
	ts := httptest.NewServer(f.server.Handler())
	t.Cleanup(ts.Close)
	return &Client{BaseURL: ts.URL}
}

// unixClient serves f's handler on a real unix socket in a temporary
// directory and returns a client of it.
func (f *fixture) unixClient(t testing.TB) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(f.server.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return &Client{Socket: path}
}

// binding is what a launcher binds: a nonce, a workload key and digest.
type binding struct {
	nonce, key, digest []byte
	reportData         [attest.ReportDataSize]byte
}

func newBinding(t testing.TB, workload string) binding {
	t.Helper()
	b := binding{nonce: make([]byte, attest.NonceSize), key: []byte("workload public key DER " + workload)}
	rand.Read(b.nonce)
	d := sha256.Sum256([]byte(workload))
	b.digest = d[:]
	var err error
	if b.reportData, err = attest.ReportData(b.nonce, b.key, b.digest); err != nil {
		t.Fatal(err)
	}
	return b
}

// apiCall is one raw request to the handler and what it must answer.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
