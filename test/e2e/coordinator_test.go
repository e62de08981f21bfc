//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/internal/auditlog"
	"github.com/cofre-cc/cofre/manifest"
)

// coordinatorProcess is a running `cofre coordinator --dev`.
type coordinatorProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan struct{}
}

func startCoordinator(t *testing.T, state string, extra ...string) *coordinatorProcess {
	t.Helper()
	bin := os.Getenv("COFRE_BIN")
	if bin == "" {
		t.Fatal("COFRE_BIN is not set: run through `make e2e`")
	}
	args := append([]string{"coordinator", "--dev", "--listen", "127.0.0.1:0", "--state", state, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &coordinatorProcess{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "cofre coordinator: listening on "); ok {
				found <- strings.Fields(rest)[0]
			}
		}
		close(found)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	select {
	case u, ok := <-found:
		if !ok {
			<-p.done
			t.Fatalf("coordinator exited before listening: %s", p.stderr)
		}
		p.url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("coordinator did not print its address: %s", p.stderr)
	}
	return p
}

// kill sends SIGKILL: no shutdown code runs.
func (p *coordinatorProcess) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// fleet holds the parties of a coordinator deployment for tests: owners, a
// user, and the sim platform workloads run on.
type fleet struct {
	t        *testing.T
	state    string
	owners   []*ecdsa.PrivateKey
	user     tls.Certificate
	userCert *x509.Certificate
	plat     *sim.Platform
	reg      *attest.Registry
}

func newFleet(t *testing.T, state string) *fleet {
	f := &fleet{t: t, state: state}
	for range 2 {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		f.owners = append(f.owners, k)
	}
	uk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ops"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &uk.PublicKey, uk)
	f.userCert, _ = x509.ParseCertificate(der)
	f.user = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: uk, Leaf: f.userCert}
	return f
}

// loadPlatform reads the sim platform and root the coordinator's --dev made.
func (f *fleet) loadPlatform() {
	b, err := os.ReadFile(filepath.Join(f.state, "sim", "platform.pem"))
	if err != nil {
		f.t.Fatal(err)
	}
	if f.plat, err = sim.ParsePlatform(b); err != nil {
		f.t.Fatal(err)
	}
	rb, err := os.ReadFile(filepath.Join(f.state, "sim", "root-cert.pem"))
	if err != nil {
		f.t.Fatal(err)
	}
	pool, err := sim.ParseRootCertificates(rb)
	if err != nil {
		f.t.Fatal(err)
	}
	f.reg = attest.NewRegistry(sim.NewVerifier(pool))
}

func (f *fleet) client(url string, cert *tls.Certificate) *client.Client {
	c, err := client.New(url, client.Options{Registry: f.reg, InsecureSimulation: true, Certificate: cert, Timeout: 10 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func indentLines(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

var workloadMeasurement = sha256.Sum256([]byte("crash test workload"))

// doc returns version v of the test manifest and its owners' signatures.
func (f *fleet) doc(v uint64, predecessor string) ([]byte, [][]byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: ward\nversion: %d\n", v)
	if predecessor != "" {
		fmt.Fprintf(&b, "predecessor: %s\n", predecessor)
	}
	b.WriteString("owners:\n")
	for i, k := range f.owners {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		fmt.Fprintf(&b, "  o%d:\n    public_key: |\n%s\n", i, indentLines(pemOf("PUBLIC KEY", der), 6))
	}
	fmt.Fprintf(&b, `update_threshold: 2
packages:
  app:
    references:
      - tee: sim
        measurements: [%x]
services:
  api:
    package: app
    command: [/app/api]
    env:
      REVISION: "%d"
      TOKEN: '{{ secret "token" }}'
secrets:
  token:
    kind: uploaded
users:
  ops:
    certificate: |
%s
    roles: [uploader, auditor]
roles:
  uploader:
    resource: secrets
    names: [token]
    actions: [read, write]
  auditor:
    resource: audit
    actions: [read]
attestation:
  allow_simulation: true
`, workloadMeasurement, v, indentLines(pemOf("CERTIFICATE", f.userCert.Raw), 6))
	d := []byte(b.String())
	return d, f.sign(f.t, d)
}

// sign returns every owner's signature file for document d.
func (f *fleet) sign(t *testing.T, d []byte) [][]byte {
	t.Helper()
	var sigs [][]byte
	for i, k := range f.owners {
		s, err := manifest.Sign(d, k)
		if err != nil {
			t.Fatal(err)
		}
		sf, err := manifest.MarshalSignature(manifest.Signature{Owner: fmt.Sprintf("o%d", i), Signature: s}, manifest.Hash(d))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sf)
	}
	return sigs
}

// activate admits one workload instance and returns its TLS certificate.
func (f *fleet) activate(ctx context.Context, c *client.Client) (*api.ActivateResponse, *tls.Certificate, error) {
	ch, err := c.Challenge(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	digest := sha256.Sum256([]byte("binary"))
	rd, err := attest.ReportData(ch.Nonce, spki, digest[:])
	if err != nil {
		return nil, nil, err
	}
	ev, err := (&sim.Producer{Platform: f.plat, Measurement: workloadMeasurement[:]}).Produce(ctx, rd)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.Activate(ctx, &api.ActivateRequest{Manifest: "ward", Service: "api", Nonce: ch.Nonce,
		Evidence: api.Evidence{Format: ev.Format, Data: ev.Payload}, CSR: csr, WorkloadDigest: digest[:]})
	if err != nil {
		return nil, nil, err
	}
	return r, &tls.Certificate{Certificate: append([][]byte{r.Certificate}, r.Chain...), PrivateKey: key}, nil
}

// acked is what the coordinator acknowledged before it was killed.
type acked struct {
	mu        sync.Mutex
	version   uint64
	hash      string
	token     string          // the last acknowledged token value
	inflight  map[string]bool // token values sent but not acknowledged
	instances map[string]*tls.Certificate
	revision  map[string]uint64 // the manifest version each instance was admitted under
	renewed   int               // instances found still admitted after a restart
}

// TestCoordinatorCrashSafety kills the coordinator (SIGKILL) at random
// points while manifest updates, secret uploads and activations run, then
// restarts it and checks that every acknowledged write is there and that
// the audit log verifies, round after round.
func TestCoordinatorCrashSafety(t *testing.T) {
	state := t.TempDir()
	f := newFleet(t, state)
	p := startCoordinator(t, state)
	f.loadPlatform()
	ctx := context.Background()
	admin := f.client(p.url, &f.user)
	d, sigs := f.doc(1, "")
	info, err := admin.SetManifest(ctx, "ward", d, sigs)
	if err != nil {
		t.Fatalf("first manifest: %v", err)
	}
	if err := admin.SetSecret(ctx, "ward", "token", []byte("token-0")); err != nil {
		t.Fatal(err)
	}
	a := &acked{version: 1, hash: info.SHA256, token: "token-0", inflight: map[string]bool{}, instances: map[string]*tls.Certificate{}, revision: map[string]uint64{}}

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill times from seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	const rounds = 8
	for round := range rounds {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		// Manifest updates, every other round (instances admitted in the
		// other rounds stay under the manifest in force, so their survival
		// can be checked by renewal).
		wg.Go(func() {
			for round%2 == 0 {
				select {
				case <-stop:
					return
				default:
				}
				a.mu.Lock()
				v, h := a.version+1, a.hash
				a.mu.Unlock()
				d, sigs := f.doc(v, h)
				info, err := admin.SetManifest(ctx, "ward", d, sigs)
				if err != nil {
					return
				}
				a.mu.Lock()
				a.version, a.hash = info.Version, info.SHA256
				a.mu.Unlock()
			}
		})
		// Secret uploads.
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				val := fmt.Sprintf("token-%d-%d", round, i)
				a.mu.Lock()
				a.inflight[val] = true
				a.mu.Unlock()
				if err := admin.SetSecret(ctx, "ward", "token", []byte(val)); err != nil {
					return
				}
				a.mu.Lock()
				a.token = val
				a.inflight = map[string]bool{}
				a.mu.Unlock()
			}
		})
		// Activations, two at a time.
		for range 2 {
			wg.Go(func() {
				c := f.client(p.url, nil)
				for {
					select {
					case <-stop:
						return
					default:
					}
					r, cert, err := f.activate(ctx, c)
					if err != nil {
						var ae *client.APIError
						if errors.As(err, &ae) && ae.Status == 403 {
							continue // admitted under a version that changed meanwhile: not an ack
						}
						return
					}
					rev := r.Config.Env["REVISION"]
					var v uint64
					fmt.Sscan(rev, &v)
					a.mu.Lock()
					a.instances[r.Instance] = cert
					a.revision[r.Instance] = v
					a.mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		p.kill()
		close(stop)
		wg.Wait()

		p = startCoordinator(t, state)
		admin = f.client(p.url, &f.user)
		f.check(ctx, p, admin, a)
		a.mu.Lock()
		t.Logf("round %d: manifest v%d, %d instances acknowledged so far, %d checked by renewal", round, a.version, len(a.instances), a.renewed)
		a.mu.Unlock()
	}
	if a.version < 3 || len(a.instances) < 10 || a.renewed == 0 {
		t.Fatalf("too little happened between kills to test anything: v%d, %d instances, %d renewed", a.version, len(a.instances), a.renewed)
	}
}

// check verifies, after a restart, that the acknowledged writes survived
// and the audit log verifies under the coordinator's audit key.
func (f *fleet) check(ctx context.Context, p *coordinatorProcess, admin *client.Client, a *acked) {
	t := f.t
	a.mu.Lock()
	defer a.mu.Unlock()
	log, err := admin.ManifestLog(ctx, "ward")
	if err != nil {
		t.Fatalf("manifest log after restart: %v\n%s", err, p.stderr)
	}
	last := log[len(log)-1]
	if last.Version < a.version {
		t.Fatalf("acknowledged manifest v%d lost: the coordinator has v%d", a.version, last.Version)
	}
	found := false
	for _, info := range log {
		if info.Version == a.version && info.SHA256 == a.hash {
			found = true
		}
	}
	if !found {
		t.Fatalf("acknowledged manifest v%d (%s) is not in the history", a.version, a.hash)
	}
	a.version, a.hash = last.Version, last.SHA256 // an unacknowledged update may have landed

	s, err := admin.Secret(ctx, "ward", "token")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Value); got != a.token && !a.inflight[got] {
		t.Fatalf("secret is %q: neither the acknowledged %q nor a write in flight", got, a.token)
	}
	a.token, a.inflight = string(s.Value), map[string]bool{}

	// Every acknowledged activation is in the audit log, which verifies.
	head, err := admin.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(head.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(filepath.Join(f.state, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sum, err := auditlog.Verify(fh, auditlog.VerifyOptions{PublicKeys: []crypto.PublicKey{pub}, RequireSignatures: true})
	if err != nil {
		t.Fatalf("audit log after SIGKILL: %v", err)
	}
	logBytes, _ := os.ReadFile(filepath.Join(f.state, "audit.log"))
	for id := range a.instances {
		if !bytes.Contains(logBytes, []byte(`"instance":"`+id+`"`)) {
			t.Fatalf("acknowledged activation %s is not in the audit log (%d lines)", id, sum.Lines)
		}
	}
	// Instances admitted under the manifest in force are still admitted: the
	// KMS-free way to ask is renewal.
	for id, cert := range a.instances {
		if a.revision[id] != a.version {
			continue
		}
		c := f.client(p.url, cert)
		key := cert.PrivateKey.(*ecdsa.PrivateKey)
		csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		rn, err := c.Renew(ctx, csr)
		if err != nil {
			t.Fatalf("acknowledged instance %s (v%d) cannot renew after restart: %v", id, a.revision[id], err)
		}
		// The renewed certificate supersedes the old one: keep it for the
		// next round.
		a.instances[id] = &tls.Certificate{Certificate: append([][]byte{rn.Certificate}, rn.Chain...), PrivateKey: key}
		a.renewed++
	}
}
