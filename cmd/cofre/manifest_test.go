package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/manifest"
)

// owner is a generated manifest owner: key files on disk.
type owner struct {
	name, keyFile string
	pubPEM        string
}

func newOwner(t *testing.T, dir, name string, ed bool) owner {
	t.Helper()
	var key crypto.Signer
	var err error
	if ed {
		_, key, err = ed25519.GenerateKey(rand.Reader)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	o := owner{name: name, keyFile: filepath.Join(dir, name+".key.pem")}
	if err := os.WriteFile(o.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	o.pubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	return o
}

// manifestDoc writes a manifest of the given version, owned by owners.
func manifestDoc(t *testing.T, path string, version int, predecessor string, threshold int, owners ...owner) []byte {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: hello\nversion: %d\n", version)
	if predecessor != "" {
		fmt.Fprintf(&b, "predecessor: %s\n", predecessor)
	}
	b.WriteString("owners:\n")
	for _, o := range owners {
		fmt.Fprintf(&b, "  %s:\n    public_key: |\n", o.name)
		for _, l := range strings.Split(strings.TrimSpace(o.pubPEM), "\n") {
			fmt.Fprintf(&b, "      %s\n", l)
		}
	}
	fmt.Fprintf(&b, "update_threshold: %d\n", threshold)
	b.WriteString(`packages:
  app:
    references:
      - tee: sim
        any_code: true
services:
  web:
    package: app
    command: [/app/web]
attestation:
  allow_simulation: true
`)
	doc := []byte(b.String())
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	return doc
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestManifestSignVerify(t *testing.T) {
	dir := t.TempDir()
	alice, bob, carol := newOwner(t, dir, "alice", false), newOwner(t, dir, "bob", true), newOwner(t, dir, "carol", false)
	v1 := filepath.Join(dir, "hello.yaml")
	doc1 := manifestDoc(t, v1, 1, "", 2, alice, bob)
	h1 := manifest.Hash(doc1)

	for _, o := range []owner{alice, bob} {
		if code, out, errs := runCLI(t, "manifest", "sign", "--key", o.keyFile, "--owner", o.name, v1); code != exitOK || !strings.Contains(out, "signed manifest") {
			t.Fatalf("sign as %s: exit %d: %s%s", o.name, code, out, errs)
		}
	}
	sigA, sigB := v1+".alice.sig", v1+".bob.sig"

	// An update, signed by v1's owners; it hands ownership to carol.
	v2 := filepath.Join(dir, "hello-v2.yaml")
	manifestDoc(t, v2, 2, fmt.Sprintf("%x", h1), 1, carol)
	v2Sig := filepath.Join(dir, "v2.alice.sig")
	v2SigB := filepath.Join(dir, "v2.bob.sig")
	for _, a := range [][]string{
		{"--key", alice.keyFile, "--owner", "alice", "-o", v2Sig, v2},
		{"--key", bob.keyFile, "--owner", "bob", "-o", v2SigB, v2},
	} {
		if code, _, errs := runCLI(t, append([]string{"manifest", "sign"}, a...)...); code != exitOK {
			t.Fatalf("sign v2: exit %d: %s", code, errs)
		}
	}
	// A v2 written against another predecessor (a lost update).
	stale := filepath.Join(dir, "hello-stale.yaml")
	manifestDoc(t, stale, 2, strings.Repeat("ab", 32), 1, carol)
	staleSig := filepath.Join(dir, "stale.alice.sig")
	staleSigB := filepath.Join(dir, "stale.bob.sig")
	runCLI(t, "manifest", "sign", "--key", alice.keyFile, "--owner", "alice", "-o", staleSig, stale)
	runCLI(t, "manifest", "sign", "--key", bob.keyFile, "--owner", "bob", "-o", staleSigB, stale)

	// Carol signs v1 although she is no owner: a forged signature file
	// names alice with carol's signature.
	forged := filepath.Join(dir, "forged.sig")
	carolKey, err := parsePrivateKeyPEM(mustRead(t, carol.keyFile))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := manifest.Sign(doc1, carolKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := manifest.MarshalSignature(manifest.Signature{Owner: "alice", Signature: sig}, h1)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(forged, b, 0o644)

	tests := []struct {
		name    string
		args    []string
		want    int
		wantOut string
	}{
		{"manifest only", []string{v1}, exitOK, fmt.Sprintf("sha256 %x", h1)},
		{"both owners", []string{v1, sigA, sigB}, exitOK, "2 valid of 2 (alice, bob); threshold 2"},
		{"one owner of two", []string{v1, sigA}, exitRefused, "1 valid of 1"},
		{"same owner twice", []string{v1, sigA, sigA}, exitRefused, "1 valid of 2"},
		{"forged signature", []string{v1, sigB, forged}, exitRefused, "1 valid of 2"},
		{"signature of another document", []string{v1, v2Sig}, exitUsage, ""},
		{"update without predecessor", []string{v2, v2Sig, v2SigB}, exitOK, "not checked"},
		{"update with predecessor", []string{"--predecessor", v1, v2, v2Sig, v2SigB}, exitOK, "2 valid of 2"},
		{"update under threshold", []string{"--predecessor", v1, v2, v2Sig}, exitRefused, "1 valid of 1"},
		{"stale predecessor", []string{"--predecessor", v1, stale, staleSig, staleSigB}, exitRefused, "2 valid of 2"},
		{"not a signature file", []string{v1, v1}, exitUsage, ""},
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"manifest", "verify"}, tt.args...)...)
			if code != tt.want || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d, want %d; stdout %q (want %q); stderr %q", code, tt.want, out, tt.wantOut, errs)
			}
		})
	}
	// The refusal names the rule.
	if _, _, errs := runCLI(t, "manifest", "verify", "--predecessor", v1, stale, staleSig, staleSigB); !strings.Contains(errs, "stale predecessor") {
		t.Errorf("stale predecessor refusal: %q", errs)
	}
	if _, _, errs := runCLI(t, "manifest", "verify", v1, sigA); !strings.Contains(errs, "1 distinct owners signed, 2 needed") {
		t.Errorf("threshold refusal: %q", errs)
	}
}

func TestManifestVerifyInvalid(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	os.WriteFile(p, []byte("name: hello\nversion: 1\nownerz: {}\n"), 0o644)
	code, _, errs := runCLI(t, "manifest", "verify", p)
	if code != exitRefused || !strings.Contains(errs, "bad.yaml:3") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the line", code, errs)
	}
}

func TestManifestSignRefusals(t *testing.T) {
	dir := t.TempDir()
	alice, bob := newOwner(t, dir, "alice", false), newOwner(t, dir, "bob", false)
	v1 := filepath.Join(dir, "m.yaml")
	manifestDoc(t, v1, 1, "", 1, alice)
	enc := filepath.Join(dir, "enc.pem")
	os.WriteFile(enc, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600)
	tests := []struct {
		name string
		args []string
	}{
		{"no key", []string{"--owner", "alice", v1}},
		{"no owner", []string{"--key", alice.keyFile, v1}},
		{"not an owner", []string{"--key", bob.keyFile, "--owner", "bob", v1}},
		{"another owner's key", []string{"--key", bob.keyFile, "--owner", "alice", v1}},
		{"encrypted key", []string{"--key", enc, "--owner", "alice", v1}},
		{"public key for a private one", []string{"--key", v1, "--owner", "alice", v1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, append([]string{"manifest", "sign"}, tt.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, errs)
			}
			if strings.Contains(errs, "PRIVATE KEY-----") {
				t.Fatalf("key material in the error: %s", errs)
			}
		})
	}
	if _, err := os.Stat(v1 + ".bob.sig"); err == nil {
		t.Error("a refused sign wrote a signature file")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
