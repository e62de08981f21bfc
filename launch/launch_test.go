package launch

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// memDir returns a fresh directory on a memory-backed file system
// (/dev/shm on Linux), removed when the test ends.
func memDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "cofre-launch-test-")
	if err != nil {
		t.Fatalf("no /dev/shm (a memory-backed file system) on this machine: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func writeExe(t *testing.T, dir, name, script string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMeasure(t *testing.T) {
	dir := t.TempDir()
	exe := writeExe(t, dir, "app", "echo v1")
	script := filepath.Join(dir, "job.py")
	os.WriteFile(script, []byte("print(1)"), 0o644)
	d1, err := Measure(exe, script)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Measure(exe, script)
	if !bytes.Equal(d1, again) || len(d1) != 32 {
		t.Fatal("the digest is not stable")
	}
	// A changed binary, a changed script, another order: other digests.
	os.WriteFile(script, []byte("print(2)"), 0o644)
	d2, _ := Measure(exe, script)
	exe2 := writeExe(t, dir, "app2", "echo v2")
	d3, _ := Measure(exe2, script)
	d4, _ := Measure(script, exe) // a script is not executable, but Measure only reads
	for _, d := range [][]byte{d2, d3, d4} {
		if bytes.Equal(d, d1) {
			t.Fatal("different content measured the same")
		}
	}
	if _, err := Measure(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing executable measured")
	}
	if _, err := Measure(exe, dir); err == nil {
		t.Fatal("a directory measured as a file")
	}
}

// fakeCoordinator answers activations with a certificate for the CSR key
// (or another key, when evil).
type fakeCoordinator struct {
	evil bool
	got  *api.ActivateRequest
	cfg  api.Config
}

func (f *fakeCoordinator) Challenge(context.Context) (*api.Challenge, error) {
	return &api.Challenge{Nonce: bytes.Repeat([]byte{1}, 32), Expires: time.Now().Add(time.Minute)}, nil
}

func (f *fakeCoordinator) Activate(_ context.Context, req *api.ActivateRequest) (*api.ActivateResponse, error) {
	f.got = req
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, err
	}
	pub := csr.PublicKey
	if f.evil {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub = &k.PublicKey
	}
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "w"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, ca)
	if err != nil {
		return nil, err
	}
	return &api.ActivateResponse{Certificate: der, Config: f.cfg}, nil
}

type recordingProducer struct{ rd [attest.ReportDataSize]byte }

func (p *recordingProducer) Format() string { return attest.FormatSim }
func (p *recordingProducer) Produce(_ context.Context, rd [attest.ReportDataSize]byte) (attest.Evidence, error) {
	p.rd = rd
	return attest.Evidence{Format: attest.FormatSim, Payload: []byte("evidence")}, nil
}

func TestActivateBinds(t *testing.T) {
	fc := &fakeCoordinator{}
	p := &recordingProducer{}
	digest := bytes.Repeat([]byte{9}, 32)
	w, err := Activate(t.Context(), fc, Request{Manifest: "m", Service: "s", Digest: digest, Producer: p})
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&w.Key.PublicKey)
	want, _ := attest.ReportData(bytes.Repeat([]byte{1}, 32), spki, digest)
	if p.rd != want {
		t.Fatal("the evidence does not bind (nonce, key, digest)")
	}
	if !bytes.Equal(fc.got.WorkloadDigest, digest) || fc.got.Manifest != "m" || fc.got.Service != "s" {
		t.Fatalf("request %+v", fc.got)
	}
	// A coordinator that certifies another key is refused.
	if _, err := Activate(t.Context(), &fakeCoordinator{evil: true}, Request{Digest: digest, Producer: p}); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("certificate for another key: %v", err)
	}
}

func TestInstall(t *testing.T) {
	root := memDir(t)
	fc := &fakeCoordinator{cfg: api.Config{
		Command:  []string{"/bin/true"},
		Files:    map[string][]byte{"/etc/app/secret": []byte("s3cret"), "/etc/app/cert.pem": []byte("CERT")},
		KeyFiles: []string{"/etc/app/key.pem"},
	}}
	w, err := Activate(t.Context(), fc, Request{Digest: make([]byte, 32), Producer: &recordingProducer{}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := w.Install(root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "etc/app/secret"))
	st, _ := os.Stat(filepath.Join(root, "etc/app/secret"))
	dst, _ := os.Stat(filepath.Join(root, "etc/app"))
	if string(b) != "s3cret" || st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Fatalf("secret file %q mode %v dir %v", b, st.Mode(), dst.Mode())
	}
	kb, _ := os.ReadFile(filepath.Join(root, "etc/app/key.pem"))
	blk, _ := pem.Decode(kb)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil || !w.Key.Equal(k) {
		t.Fatal("the key file does not hold the workload key")
	}
	if n, err := in.Replace([]byte("CERT"), []byte("NEWCERT")); err != nil || n != 1 {
		t.Fatalf("Replace: %d %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/app/cert.pem")); string(b) != "NEWCERT" {
		t.Fatalf("after Replace: %q", b)
	}

	// Refusals: a disk-backed directory, volumes, relative paths.
	disk := t.TempDir()
	if _, err := w.Install(disk); !errors.Is(err, ErrNotMemoryBacked) {
		if !isMemoryBacked(disk) {
			t.Fatalf("Install on disk: %v, want ErrNotMemoryBacked", err)
		}
	}
	if _, err := os.Stat(filepath.Join(disk, "etc/app/secret")); err == nil && !isMemoryBacked(disk) {
		t.Fatal("a secret reached the disk")
	}
	fc.cfg.Volumes = map[string]api.Volume{"data": {Path: "/data"}}
	wv, _ := Activate(t.Context(), fc, Request{Digest: make([]byte, 32), Producer: &recordingProducer{}})
	if _, err := wv.Install(root); !errors.Is(err, ErrVolumes) {
		t.Fatalf("volumes: %v, want ErrVolumes", err)
	}
}

func isMemoryBacked(dir string) bool { return checkMemoryBacked(dir) == nil }

func TestProgram(t *testing.T) {
	dir := t.TempDir()
	exe := writeExe(t, dir, "app", "exit 0")
	other := writeExe(t, dir, "other", "exit 1")
	sum, _ := ExecutableSHA256(exe)
	t.Setenv("LD_PRELOAD", "/tmp/evil.so")
	w := &Workload{Activation: &api.ActivateResponse{Config: api.Config{Command: []string{exe, "--flag"}, Env: map[string]string{"DB": "x"}}}}
	p, err := w.Program(sum, map[string]string{"COFRE_FILES_ROOT": "/r"})
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(p.Env, "\n")
	if strings.Contains(env, "LD_PRELOAD") || !strings.Contains(env, "DB=x") || !strings.Contains(env, "PATH=") || !strings.Contains(env, "COFRE_FILES_ROOT=/r") {
		t.Fatalf("env %q: the policy's, PATH and the launcher's only", p.Env)
	}
	w.Activation.Config.Command = []string{other}
	if _, err := w.Program(sum, nil); !errors.Is(err, ErrNotMeasured) {
		t.Fatalf("another executable: %v, want ErrNotMeasured", err)
	}
}

type fakeRenewer struct {
	w    *Workload
	ca   *ecdsa.PrivateKey
	hits int
}

func (r *fakeRenewer) Renew(_ context.Context, csrDER []byte) (*api.RenewResponse, error) {
	r.hits++
	csr, _ := x509.ParseCertificateRequest(csrDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(r.hits + 1)), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, csr.PublicKey, r.ca)
	return &api.RenewResponse{Certificate: der, Expires: tmpl.NotAfter}, err
}

func TestSupervise(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		script string
		signal syscall.Signal
		want   int
	}{
		{"exit status passes through", "exit 7", 0, 7},
		{"success", "exit 0", 0, 0},
		{"signal forwarded, shell reports 128+n", "trap 'exit 42' TERM; echo ready > \"$READY\"; while :; do sleep 0.05; done", syscall.SIGTERM, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe := writeExe(t, dir, strings.ReplaceAll(tt.name, " ", "_"), tt.script)
			ready := filepath.Join(t.TempDir(), "ready")
			p := &Program{Path: exe, Argv: []string{exe}, Env: []string{"READY=" + ready, "PATH=" + defaultPath}}
			w := &Workload{Leaf: &x509.Certificate{NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}, Activation: &api.ActivateResponse{}}
			if tt.signal != 0 {
				go func() {
					for {
						if _, err := os.Stat(ready); err == nil {
							syscall.Kill(os.Getpid(), tt.signal)
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			code, err := p.Supervise(t.Context(), w, SuperviseOptions{})
			if err != nil || code != tt.want {
				t.Fatalf("Supervise: %d %v, want %d", code, err, tt.want)
			}
		})
	}
}

func TestRenewRewritesCertificateFiles(t *testing.T) {
	root := memDir(t)
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, ca)
	leaf, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	w := &Workload{Key: key, Leaf: leaf, Activation: &api.ActivateResponse{Certificate: der, Config: api.Config{Files: map[string][]byte{"/tls/cert.pem": certPEM, "/other": []byte("x")}}}}
	in, err := w.Install(root)
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRenewer{w: w, ca: ca}
	if err := w.renew(t.Context(), SuperviseOptions{Renewer: func(tls.Certificate) (Renewer, error) { return r, nil }, Installed: in}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "tls/cert.pem"))
	if bytes.Equal(b, certPEM) || w.Leaf.SerialNumber.Int64() != 2 {
		t.Fatal("the renewed certificate was not written")
	}
	blk, _ := pem.Decode(b)
	if !bytes.Equal(blk.Bytes, w.Leaf.Raw) {
		t.Fatal("the file does not hold the renewed certificate")
	}
}
