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
	m1, err := Measure(exe, script)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Measure(exe, script)
	if !bytes.Equal(m1.Digest, again.Digest) || len(m1.Digest) != 32 || len(m1.Files) != 2 {
		t.Fatal("the digest is not stable")
	}
	// The same bytes at another path: another digest (a pristine copy
	// measured elsewhere does not stand for the file that runs).
	copyPath := filepath.Join(t.TempDir(), "job.py")
	os.WriteFile(copyPath, []byte("print(1)"), 0o644)
	mCopy, _ := Measure(exe, copyPath)
	// A changed script, a changed binary: other digests.
	os.WriteFile(script, []byte("print(2)"), 0o644)
	m2, _ := Measure(exe, script)
	exe2 := writeExe(t, dir, "app2", "echo v2")
	m3, _ := Measure(exe2, script)
	m4, _ := Measure(exe, copyPath, script)
	m5, _ := Measure(exe, script, copyPath)
	if bytes.Equal(m4.Digest, m5.Digest) {
		t.Fatal("the order of the measured files does not count")
	}
	for _, m := range []*Measurement{mCopy, m2, m3} {
		if m == nil || bytes.Equal(m.Digest, m1.Digest) {
			t.Fatal("different files measured the same")
		}
	}
	// Verify notices a change after measuring.
	if err := m1.Verify(); !errors.Is(err, ErrNotMeasured) {
		t.Fatalf("Verify after a change: %v, want ErrNotMeasured", err)
	}
	if err := m2.Verify(); err != nil {
		t.Fatalf("Verify unchanged: %v", err)
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
}

func isMemoryBacked(dir string) bool { return checkMemoryBacked(dir) == nil }

func TestProgram(t *testing.T) {
	dir := t.TempDir()
	exe := writeExe(t, dir, "app", "exit 0")
	sameBytes := writeExe(t, t.TempDir(), "app", "exit 0")
	m, err := Measure(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LD_PRELOAD", "/tmp/evil.so")
	w := &Workload{Activation: &api.ActivateResponse{Config: api.Config{Command: []string{exe, "--flag"}, Env: map[string]string{"DB": "x"}}}}
	p, err := w.Program(m, map[string]string{"COFRE_FILES_ROOT": "/r"})
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(p.Env, "\n")
	if strings.Contains(env, "LD_PRELOAD") || !strings.Contains(env, "DB=x") || !strings.Contains(env, "PATH=") || !strings.Contains(env, "COFRE_FILES_ROOT=/r") || p.Dir != "/" {
		t.Fatalf("env %q dir %q: the policy's, PATH and the launcher's only, in /", p.Env, p.Dir)
	}
	// The policy may not set what the launcher sets.
	w.Activation.Config.Env["COFRE_FILES_ROOT"] = "/elsewhere"
	if _, err := w.Program(m, map[string]string{"COFRE_FILES_ROOT": "/r"}); err == nil {
		t.Fatal("the policy overrode the launcher's COFRE_FILES_ROOT")
	}
	delete(w.Activation.Config.Env, "COFRE_FILES_ROOT")
	// Another path, even with the same bytes, is not the measured program.
	w.Activation.Config.Command = []string{sameBytes}
	if _, err := w.Program(m, nil); !errors.Is(err, ErrNotMeasured) {
		t.Fatalf("another path: %v, want ErrNotMeasured", err)
	}
	// The measured executable changed after measuring.
	w.Activation.Config.Command = []string{exe}
	os.WriteFile(exe, []byte("#!/bin/sh\nexit 9\n"), 0o755)
	if _, err := w.Program(m, nil); !errors.Is(err, ErrNotMeasured) {
		t.Fatalf("changed after measuring: %v, want ErrNotMeasured", err)
	}
}

type fakeRenewer struct {
	w     *Workload
	ca    *ecdsa.PrivateKey
	hits  int
	token string // the token the renewal carries, if any
}

func (r *fakeRenewer) Renew(_ context.Context, csrDER []byte) (*api.RenewResponse, error) {
	r.hits++
	csr, _ := x509.ParseCertificateRequest(csrDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(r.hits + 1)), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, csr.PublicKey, r.ca)
	return &api.RenewResponse{Certificate: der, Expires: tmpl.NotAfter, Token: r.token}, err
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

func TestInstallCleansUpAndClosesDirectories(t *testing.T) {
	root := memDir(t)
	// An emptyDir is born 0777: a directory we own is closed to 0700.
	open := filepath.Join(root, "etc", "app")
	os.MkdirAll(open, 0o777)
	os.Chmod(open, 0o777)
	fc := &fakeCoordinator{cfg: api.Config{Files: map[string][]byte{
		"/etc/app/a":        []byte("secret a"),
		"/etc/app/b":        []byte("secret b"),
		"/etc/app/a/nested": []byte("cannot be written: a is a file"),
	}}}
	w, err := Activate(t.Context(), fc, Request{Digest: make([]byte, 32), Producer: &recordingProducer{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Install(root); err == nil {
		t.Fatal("Install succeeded though a file could not be written")
	}
	for _, p := range []string{"etc/app/a", "etc/app/b"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Fatalf("a failed Install left %s behind", p)
		}
	}
	if fi, _ := os.Stat(open); fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestSuperviseSignalsOnce: one signal to the launcher is one signal to
// the program.
func TestSuperviseSignalsOnce(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	ready := filepath.Join(dir, "ready")
	exe := writeExe(t, dir, "counter", `n=0
trap 'n=$((n+1)); echo $n > "$COUNT"' USR1
trap 'exit 5' TERM
touch "$READY"
while :; do sleep 0.05; done`)
	p := &Program{Path: exe, Argv: []string{exe}, Env: []string{"COUNT=" + count, "READY=" + ready, "PATH=" + defaultPath}, Dir: "/"}
	w := &Workload{Leaf: &x509.Certificate{NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}, Activation: &api.ActivateResponse{}}
	go func() {
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		for {
			if b, _ := os.ReadFile(count); len(b) > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
	code, err := p.Supervise(t.Context(), w, SuperviseOptions{})
	if err != nil || code != 5 {
		t.Fatalf("Supervise: %d %v", code, err)
	}
	if b, _ := os.ReadFile(count); strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("the program got %q USR1 signals, want 1", b)
	}
}

type refusingRenewer struct{}

type statusError struct{ status int }

func (e statusError) Error() string   { return "refused" }
func (e statusError) HTTPStatus() int { return e.status }

func (refusingRenewer) Renew(context.Context, []byte) (*api.RenewResponse, error) {
	return nil, statusError{401}
}

// TestSuperviseStopsWhenRenewalRefused: a workload the coordinator no
// longer renews does not run on.
func TestSuperviseStopsWhenRenewalRefused(t *testing.T) {
	dir := t.TempDir()
	exe := writeExe(t, dir, "server", `trap 'exit 6' TERM
while :; do sleep 0.05; done`)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	w := &Workload{Key: key, Leaf: &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * time.Second)}, Activation: &api.ActivateResponse{}}
	p := &Program{Path: exe, Argv: []string{exe}, Env: []string{"PATH=" + defaultPath}, Dir: "/"}
	code, err := p.Supervise(t.Context(), w, SuperviseOptions{RenewAt: 0.1, Renewer: func(tls.Certificate) (Renewer, error) { return refusingRenewer{}, nil }})
	if err != nil || code != 6 {
		t.Fatalf("Supervise: %d %v, want the program stopped (6)", code, err)
	}
}

type fakeMount struct {
	root      [32]byte
	unmounted bool
}

func (m *fakeMount) Unmount() error              { m.unmounted = true; return nil }
func (m *fakeMount) RootHash() ([32]byte, error) { return m.root, nil }
func (m *fakeMount) Close() error                { return nil }

type fakeRoots struct{ roots map[string]string }

func (r *fakeRoots) VolumeRoot(_ context.Context, v string) (*api.VolumeRoot, error) {
	return &api.VolumeRoot{Root: r.roots[v]}, nil
}
func (r *fakeRoots) SetVolumeRoot(_ context.Context, v, previous, root string) error {
	if r.roots[v] != previous {
		return errors.New("conflict")
	}
	r.roots[v] = root
	return nil
}

func TestMountVolumes(t *testing.T) {
	backing := t.TempDir()
	files := memDir(t)
	w := &Workload{Activation: &api.ActivateResponse{Instance: "i1", SPIFFEID: "spiffe://td/m/s/i1", Config: api.Config{Volumes: map[string]api.Volume{
		"data": {Path: "/data", Key: make([]byte, 32)},
		"tmp":  {Path: "/tmp/spill", Key: make([]byte, 32), Scratch: true},
	}}}}
	var mounts []*fakeMount
	state := [32]byte{1}
	mount := func(dir string, key []byte, mp string) (VolumeMount, error) {
		if !strings.HasPrefix(mp, files) {
			t.Errorf("mount point %s not below the files root", mp)
		}
		m := &fakeMount{root: state}
		mounts = append(mounts, m)
		return m, nil
	}
	roots := &fakeRoots{roots: map[string]string{}}
	dirOf := func(name string) string { return filepath.Join(backing, name) }
	vs, err := w.MountVolumes(t.Context(), files, dirOf, mount, roots)
	if err != nil {
		t.Fatalf("a new, empty volume: %v", err)
	}
	if err := vs.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if roots.roots["data"] == "" || roots.roots["tmp"] != "" || !mounts[0].unmounted {
		t.Fatalf("reported roots %v: want data's only, after unmount", roots.roots)
	}
	// The same state mounts again; while it is mounted a second mount (a
	// copy on another node) is refused; another state (an older copy) is
	// refused, and nothing stays mounted.
	if vs, err = w.MountVolumes(t.Context(), files, dirOf, mount, roots); err != nil {
		t.Fatal(err)
	}
	if _, err := w.MountVolumes(t.Context(), files, dirOf, mount, roots); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("a second mount of a mounted volume: %v, want ErrRolledBack", err)
	}
	vs.Close(t.Context())
	// A run that crashed (never reported) leaves the marker: refused.
	crashed := roots.roots["data"]
	roots.roots["data"] = "dirty:i0"
	if _, err := w.MountVolumes(t.Context(), files, dirOf, mount, roots); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("after a crash: %v, want ErrRolledBack", err)
	}
	roots.roots["data"] = crashed
	state = [32]byte{2}
	mounts = nil
	roots.roots["data"] = strings.Repeat("01", 32)
	if _, err := w.MountVolumes(t.Context(), files, dirOf, mount, roots); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("a rolled-back volume: %v, want ErrRolledBack", err)
	}
	for _, m := range mounts {
		if !m.unmounted {
			t.Fatal("a refused mount stayed mounted")
		}
	}
	// No root ever reported, but the backing directory holds files.
	delete(roots.roots, "data")
	os.WriteFile(filepath.Join(backing, "data", "f"), []byte("x"), 0o600)
	if _, err := w.MountVolumes(t.Context(), files, dirOf, mount, roots); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("a non-empty volume never reported: %v, want ErrRolledBack", err)
	}
}

// TestRenewRewritesTokenFile: a renewal that brings a token rewrites the
// token file; one without leaves it; a file that cannot be written fails
// the renewal (retried) after the certificate moved on.
func TestRenewRewritesTokenFile(t *testing.T) {
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	newWorkload := func() *Workload {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, ca)
		leaf, _ := x509.ParseCertificate(der)
		return &Workload{Key: key, Leaf: leaf, Activation: &api.ActivateResponse{Certificate: der, Token: "activation-token"}}
	}
	disk := t.TempDir()
	tests := []struct {
		name    string
		token   string // the renewal's
		file    func(t *testing.T) string
		wantErr bool
		want    string // the file's content after
	}{
		{"token rewritten", "renewal-token", func(t *testing.T) string { return filepath.Join(memDir(t), "run", "token") }, false, "renewal-token"},
		{"no token: the file stays", "", func(t *testing.T) string { return filepath.Join(memDir(t), "run", "token") }, false, "activation-token"},
		{"no token file", "renewal-token", func(*testing.T) string { return "" }, false, ""},
		{"a file on disk is refused", "renewal-token", func(*testing.T) string { return filepath.Join(disk, "token") }, true, "activation-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkload()
			path := tt.file(t)
			if path != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				// As cmd/cofre run wrote it (plainly here: the disk case
				// must start with a file too).
				if err := os.WriteFile(path, []byte(w.Activation.Token), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantErr && isMemoryBacked(disk) {
				// TMPDIR is itself memory-backed: the write is allowed.
				tt.wantErr, tt.want = false, tt.token
			}
			r := &fakeRenewer{w: w, ca: ca, token: tt.token}
			err := w.renew(t.Context(), SuperviseOptions{Renewer: func(tls.Certificate) (Renewer, error) { return r, nil }, TokenFile: path})
			if tt.wantErr {
				if !errors.Is(err, ErrNotMemoryBacked) {
					t.Fatalf("renew: %v, want ErrNotMemoryBacked", err)
				}
			} else if err != nil {
				t.Fatalf("renew: %v", err)
			}
			if w.Leaf.SerialNumber.Int64() != 2 {
				t.Error("the workload does not hold the renewed certificate")
			}
			if tt.token != "" && w.Activation.Token != tt.token {
				t.Errorf("workload token %q, want the renewal's", w.Activation.Token)
			}
			if path == "" {
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("token file holds %q, want %q", b, tt.want)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("token file mode %v (%v), want 0600", fi.Mode().Perm(), err)
			}
		})
	}
}
