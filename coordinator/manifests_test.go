package coordinator

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/coordinator/api"
)

func TestManifestUpdates(t *testing.T) {
	e := newTestEnv(t)
	v1 := e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	r1, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}

	v2doc := e.manifestDoc(doc{version: 2, predecessor: v1.SHA256, threshold: 3})
	tests := []struct {
		name    string
		doc     []byte
		signers []int
		want    error
	}{
		{"too few owner signatures", v2doc, []int{0}, ErrForbidden},
		{"no signatures", v2doc, nil, ErrForbidden},
		{"same owner twice", v2doc, []int{1, 1}, ErrForbidden},
		{"stale predecessor", e.manifestDoc(doc{version: 2, predecessor: strings.Repeat("ab", 32)}), []int{0, 1}, ErrConflict},
		{"version not next", e.manifestDoc(doc{version: 3, predecessor: v1.SHA256}), []int{0, 1}, ErrConflict},
		{"first version again", e.manifestDoc(doc{threshold: 1}), []int{0}, ErrConflict},
		{"malformed", []byte("name: hospital\nversion: two\n"), []int{0, 1}, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.upload("hospital", tt.doc, tt.signers...); !errors.Is(err, tt.want) {
				t.Fatalf("SetManifest: %v, want %v", err, tt.want)
			}
			st, _ := e.c.Status()
			if st.Manifests[0].SHA256 != v1.SHA256 {
				t.Fatal("a refused update changed the manifest in force")
			}
		})
	}

	// A valid update: signed by 2 of the 3 owners of v1 (its threshold),
	// though v2 itself raises the threshold to 3.
	v2 := e.mustUpload(v2doc, 0, 2)
	if v2.Version != 2 || v2.Predecessor != v1.SHA256 {
		t.Fatalf("v2 info %+v", v2)
	}
	// A lost update: written against v1, arriving after v2.
	if _, err := e.upload("hospital", e.manifestDoc(doc{version: 2, predecessor: v1.SHA256, threshold: 1}), 0, 1, 2); !errors.Is(err, ErrConflict) {
		t.Fatalf("lost update: %v, want conflict", err)
	}
	// v3 needs all three owners now.
	v3doc := e.manifestDoc(doc{version: 3, predecessor: v2.SHA256, threshold: 3})
	if _, err := e.upload("hospital", v3doc, 0, 1); !errors.Is(err, ErrForbidden) {
		t.Fatalf("v3 with 2 of 3: %v, want forbidden", err)
	}
	e.mustUpload(v3doc, 0, 1, 2)

	// Instances admitted under v1 must activate again: the intermediate
	// rotated with every update.
	_, err = e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("k")}, workloadChain(t, r1))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "activate again") {
		t.Fatalf("KMS with a v1 certificate after the update: %v", err)
	}
	r3, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	if r3.Config.Env["DB_PASSWORD"] != r1.Config.Env["DB_PASSWORD"] {
		t.Error("an unchanged secret declaration got a new value on update")
	}

	log, err := e.c.ManifestLog("hospital")
	if err != nil || len(log) != 3 || log[2].Predecessor != v2.SHA256 || strings.Join(log[2].Signers, ",") != "owner0,owner1,owner2" {
		t.Fatalf("log %+v, %v", log, err)
	}
}

func TestMasterKeyCannotChange(t *testing.T) {
	e := newTestEnv(t)
	v1 := e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	d := strings.Replace(string(e.manifestDoc(doc{version: 2, predecessor: v1.SHA256})), "  master:\n    kind: parquet-master-key\n", "  master:\n    kind: parquet-master-key\n    size: 16\n", 1)
	if _, err := e.upload("hospital", []byte(d), 0, 1); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "parquet-master-key cannot change") {
		t.Fatalf("SetManifest: %v, want conflict", err)
	}
}

func TestURLNameMustMatch(t *testing.T) {
	e := newTestEnv(t)
	if _, err := e.upload("other", e.manifestDoc(doc{}), 0, 1); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("SetManifest: %v, want bad_request", err)
	}
	if st, _ := e.c.Status(); len(st.Manifests) != 0 {
		t.Fatal("a refused manifest was stored")
	}
}

func TestUsersAndRoles(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	stranger := selfSigned(t, newKey(t), "mallory")
	// Same subject as alice, another key: not alice.
	impostor := selfSigned(t, newKey(t), "alice")
	tests := []struct {
		name   string
		secret string
		cert   bool
		user   func() any
		want   error
	}{
		{"no certificate", "partner_token", false, nil, ErrUnauthorized},
		{"unknown user", "partner_token", true, func() any { return stranger }, ErrUnauthorized},
		{"same name, other key", "partner_token", true, func() any { return impostor }, ErrUnauthorized},
		{"role does not name the secret", "db_password", true, nil, ErrForbidden},
		{"parquet master key", "master", true, nil, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := e.userCert
			if tt.user != nil {
				cert = tt.user().(*x509.Certificate)
			}
			if !tt.cert {
				cert = nil
			}
			if _, err := e.c.Secret(t.Context(), "hospital", tt.secret, cert); !errors.Is(err, tt.want) {
				t.Fatalf("Secret: %v, want %v", err, tt.want)
			}
			if err := e.c.SetSecret(t.Context(), "hospital", tt.secret, []byte("x"), cert); !errors.Is(err, tt.want) && !errors.Is(err, ErrConflict) {
				t.Fatalf("SetSecret: %v, want %v", err, tt.want)
			}
		})
	}
	got, err := e.c.Secret(t.Context(), "hospital", "partner_token", e.userCert)
	if err != nil || string(got.Value) != "s3cret-partner" {
		t.Fatalf("Secret: %v %q", err, got)
	}
	// A manifest document is only returned to a user with a manifest role.
	m, err := e.c.Manifest(t.Context(), "hospital", e.userCert)
	if err != nil || m.Document != nil || m.Info.SHA256 == "" {
		t.Fatalf("Manifest: %+v %v", m, err)
	}
}

func TestKMS(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	e.mustUpload(e.manifestDoc(doc{name: "clinic"}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	chain := workloadChain(t, r)
	gen, err := e.c.KMS(t.Context(), OpGenerate, &api.KMSRequest{Key: "master"}, chain)
	if err != nil || len(gen.Plaintext) != 32 {
		t.Fatalf("generate: %v", err)
	}
	un, err := e.c.KMS(t.Context(), OpUnwrap, &api.KMSRequest{Key: "master", Wrapped: gen.Wrapped}, chain)
	if err != nil || hex.EncodeToString(un.Plaintext) != hex.EncodeToString(gen.Plaintext) {
		t.Fatalf("unwrap: %v", err)
	}

	ca := e.activation()
	ca.manifest = "clinic"
	rc, err := e.activate(ca)
	if err != nil {
		t.Fatal(err)
	}
	otherChain := workloadChain(t, rc)
	worker := e.activation()
	worker.service = "worker"
	rw, err := e.activate(worker)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(gen.Wrapped, wrappedPrefix))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	tampered := wrappedPrefix + base64.RawURLEncoding.EncodeToString(raw)
	tests := []struct {
		name  string
		op    string
		req   api.KMSRequest
		chain any
		want  error
	}{
		{"service without the grant", OpWrap, api.KMSRequest{Key: "master", Plaintext: []byte("k")}, workloadChain(t, rw), ErrForbidden},
		{"key not granted", OpWrap, api.KMSRequest{Key: "other_master", Plaintext: []byte("k")}, chain, ErrForbidden},
		{"another manifest's wrapped key", OpUnwrap, api.KMSRequest{Key: "master", Wrapped: gen.Wrapped}, otherChain, ErrForbidden},
		{"altered wrapped key", OpUnwrap, api.KMSRequest{Key: "master", Wrapped: tampered}, chain, ErrForbidden},
		{"not a wrapped key", OpUnwrap, api.KMSRequest{Key: "master", Wrapped: "hello"}, chain, ErrBadRequest},
		{"no certificate", OpWrap, api.KMSRequest{Key: "master", Plaintext: []byte("k")}, nil, ErrUnauthorized},
		{"bad size", OpGenerate, api.KMSRequest{Key: "master", Size: 7}, chain, ErrBadRequest},
		{"huge plaintext", OpWrap, api.KMSRequest{Key: "master", Plaintext: make([]byte, maxKMSPlaintext+1)}, chain, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, _ := tt.chain.([]*x509.Certificate)
			if _, err := e.c.KMS(t.Context(), tt.op, &tt.req, ch); !errors.Is(err, tt.want) {
				t.Fatalf("KMS: %v, want %v", err, tt.want)
			}
		})
	}
	// Expired instance certificates are refused.
	e.clock.Add(2 * 3600e9)
	if _, err := e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("k")}, chain); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("expired: %v", err)
	}
}

// TestAdmission: with an admission list, only its owners create manifests.
func TestAdmission(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.Admission = []crypto.PublicKey{&e.owners[2].PublicKey}
	e.restart()
	if _, err := e.upload("hospital", e.manifestDoc(doc{}), 0, 1); !errors.Is(err, ErrForbidden) {
		t.Fatalf("first version without an admitted signer: %v, want forbidden", err)
	}
	e.mustUpload(e.manifestDoc(doc{}), 0, 2)
}

// TestManifestDocumentReads: documents go only to users with a manifest
// read role, and each read is audited.
func TestManifestDocumentReads(t *testing.T) {
	e := newTestEnv(t)
	d := strings.Replace(string(e.manifestDoc(doc{})), "    roles: [uploader, auditor]\n", "    roles: [uploader, auditor, reader]\n", 1)
	d = strings.Replace(d, "roles:\n  uploader:", "roles:\n  reader:\n    resource: manifest\n    actions: [read]\n  uploader:", 1)
	e.mustUpload([]byte(d), 0, 1)
	m, err := e.c.Manifest(t.Context(), "hospital", e.userCert)
	if err != nil || string(m.Document) != d {
		t.Fatalf("Manifest: %v", err)
	}
	if m, err := e.c.Manifest(t.Context(), "hospital", nil); err != nil || m.Document != nil {
		t.Fatalf("anonymous Manifest: %v, document %d bytes", err, len(m.Document))
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, auditFile))
	if !strings.Contains(string(b), `"event":"manifest_read","granted":true`) {
		t.Fatal("a document read was not audited")
	}
}
