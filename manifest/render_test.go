package manifest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// fakeValues is a Values with fixed secrets; unknown names fail.
type fakeValues struct {
	secrets  map[string]SecretValue
	workload WorkloadValues
	host     map[string]string
}

var errNoSuchSecret = errors.New("no such secret in the store")

func (f *fakeValues) Secret(name string) (SecretValue, error) {
	v, ok := f.secrets[name]
	if !ok {
		return SecretValue{}, errNoSuchSecret
	}
	return v, nil
}
func (f *fakeValues) Workload() WorkloadValues { return f.workload }
func (f *fakeValues) Host(name string) (string, bool) {
	v, ok := f.host[name]
	return v, ok
}

func testCert(t *testing.T, cn string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: parent == nil, BasicConstraintsValid: true}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// renderManifest has a secret of every kind that can appear in a template.
func renderManifest(t *testing.T, env map[string]string, command []string) *Manifest {
	t.Helper()
	owners := newOwners(t)
	var doc map[string]any
	if err := json.Unmarshal(owners.doc(t, "hello", 1, "", 1), &doc); err != nil {
		t.Fatal(err)
	}
	doc["services"] = map[string]any{"web": map[string]any{
		"package": "app", "command": command, "env": env,
		"host_params": map[string]any{"port": map[string]string{"pattern": "[0-9]{1,5}"}},
		"files":       map[string]string{"/etc/tls/key.pem": `{{ secret "tls" "key-pem" }}`, "/etc/tls/key.der": `{{ secret "key" "der" }}`, "/etc/tls/cert.der": `{{ secret "tls" "der" }}`},
	}}
	doc["secrets"] = map[string]any{
		"sym": map[string]any{"kind": "symmetric"}, "pw": map[string]any{"kind": "ascii"},
		"greeting": map[string]any{"kind": "explicit", "value": "hello"}, "up": map[string]any{"kind": "uploaded"},
		"key": map[string]any{"kind": "private-key"}, "tls": map[string]any{"kind": "x509", "issuer": "ca"},
		"ca": map[string]any{"kind": "x509-ca"}, "mk": map[string]any{"kind": "parquet-master-key"},
	}
	b, _ := json.Marshal(doc)
	return mustParse(t, b)
}

func TestRender(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := testCert(t, "ca", caKey, nil, nil)
	leaf := testCert(t, "leaf", leafKey, ca, caKey)
	sym := bytes.Repeat([]byte{0, 1, 2, 0xff}, 8)
	values := func() *fakeValues {
		return &fakeValues{
			secrets: map[string]SecretValue{
				"sym":      {Kind: KindSymmetric, Bytes: sym},
				"pw":       {Kind: KindASCII, Bytes: []byte("s3cr3t-password")},
				"greeting": {Kind: KindExplicit, Bytes: []byte("hello")},
				"up":       {Kind: KindUploaded, Bytes: []byte("uploaded\x00value")},
				"key":      {Kind: KindPrivateKey, Key: leafKey},
				"tls":      {Kind: KindX509, Cert: leaf, Chain: []*x509.Certificate{ca}, Key: leafKey},
				"ca":       {Kind: KindX509CA, Cert: ca, Key: caKey},
			},
			workload: WorkloadValues{Cert: leaf, Chain: []*x509.Certificate{ca}, Roots: []*x509.Certificate{ca}, SPIFFEID: "spiffe://cofre.test/hello/web/1"},
			host:     map[string]string{"port": "8443"},
		}
	}

	type want struct {
		env     string // expected env X, if no error
		errLike string // substring of the error; empty: success
	}
	tests := []struct {
		name    string
		tmpl    string
		command []string
		mutate  func(*fakeValues)
		want    want
	}{
		{"literal", "plain text", nil, nil, want{env: "plain text"}},
		{"symmetric default base64", `{{ secret "sym" }}`, nil, nil, want{env: base64.StdEncoding.EncodeToString(sym)}},
		{"symmetric hex", `{{ secret "sym" "hex" }}`, nil, nil, want{env: hex.EncodeToString(sym)}},
		{"ascii raw", `pw={{ secret "pw" }};`, nil, nil, want{env: "pw=s3cr3t-password;"}},
		{"explicit base64", `{{ secret "greeting" "base64" }}`, nil, nil, want{env: "aGVsbG8="}},
		{"trim markers", "a  {{- secret \"greeting\" -}}  b", nil, nil, want{env: "ahellob"}},
		{"spiffe id", `{{ workload "spiffe-id" }}`, nil, nil, want{env: "spiffe://cofre.test/hello/web/1"}},
		{"symmetric raw has NUL", `{{ secret "sym" "raw" }}`, nil, nil, want{errLike: "NUL"}},
		{"uploaded raw has NUL", `{{ secret "up" }}`, nil, nil, want{errLike: "NUL"}},
		{"wrong kind from the store", `{{ secret "pw" }}`, nil, func(f *fakeValues) { f.secrets["pw"] = SecretValue{Kind: KindSymmetric, Bytes: []byte("x")} }, want{errLike: `value is of kind "symmetric"`}},
		{"store error", `{{ secret "pw" }}`, nil, func(f *fakeValues) { delete(f.secrets, "pw") }, want{errLike: "no such secret"}},
		{"host missing", "x", []string{"/app", `--port={{ host "port" }}`}, func(f *fakeValues) { delete(f.host, "port") }, want{errLike: `host parameter "port" not supplied`}},
		{"host not matching", "x", []string{"/app", `--port={{ host "port" }}`}, func(f *fakeValues) { f.host["port"] = "8443; rm -rf /" }, want{errLike: "does not match"}},
		{"host partial match refused", "x", []string{"/app", `--port={{ host "port" }}`}, func(f *fakeValues) { f.host["port"] = "123456" }, want{errLike: "does not match"}},
		{"host too long", "x", []string{"/app", `--port={{ host "port" }}`}, func(f *fakeValues) { f.host["port"] = strings.Repeat("1", maxHostValueLen+1) }, want{errLike: "limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.command
			if cmd == nil {
				cmd = []string{"/app"}
			}
			m := renderManifest(t, map[string]string{"X": tt.tmpl}, cmd)
			v := values()
			if tt.mutate != nil {
				tt.mutate(v)
			}
			r, err := m.Render("web", v)
			if tt.want.errLike != "" {
				var re *RenderError
				if !errors.Is(err, ErrRender) || !errors.As(err, &re) || re.Service != "web" {
					t.Fatalf("error %v, want a *RenderError for service web", err)
				}
				if !strings.Contains(err.Error(), tt.want.errLike) {
					t.Fatalf("error %q does not mention %q", err, tt.want.errLike)
				}
				// Never the value of a secret.
				for name, s := range v.secrets {
					if len(s.Bytes) > 3 && strings.Contains(err.Error(), string(s.Bytes)) {
						t.Fatalf("error reveals secret %s", name)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Env["X"]; got != tt.want.env {
				t.Errorf("env X = %q, want %q", got, tt.want.env)
			}
		})
	}

	// Command, files and the certificate parts.
	m := renderManifest(t, map[string]string{
		"CERT": `{{ secret "tls" "cert-pem" }}`, "CHAIN": `{{ secret "tls" "chain-pem" }}`,
		"PUB": `{{ secret "key" "public-pem" }}`, "CA": `{{ workload "ca-pem" }}`, "KEY": `{{ secret "key" }}`,
	}, []string{"/app", `--port={{ host "port" }}`})
	r, err := m.Render("web", values())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Command, " ") != "/app --port=8443" {
		t.Errorf("command %q", r.Command)
	}
	checks := map[string]string{"CERT": "CERTIFICATE", "PUB": "PUBLIC KEY", "CA": "CERTIFICATE", "KEY": "PRIVATE KEY"}
	for k, typ := range checks {
		if !strings.HasPrefix(r.Env[k], "-----BEGIN "+typ+"-----") {
			t.Errorf("env %s is not a PEM %s", k, typ)
		}
	}
	if n := strings.Count(r.Env["CHAIN"], "BEGIN CERTIFICATE"); n != 2 {
		t.Errorf("chain-pem has %d certificates, want 2", n)
	}
	if !bytes.Equal(r.Files["/etc/tls/key.der"], mustPKCS8(t, leafKey)) {
		t.Errorf("key der differs")
	}
	if !bytes.Equal(r.Files["/etc/tls/cert.der"], leaf.Raw) {
		t.Errorf("cert der differs")
	}
	if !strings.HasPrefix(string(r.Files["/etc/tls/key.pem"]), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key pem is not a PKCS #8 PEM")
	}
	if _, err := m.Render("nope", values()); !errors.Is(err, ErrUnknownService) {
		t.Errorf("unknown service: %v", err)
	}
}

func mustPKCS8(t *testing.T, k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestDryRun(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		wantErr bool
	}{
		{"fine", `{{ secret "greeting" }} {{ workload "spiffe-id" }}`, false},
		{"raw symmetric has NUL", `{{ secret "sym" "raw" }}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := renderManifest(t, map[string]string{"X": tt.env}, []string{"/app", `{{ host "port" }}`})
			err := m.DryRun()
			if tt.wantErr != (err != nil) {
				t.Fatalf("DryRun: %v", err)
			}
			if err != nil && !errors.Is(err, ErrRender) {
				t.Fatalf("DryRun error does not wrap ErrRender: %v", err)
			}
		})
	}
}

func TestAppraisalPolicy(t *testing.T) {
	owners := newOwners(t)
	m := mustParse(t, owners.doc(t, "hello", 1, "", 1))
	p := m.AppraisalPolicy("app")
	if p == nil || p.Name != "hello/app" || !p.AllowSimulation || len(p.References) != 1 {
		t.Fatalf("policy %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.References[0].AnyCode = false
	if !m.Packages["app"].References[0].AnyCode {
		t.Error("AppraisalPolicy shares memory with the manifest")
	}
	if m.AppraisalPolicy("nope") != nil {
		t.Error("policy for an unknown package")
	}
}

func TestWorkloadKeyFiles(t *testing.T) {
	owners := newOwners(t)
	base := func(files map[string]string, env map[string]string) []byte {
		var doc map[string]any
		if err := json.Unmarshal(owners.doc(t, "hello", 1, "", 1), &doc); err != nil {
			t.Fatal(err)
		}
		doc["services"] = map[string]any{"web": map[string]any{"package": "app", "command": []string{"/app"}, "files": files, "env": env}}
		b, _ := json.Marshal(doc)
		return b
	}
	refused := []struct {
		name       string
		files, env map[string]string
	}{
		{"in env", nil, map[string]string{"KEY": `{{ workload "key-pem" }}`}},
		{"with other text", map[string]string{"/k.pem": `# key
{{ workload "key-pem" }}`}, nil},
		{"with the certificate", map[string]string{"/both.pem": `{{ workload "cert-pem" }}{{ workload "key-pem" }}`}, nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test", base(tt.files, tt.env))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "whole content of a file") {
				t.Fatalf("Parse: %v, want the key-pem placement refused", err)
			}
		})
	}
	m := mustParse(t, base(map[string]string{"/etc/key.pem": "  {{ workload \"key-pem\" }}\n", "/etc/cert.pem": `{{ workload "cert-pem" }}`}, nil))
	if !IsWorkloadKeyFile(m.Services["web"].Files["/etc/key.pem"]) || IsWorkloadKeyFile(m.Services["web"].Files["/etc/cert.pem"]) {
		t.Fatal("IsWorkloadKeyFile misclassifies")
	}
	if err := m.DryRun(); err != nil {
		t.Fatalf("DryRun: %v", err)
	}
}

func TestCounts(t *testing.T) {
	owners := newOwners(t)
	var doc map[string]any
	if err := json.Unmarshal(owners.doc(t, "hello", 1, "", 1), &doc); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]any{}
	for i := range maxRSASecrets + 1 {
		secrets[fmt.Sprintf("k%d", i)] = map[string]any{"kind": "private-key", "key_type": "rsa-2048"}
	}
	doc["secrets"] = secrets
	b, _ := json.Marshal(doc)
	if _, err := Parse("test", b); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "RSA keys, limit") {
		t.Fatalf("Parse: %v, want the RSA key count refused", err)
	}
}
