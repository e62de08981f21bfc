package colenc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/microsoft/go-mssqldb/aecmk/localcert"
)

// pfxCMK writes testCMK() with a self-signed certificate as a PKCS#12 file
// that go-mssqldb's pfx key store provider reads (legacy PBE-SHA1-3DES:
// the provider decodes with golang.org/x/crypto/pkcs12, which knows no
// other). It uses the openssl command.
func pfxCMK(t *testing.T) string {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("COFRE_REQUIRE_MSSQL_VECTORS") != "" {
			t.Fatal("openssl is needed to write the PKCS#12 column master key")
		}
		t.Skip("openssl not found: the go-mssqldb cross-check needs it to write a PKCS#12 file")
	}
	key := testCMK()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Always Encrypted CMK"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, pfx := filepath.Join(dir, "cmk.crt"), filepath.Join(dir, "cmk.key"), filepath.Join(dir, "cmk.pfx")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	out, err := exec.Command(openssl, "pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-out", pfx, "-passout", "pass:",
		"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	return pfx
}

// TestLocalCertCrossCheck checks the CEK envelope against an independent
// implementation, go-mssqldb's pfx column master key provider
// (aecmk/localcert), both ways: it unwraps what WrapCEK wrote, and
// UnwrapCEK unwraps what it wrote.
func TestLocalCertCrossCheck(t *testing.T) {
	pfx := pfxCMK(t)
	ctx := context.Background()
	cek := bytes.Repeat([]byte{0x42}, 32)
	p := &localcert.PfxKeyProvider

	ours, err := WrapCEK(cek, pfx, testCMK())
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.DecryptColumnEncryptionKey(ctx, pfx, "RSA_OAEP", ours)
	if err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("go-mssqldb unwrapping our envelope: %x, %v", got, err)
	}

	theirs, err := p.EncryptColumnEncryptionKey(ctx, pfx, "RSA_OAEP", cek)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnwrapCEK(theirs, testCMK()); err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("unwrapping go-mssqldb's envelope: %x, %v", got, err)
	}
	// Their envelope with one flipped byte: refused by both.
	theirs[len(theirs)/2] ^= 1
	if _, err := UnwrapCEK(theirs, testCMK()); err == nil {
		t.Fatal("a tampered envelope unwrapped")
	}
	if _, err := p.DecryptColumnEncryptionKey(ctx, pfx, "RSA_OAEP", theirs); err == nil {
		t.Fatal("go-mssqldb unwrapped a tampered envelope")
	}
}
