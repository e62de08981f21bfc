package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/coordinator/client"
)

// renewable is a workload key and certificates for it, as cofre run
// writes them: the certificate file is replaced at renewal, the key kept.
type renewable struct {
	t                 *testing.T
	key               *ecdsa.PrivateKey
	certFile, keyFile string
	stamp             time.Time // the next modification time to set
}

func newRenewable(t *testing.T) *renewable {
	t.Helper()
	r := &renewable{t: t, stamp: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}
	r.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(r.key)
	dir := t.TempDir()
	r.keyFile = writeTemp(t, dir, "workload.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	r.certFile = filepath.Join(dir, "workload.pem")
	r.replace(r.issue(&r.key.PublicKey))
	return r
}

// issue returns a PEM certificate for pub.
func (r *renewable) issue(pub any) []byte {
	c := mkCert(r.t, &x509.Certificate{Subject: pkix.Name{CommonName: "workload"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, nil, pub, r.key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// replace renames a new certificate file into place, as the launcher does.
func (r *renewable) replace(b []byte) {
	r.t.Helper()
	tmp := r.certFile + ".tmp"
	writeTemp(r.t, filepath.Dir(tmp), filepath.Base(tmp), b)
	r.touch(tmp)
	if err := os.Rename(tmp, r.certFile); err != nil {
		r.t.Fatal(err)
	}
}

// overwrite writes the certificate file in place (a writer that is not
// atomic), with a new modification time.
func (r *renewable) overwrite(b []byte) {
	r.t.Helper()
	if err := os.WriteFile(r.certFile, b, 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.touch(r.certFile)
}

// touch sets a modification time never used before: no test depends on
// the file system's clock resolution.
func (r *renewable) touch(path string) {
	r.t.Helper()
	r.stamp = r.stamp.Add(time.Second)
	if err := os.Chtimes(path, r.stamp, r.stamp); err != nil {
		r.t.Fatal(err)
	}
}

func leafOf(t *testing.T, pemBytes []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// TestCertFilesReload: the pair is reloaded when its files change, and a
// change that does not load keeps the last good pair until one does.
func TestCertFilesReload(t *testing.T) {
	r := newRenewable(t)
	first, _ := os.ReadFile(r.certFile)
	cf, err := loadCertFiles(r.certFile, r.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	current := func() *tls.Certificate {
		t.Helper()
		c, err := cf.get()
		if err != nil || c == nil || len(c.Certificate) == 0 {
			t.Fatalf("get: %v, %v", c, err)
		}
		return c
	}
	was := current()
	if !bytes.Equal(was.Certificate[0], leafOf(t, first)) {
		t.Fatal("the first pair is not the files'")
	}
	if current() != was {
		t.Fatal("unchanged files were loaded again")
	}

	renewed := r.issue(&r.key.PublicKey)
	r.replace(renewed)
	got := current()
	if !bytes.Equal(got.Certificate[0], leafOf(t, renewed)) {
		t.Fatal("the renewed certificate was not loaded")
	}
	was = got

	// Changes that must not be served; each keeps the renewed pair.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := []struct {
		name  string
		write func()
	}{
		{"half-written", func() { r.overwrite(renewed[:len(renewed)/2]) }},
		{"empty", func() { r.overwrite(nil) }},
		{"not PEM", func() { r.overwrite([]byte("garbage")) }},
		{"another key's certificate", func() { r.replace(r.issue(&other.PublicKey)) }},
		{"removed", func() {
			if err := os.Remove(r.certFile); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			tt.write()
			for range 2 { // and again: the files are retried, not adopted
				if got := current(); got != was {
					t.Fatalf("a %s certificate file replaced the good pair", tt.name)
				}
			}
		})
	}

	// Completed: the next call loads it.
	again := r.issue(&r.key.PublicKey)
	r.overwrite(again)
	if got := current(); !bytes.Equal(got.Certificate[0], leafOf(t, again)) {
		t.Fatal("the completed certificate file was not loaded")
	}
}

func TestLoadCertFilesRefuses(t *testing.T) {
	r := newRenewable(t)
	other := newRenewable(t)
	tests := []struct {
		name      string
		cert, key string
	}{
		{"missing certificate", filepath.Join(t.TempDir(), "none.pem"), r.keyFile},
		{"missing key", r.certFile, filepath.Join(t.TempDir(), "none.key")},
		{"key of another certificate", r.certFile, other.keyFile},
		{"stdin", "-", r.keyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cf, err := loadCertFiles(tt.cert, tt.key); err == nil {
				t.Fatalf("loaded %v", cf.pair)
			}
		})
	}
}

// TestWorkloadOptionsFollowRenewal: a workload command's client options
// and servers present the renewed certificate; other commands keep the
// one they read.
func TestWorkloadOptionsFollowRenewal(t *testing.T) {
	r := newRenewable(t)
	root := mkCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}, nil, &r.key.PublicKey, r.key)
	rootFile := writeTemp(t, t.TempDir(), "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	for _, workload := range []bool{true, false} {
		f := &coordFlags{url: "https://coordinator.test", cert: r.certFile, key: r.keyFile, keyFlag: "key", root: rootFile, workload: workload}
		opts, err := f.options()
		if err != nil {
			t.Fatal(err)
		}
		if (opts.GetCertificate != nil) != workload {
			t.Fatalf("workload %v: GetCertificate set %v", workload, opts.GetCertificate != nil)
		}
		if opts.Certificate == nil {
			t.Fatal("no Certificate")
		}
		// options called again (connect) shares the loader.
		if workload {
			loader := f.files
			if _, err := f.options(); err != nil || f.files != loader {
				t.Fatalf("a second options call made another loader (%v)", err)
			}
		}
		renewed := r.issue(&r.key.PublicKey)
		r.replace(renewed)
		serve := serverCertificate(opts)
		got, err := serve(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if presented := bytes.Equal(got.Certificate[0], leafOf(t, renewed)); presented != workload {
			t.Errorf("workload %v: the server presents the renewed certificate: %v", workload, presented)
		}
		if workload {
			c, err := opts.GetCertificate()
			if err != nil || !bytes.Equal(c.Certificate[0], leafOf(t, renewed)) {
				t.Errorf("the coordinator client's certificate is not the renewed one (%v)", err)
			}
		} else if got != opts.Certificate {
			t.Error("the server does not present Certificate")
		}
	}
	// Only the client options' certificate matters to serverCertificate.
	if got, _ := serverCertificate(client.Options{})(nil); got != nil {
		t.Errorf("serverCertificate of no certificate: %v", got)
	}
}
