package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/internal/auditlog"
	"github.com/cofre-cc/cofre/manifest"
)

// fakeCoord is a loopback coordinator for the CLI: sim evidence bound to
// its root, and canned answers for the rest of the API. The real server is
// tested end to end elsewhere; this checks the commands' own logic.
type fakeCoord struct {
	srv        *httptest.Server
	simRootPEM string // file for --sim-root
	policy     string // file for --coordinator-policy
	rootPEM    string // file for --root

	mu         sync.Mutex // guards the fields below
	secrets    map[string][]byte
	manifests  []api.ManifestUpload
	shares     []api.RecoveryShare
	record     []byte
	audit      []byte
	auditReads int
	head       *api.SignedAuditHead
}

// auditPage is the fake's page size, small to exercise paging.
const auditPage = 2

func newFakeCoord(t *testing.T) *fakeCoord {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	simRoot, err := sim.NewRoot(now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := simRoot.NewPlatform("node", now.Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m := sha256.Sum256([]byte("coordinator"))
	producer := &sim.Producer{Platform: plat, Measurement: m[:]}

	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := mkCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
	}, nil, &rootKey.PublicKey, rootKey)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := mkCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "coordinator"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
	}, root, &srvKey.PublicKey, rootKey)

	f := &fakeCoord{secrets: map[string][]byte{}}
	f.simRootPEM = writeTemp(t, dir, "simroot.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: simRoot.Cert.Raw}))
	f.rootPEM = writeTemp(t, dir, "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	f.policy = writeTemp(t, dir, "policy.yaml", []byte("name: coordinator\nallow_simulation: true\nreferences:\n  - tee: sim\n    measurements: ["+hex.EncodeToString(m[:])+"]\n    debug_allowed: true\n"))

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathAttestation, func(w http.ResponseWriter, r *http.Request) {
		nonce, _ := hex.DecodeString(r.URL.Query().Get(api.NonceQueryParam))
		rd, err := attest.ReportData(nonce, root.RawSubjectPublicKeyInfo, nil)
		if err != nil {
			apiErr(w, 400, api.CodeBadRequest, "nonce")
			return
		}
		ev, _ := producer.Produce(r.Context(), rd)
		reply(w, api.AttestationResponse{Evidence: api.Evidence{Format: ev.Format, Data: ev.Payload}, RootCertificate: root.Raw, Simulation: true})
	})
	mux.HandleFunc("GET "+api.PathStatus, func(w http.ResponseWriter, r *http.Request) {
		reply(w, api.Status{TrustDomain: "cofre.test", Simulation: true, Sealer: "sim", RootSHA256: "ab",
			Manifests: []api.ManifestSummary{{Name: "hello", Version: 2, SHA256: strings.Repeat("c", 64)}, {Name: "old", Version: 1, Locked: true}}})
	})
	mux.HandleFunc("PUT /v1/manifests/{m}", func(w http.ResponseWriter, r *http.Request) {
		var up api.ManifestUpload
		if err := json.NewDecoder(r.Body).Decode(&up); err != nil {
			apiErr(w, 400, api.CodeBadRequest, "body")
			return
		}
		h := sha256.Sum256(up.Document)
		f.mu.Lock()
		f.manifests = append(f.manifests, up)
		f.mu.Unlock()
		reply(w, api.ManifestInfo{Name: r.PathValue("m"), Version: 1, SHA256: hex.EncodeToString(h[:]), Signers: []string{"alice"}})
	})
	mux.HandleFunc("GET /v1/manifests/{m}", func(w http.ResponseWriter, r *http.Request) {
		doc := []byte("name: hello\n")
		h := sha256.Sum256(doc)
		switch r.PathValue("m") {
		case "locked":
			apiErr(w, 503, api.CodeLocked, "manifest \"locked\" is locked")
		case "liar": // a document that is not the one it names
			reply(w, api.ManifestResponse{Info: api.ManifestInfo{Name: "liar", Version: 1, SHA256: strings.Repeat("0", 64)}, Document: doc})
		default:
			reply(w, api.ManifestResponse{Info: api.ManifestInfo{Name: r.PathValue("m"), Version: 1, SHA256: hex.EncodeToString(h[:])}, Document: doc})
		}
	})
	mux.HandleFunc("GET /v1/manifests/{m}/log", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []api.ManifestInfo{
			{Name: "hello", Version: 1, SHA256: strings.Repeat("1", 64), Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Signers: []string{"alice"}},
			{Name: "hello", Version: 2, SHA256: strings.Repeat("2", 64), Predecessor: strings.Repeat("1", 64), Time: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Signers: []string{"alice", "bob"}},
		})
	})
	mux.HandleFunc("PUT /v1/manifests/{m}/secrets/{s}", func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			apiErr(w, 401, api.CodeUnauthorized, "no client certificate")
			return
		}
		var up api.SecretUpload
		if err := json.NewDecoder(r.Body).Decode(&up); err != nil {
			apiErr(w, 400, api.CodeBadRequest, "body")
			return
		}
		f.mu.Lock()
		f.secrets[r.PathValue("m")+"/"+r.PathValue("s")] = up.Value
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/manifests/{m}/secrets/{s}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		v, ok := f.secrets[r.PathValue("m")+"/"+r.PathValue("s")]
		f.mu.Unlock()
		if !ok {
			apiErr(w, 404, api.CodeNotFound, "no such secret")
			return
		}
		reply(w, api.SecretResponse{Kind: "uploaded", Value: v})
	})
	mux.HandleFunc("GET "+api.PathAudit, func(w http.ResponseWriter, r *http.Request) {
		// Pages of auditPage lines with seq >= from, as the coordinator
		// serves them.
		from, _ := strconv.ParseUint(r.URL.Query().Get(api.AuditFromQueryParam), 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.auditReads++
		n := 0
		for i, line := range strings.SplitAfter(string(f.audit), "\n") {
			if line != "" && uint64(i+1) >= from && n < auditPage {
				io.WriteString(w, line)
				n++
			}
		}
	})
	mux.HandleFunc("GET "+api.PathAuditHead, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, f.head)
	})
	mux.HandleFunc("GET /v1/recovery/{m}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Write(f.record)
	})
	mux.HandleFunc("POST /v1/recovery/{m}", func(w http.ResponseWriter, r *http.Request) {
		var s api.RecoveryShare
		json.NewDecoder(r.Body).Decode(&s)
		f.mu.Lock()
		f.shares = append(f.shares, s)
		f.mu.Unlock()
		reply(w, api.RecoveryResult{Remaining: 1})
	})
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: srvKey}
	f.srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}, nil
	}}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func mkCert(t *testing.T, tmpl, parent *x509.Certificate, pub, key any) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(api.HeaderSimulation, "true")
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Error{Code: code, Message: msg})
}

// sim are the flags of a client that accepts the fake (simulated)
// coordinator.
func (f *fakeCoord) sim() []string {
	return []string{"--coordinator", f.srv.URL, "--sim-root", f.simRootPEM, "--insecure-simulation"}
}

// userCertFiles writes a self-signed client certificate and its key.
func userCertFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := mkCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "alice"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, nil, &k.PublicKey, k)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return writeTemp(t, dir, "alice.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})),
		writeTemp(t, dir, "alice.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestStatus(t *testing.T) {
	f := newFakeCoord(t)
	code, out, errs := runCLI(t, append([]string{"status"}, f.sim()...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, simulationWarning) {
		t.Errorf("no SIMULATION warning on stderr: %q", errs)
	}
	for _, want := range []string{"cofre.test", "SIMULATION", "hello", "LOCKED"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, append([]string{"status", "--json"}, f.sim()...)...)
	var st api.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || len(st.Manifests) != 2 {
		t.Fatalf("status --json: exit %d: %s", code, out)
	}
}

func TestCoordinatorExitCodes(t *testing.T) {
	f := newFakeCoord(t)
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"policy accepts sim, flag set", nil, []string{"status", "--coordinator", f.srv.URL, "--sim-root", f.simRootPEM, "--coordinator-policy", f.policy, "--insecure-simulation"}, exitOK},
		{"sim refused without --insecure-simulation", nil, []string{"status", "--coordinator", f.srv.URL, "--sim-root", f.simRootPEM, "--coordinator-policy", f.policy}, exitRefused},
		{"sim platform not trusted", nil, []string{"status", "--coordinator", f.srv.URL, "--insecure-simulation"}, exitRefused},
		{"pinned root", nil, []string{"status", "--coordinator", f.srv.URL, "--root", f.rootPEM}, exitOK},
		{"pinned root of another coordinator", nil, []string{"status", "--coordinator", f.srv.URL, "--root", f.simRootPEM}, exitRefused},
		{"environment", map[string]string{"COFRE_COORDINATOR": f.srv.URL, "COFRE_INSECURE_SIMULATION": "true"}, []string{"status", "--sim-root", f.simRootPEM}, exitOK},
		{"bad boolean in the environment", map[string]string{"COFRE_INSECURE_SIMULATION": "sure"}, []string{"status", "--coordinator", f.srv.URL}, exitUsage},
		{"unreachable", nil, []string{"status", "--coordinator", closed.URL, "--insecure-simulation"}, exitUnavail},
		{"not found is a refusal", nil, append([]string{"secret", "get", "hello", "nope", "-o", "-"}, f.sim()...), exitRefused},
		{"a locked manifest is unavailable", nil, append([]string{"manifest", "get", "locked"}, f.sim()...), exitUnavail},
		{"a document that does not match its hash", nil, append([]string{"manifest", "get", "liar"}, f.sim()...), exitUnavail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if code, _, errs := runCLI(t, tt.args...); code != tt.want {
				t.Fatalf("exit %d, want %d: %s", code, tt.want, errs)
			}
		})
	}
}

func TestSecretSetGet(t *testing.T) {
	f := newFakeCoord(t)
	cert, key := userCertFiles(t)
	dir := t.TempDir()
	in := writeTemp(t, dir, "pw", []byte("s3cret\n"))
	code, out, errs := runCLI(t, append([]string{"secret", "set", "hello", "db", "--from-file", in, "--cert", cert, "--key", key}, f.sim()...)...)
	if code != exitOK || !strings.Contains(out, "7 bytes") {
		t.Fatalf("set: exit %d: %s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "s3cret") {
		t.Fatal("the secret was printed")
	}
	// Without a client certificate the fake says 401: a refusal.
	if code, _, _ := runCLI(t, append([]string{"secret", "set", "hello", "db", "--from-file", in}, f.sim()...)...); code != exitRefused {
		t.Fatalf("set without a certificate: exit %d", code)
	}

	outFile := filepath.Join(dir, "out")
	code, out, errs = runCLI(t, append([]string{"secret", "get", "hello", "db", "-o", outFile}, f.sim()...)...)
	if code != exitOK || strings.Contains(out+errs, "s3cret") {
		t.Fatalf("get -o FILE: exit %d: %q %q", code, out, errs)
	}
	if b := mustRead(t, outFile); string(b) != "s3cret\n" {
		t.Fatalf("file holds %q", b)
	}
	if st, _ := os.Stat(outFile); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// The file exists now: not overwritten, and nothing fetched.
	if code, _, _ := runCLI(t, append([]string{"secret", "get", "hello", "db", "-o", outFile}, f.sim()...)...); code != exitUsage {
		t.Errorf("get over an existing file: exit %d", code)
	}
	if code, out, _ := runCLI(t, append([]string{"secret", "get", "hello", "db", "-o", "-"}, f.sim()...)...); code != exitOK || out != "s3cret\n" {
		t.Fatalf("get -o -: exit %d, %q", code, out)
	}
}

func TestRecover(t *testing.T) {
	f := newFakeCoord(t)
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rec, err := seal.NewRecoveryRecord(make([]byte, 32), map[string]*ecdh.PublicKey{"ops-1": priv.PublicKey(), "ops-2": other.PublicKey()}, 2, "hello")
	if err != nil {
		t.Fatal(err)
	}
	f.record, _ = json.Marshal(rec)
	dir := t.TempDir()
	pemKey, _ := seal.MarshalRecoveryPrivateKey(priv)
	keyFile := writeTemp(t, dir, "ops1.pem", pemKey)
	pemOther, _ := seal.MarshalRecoveryPrivateKey(other)
	otherFile := writeTemp(t, dir, "ops2.pem", pemOther)

	code, out, errs := runCLI(t, append([]string{"recover", "--manifest", "hello", "--holder", "ops-1", "--key", keyFile}, f.sim()...)...)
	if code != exitOK || !strings.Contains(out, "1 more needed") {
		t.Fatalf("recover: exit %d: %s%s", code, out, errs)
	}
	if len(f.shares) != 1 || f.shares[0].Holder != "ops-1" || rec.CheckShare("ops-1", f.shares[0].Share) != nil {
		t.Fatalf("submitted %+v", f.shares)
	}
	// ops-2's key for ops-1's share: refused locally, nothing submitted.
	code, _, errs = runCLI(t, append([]string{"recover", "--manifest", "hello", "--holder", "ops-1", "--key", otherFile}, f.sim()...)...)
	if code != exitRefused || len(f.shares) != 1 {
		t.Fatalf("wrong key: exit %d, %d shares: %s", code, len(f.shares), errs)
	}
	if code, _, _ := runCLI(t, append([]string{"recover", "--manifest", "hello", "--holder", "ops-1"}, f.sim()...)...); code != exitUsage {
		t.Errorf("no --key: exit %d", code)
	}
}

type testAuditEntry struct {
	auditlog.Header
	Event string `json:"event"`
}

// auditFixture writes a signed log of n lines and returns its signed head
// as the coordinator serves it, and the public key file.
func auditFixture(t *testing.T, dir string, n int) ([]byte, *api.SignedAuditHead, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var buf strings.Builder
	l, err := auditlog.New(&buf, auditlog.Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var head auditlog.Head
	for i := range n {
		if head, err = l.Append(now.Add(time.Duration(i)*time.Second), &testAuditEntry{Event: "activate"}); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := auditlog.SignHead(key, head, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	out := &api.SignedAuditHead{Head: api.AuditHead{Seq: head.Seq, SHA256: hex.EncodeToString(head.Hash[:])}, Time: sh.Time, PublicKey: pub, Signature: sh.Signature}
	keyFile := writeTemp(t, t.TempDir(), "audit.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	return []byte(buf.String()), out, keyFile
}

func TestAuditVerify(t *testing.T) {
	f := newFakeCoord(t)
	dir := t.TempDir()
	log, head, keyFile := auditFixture(t, dir, 5)
	f.audit, f.head = log, head
	logFile := writeTemp(t, dir, "audit.log", log)
	lines := strings.SplitAfter(string(log), "\n")
	truncated := writeTemp(t, dir, "truncated.log", []byte(strings.Join(lines[:3], "")))
	edited := writeTemp(t, dir, "edited.log", []byte(strings.Replace(string(log), "activate", "activatE", 1)))
	_, otherHead, otherKey := auditFixture(t, dir, 2)
	headB, _ := json.Marshal(head)
	headFile := writeTemp(t, dir, "head.json", headB)
	otherHeadB, _ := json.Marshal(otherHead)
	otherHeadFile := writeTemp(t, dir, "other-head.json", otherHeadB)
	saved := filepath.Join(dir, "saved.json")

	tests := []struct {
		name    string
		args    []string
		want    int
		wantOut string
	}{
		{"offline", []string{logFile, "--key", keyFile}, exitOK, "5 lines"},
		{"offline with head", []string{logFile, "--key", keyFile, "--head", headFile}, exitOK, "reaches the signed head seq 5"},
		{"truncated below the head", []string{truncated, "--key", keyFile, "--head", headFile}, exitRefused, ""},
		{"edited line", []string{edited, "--key", keyFile}, exitRefused, ""},
		{"another key", []string{logFile, "--key", otherKey}, exitRefused, ""},
		{"head signed by another key", []string{logFile, "--key", keyFile, "--head", otherHeadFile}, exitRefused, ""},
		{"online", append([]string{"--save-head", saved}, f.sim()...), exitOK, "5 lines"},
		{"online, pinned key", append([]string{"--key", keyFile}, f.sim()...), exitOK, "5 lines"},
		{"online, another pinned key", append([]string{"--key", otherKey}, f.sim()...), exitRefused, ""},
		{"no input", nil, exitUsage, ""},
		{"file without key", []string{logFile}, exitUsage, ""},
		{"file and coordinator", append([]string{logFile}, f.sim()...), exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"audit", "verify"}, tt.args...)...)
			if code != tt.want || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d, want %d; stdout %q (want %q); stderr %q", code, tt.want, out, tt.wantOut, errs)
			}
		})
	}
	// The saved head verifies the log later.
	if code, _, errs := runCLI(t, "audit", "verify", logFile, "--key", keyFile, "--head", saved); code != exitOK {
		t.Fatalf("verify with the saved head: exit %d: %s", code, errs)
	}
	// Truncation online: the coordinator now serves a shorter log.
	f.mu.Lock()
	f.audit = mustRead(t, truncated)
	f.mu.Unlock()
	if code, _, errs := runCLI(t, append([]string{"audit", "verify", "--head", saved}, f.sim()...)...); code != exitRefused || !strings.Contains(errs, "REFUSED") {
		t.Fatalf("online truncation: exit %d: %s", code, errs)
	}
	// show prints the lines.
	f.mu.Lock()
	f.audit = log
	f.mu.Unlock()
	if code, out, _ := runCLI(t, append([]string{"audit", "show"}, f.sim()...)...); code != exitOK || out != string(log) {
		t.Fatalf("audit show: exit %d: %q", code, out)
	}
	if code, out, _ := runCLI(t, append([]string{"audit", "show", "--from", "4"}, f.sim()...)...); code != exitOK || out != strings.Join(lines[3:], "") {
		t.Fatalf("audit show --from 4: exit %d: %q", code, out)
	}
}

func TestCoordinatorUsageErrors(t *testing.T) {
	dir := t.TempDir()
	v2 := filepath.Join(dir, "v2.yaml")
	o := newOwner(t, dir, "alice", false)
	manifestDoc(t, v2, 2, strings.Repeat("ab", 32), 1, o)
	v1 := filepath.Join(dir, "v1.yaml")
	manifestDoc(t, v1, 1, "", 1, o)
	sig := v1 + ".alice.sig"
	runCLI(t, "manifest", "sign", "--key", o.keyFile, "--owner", "alice", v1)
	url := "https://127.0.0.1:1"
	for _, args := range [][]string{
		{"status"},                       // no --coordinator
		{"status", "--coordinator", url}, // no policy, no --insecure-simulation
		{"status", "--coordinator", "http://127.0.0.1:1", "--insecure-simulation"}, // not https
		{"status", "--coordinator", url, "--coordinator-policy", filepath.Join(dir, "nope")},
		{"status", "--coordinator", url, "--insecure-simulation", "--key", o.keyFile}, // --key without --cert
		{"status", "--coordinator", url, "--insecure-simulation", "--cert", v1},       // not a certificate
		{"status", "extra"},
		{"secret", "get", "m", "s", "--coordinator", url, "--insecure-simulation"}, // no -o
		{"secret", "set", "m", "s", "--coordinator", url, "--insecure-simulation"}, // no source
		{"secret", "set", "m", "s", "--from-stdin", "--from-file", v1, "--coordinator", url, "--insecure-simulation"},
		{"secret", "get", "m"},
		{"manifest", "set", v2, sig, "--coordinator", url, "--insecure-simulation"},    // version 2
		{"manifest", "update", v1, sig, "--coordinator", url, "--insecure-simulation"}, // version 1
		{"manifest", "set", v1, "--coordinator", url, "--insecure-simulation"},         // no signature
		{"manifest", "get"},
		{"manifest", "log", "a", "b"},
		{"manifest", "nope"},
		{"audit", "verify", "--coordinator", url, "--insecure-simulation", "--key", v1}, // not a public key
		{"recover", "--coordinator", url, "--insecure-simulation"},
	} {
		if code, _, errs := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errs)
		}
	}
}

func TestManifestSetGetLog(t *testing.T) {
	f := newFakeCoord(t)
	dir := t.TempDir()
	alice := newOwner(t, dir, "alice", false)
	v1 := filepath.Join(dir, "hello.yaml")
	doc := manifestDoc(t, v1, 1, "", 1, alice)
	if code, _, errs := runCLI(t, "manifest", "sign", "--key", alice.keyFile, "--owner", "alice", v1); code != exitOK {
		t.Fatalf("sign: %s", errs)
	}
	code, out, errs := runCLI(t, append([]string{"manifest", "set", v1, v1 + ".alice.sig"}, f.sim()...)...)
	if code != exitOK || !strings.Contains(out, "accepted") {
		t.Fatalf("set: exit %d: %s%s", code, out, errs)
	}
	if len(f.manifests) != 1 || string(f.manifests[0].Document) != string(doc) || len(f.manifests[0].Signatures) != 1 {
		t.Fatalf("uploaded %+v", f.manifests)
	}
	out2 := filepath.Join(dir, "got.yaml")
	if code, out, errs := runCLI(t, append([]string{"manifest", "get", "hello", "-o", out2}, f.sim()...)...); code != exitOK || string(mustRead(t, out2)) != "name: hello\n" {
		t.Fatalf("get: exit %d: %s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, append([]string{"manifest", "log", "hello"}, f.sim()...)...)
	if code != exitOK || !strings.Contains(out, "2026-11-02T00:00:00Z") || !strings.Contains(out, "alice,bob") {
		t.Fatalf("log: exit %d: %s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, append([]string{"manifest", "log", "hello", "--json"}, f.sim()...)...)
	var infos []api.ManifestInfo
	if code != exitOK || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 2 {
		t.Fatalf("log --json: exit %d: %s", code, out)
	}
	// A signature by someone else is refused before anything is sent.
	bob := newOwner(t, dir, "bob", false)
	bobSig := filepath.Join(dir, "bob.sig")
	key, _ := parsePrivateKeyPEM(mustRead(t, bob.keyFile))
	sig, _ := manifest.Sign(doc, key)
	b, _ := manifest.MarshalSignature(manifest.Signature{Owner: "alice", Signature: sig}, manifest.Hash(doc))
	os.WriteFile(bobSig, b, 0o644)
	if code, _, _ := runCLI(t, append([]string{"manifest", "set", v1, bobSig}, f.sim()...)...); code != exitUsage || len(f.manifests) != 1 {
		t.Fatalf("forged signature: exit %d, %d uploads", code, len(f.manifests))
	}
}

// COFRE_KEY is the client key: it never fills a command's own --key (the
// audit public key, a recovery private key).
func TestClientKeyEnvironment(t *testing.T) {
	t.Setenv("COFRE_KEY", "client.key")
	for _, tc := range []struct {
		cmd, keyFlag string
	}{{"status", "key"}, {"audit verify", "cert-key"}, {"recover", "cert-key"}} {
		var f coordFlags
		fl := pflag.NewFlagSet(tc.cmd, pflag.ContinueOnError)
		f.register(fl, tc.keyFlag)
		var own string
		if tc.keyFlag != "key" {
			fl.StringVar(&own, "key", "", "")
		}
		if err := f.fromEnv(fl); err != nil {
			t.Fatal(err)
		}
		if f.key != "client.key" || own != "" {
			t.Errorf("%s: client key %q, own --key %q", tc.cmd, f.key, own)
		}
	}
}

// A program started by cofre run finds the coordinator's root in
// COFRE_PINNED_ROOT and, when the launcher relocated the policy's files
// (COFRE_FILES_ROOT), the certificate and key the policy named below it;
// flags on the command line win over both.
func TestLauncherEnvironment(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	tests := []struct {
		name                  string
		env                   map[string]string
		args                  []string
		wantCert, wantKey     string
		wantPinned, wantUsage bool
		notWorkload           bool // a command such as cofre run
	}{
		{"relocated", map[string]string{"COFRE_CERT": "/run/w/cert.pem", "COFRE_KEY": "/run/w/key.pem", envFilesRoot: "/dev/shm/x"}, nil, "/dev/shm/x/run/w/cert.pem", "/dev/shm/x/run/w/key.pem", false, false, false},
		{"not relocated", map[string]string{"COFRE_CERT": "/run/w/cert.pem"}, nil, "/run/w/cert.pem", "", false, false, false},
		{"flags win", map[string]string{"COFRE_CERT": "/run/w/cert.pem", envFilesRoot: "/dev/shm/x"}, []string{"--cert", "/etc/c.pem"}, "/etc/c.pem", "", false, false, false},
		{"dot-dot stays below the files root", map[string]string{"COFRE_CERT": "/../../etc/c.pem", envFilesRoot: "/dev/shm/x"}, nil, "/dev/shm/x/etc/c.pem", "", false, false, false},
		{"relative path kept", map[string]string{"COFRE_CERT": "c.pem", envFilesRoot: "/dev/shm/x"}, nil, "c.pem", "", false, false, false},
		{"pinned root", map[string]string{envPinnedRoot: string(rootPEM)}, nil, "", "", true, false, false},
		{"pinned root not PEM", map[string]string{envPinnedRoot: "garbage"}, nil, "", "", false, true, false},
		// cofre run's environment is the host's: a root there must not
		// replace the coordinator's attestation, nor files move.
		{"launcher ignores the pinned root", map[string]string{envPinnedRoot: string(rootPEM)}, nil, "", "", false, true, true},
		{"launcher does not relocate", map[string]string{"COFRE_CERT": "/run/w/cert.pem", envFilesRoot: "/dev/shm/x"}, nil, "/run/w/cert.pem", "", false, false, true},
		// An explicit policy wins over the pinned root.
		{"policy wins", map[string]string{envPinnedRoot: string(rootPEM)}, []string{"--coordinator-policy", "/nonexistent"}, "", "", false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"COFRE_CERT", "COFRE_KEY", envFilesRoot, envPinnedRoot, "COFRE_COORDINATOR"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			t.Setenv("COFRE_COORDINATOR", "https://127.0.0.1:1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cf := coordFlags{workload: !tc.notWorkload}
			fl := pflag.NewFlagSet("query", pflag.ContinueOnError)
			cf.register(fl, "key")
			if err := fl.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := cf.fromEnv(fl); err != nil {
				t.Fatal(err)
			}
			if cf.cert != tc.wantCert || cf.key != tc.wantKey {
				t.Errorf("cert %q key %q, want %q %q", cf.cert, cf.key, tc.wantCert, tc.wantKey)
			}
			if tc.wantCert != "" {
				return // options() would read the files
			}
			opts, err := cf.options()
			var ue usageError
			if tc.wantUsage != errors.As(err, &ue) {
				t.Fatalf("options: %v, want usage error %v", err, tc.wantUsage)
			}
			if !tc.wantUsage && (opts.Root != nil) != tc.wantPinned {
				t.Errorf("pinned root %v, want %v", opts.Root != nil, tc.wantPinned)
			}
		})
	}
}
