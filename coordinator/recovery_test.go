package coordinator

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/internal/auditlog"
)

func TestRestartKeepsState(t *testing.T) {
	e := newTestEnv(t)
	info := e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	gen, err := e.c.KMS(t.Context(), OpGenerate, &api.KMSRequest{Key: "master"}, workloadChain(t, r))
	if err != nil {
		t.Fatal(err)
	}
	root := e.c.RootSHA256()
	e.restart()
	if e.c.RootSHA256() != root {
		t.Fatal("the root CA changed across a restart")
	}
	st, _ := e.c.Status()
	if len(st.Manifests) != 1 || st.Manifests[0].SHA256 != info.SHA256 || st.Manifests[0].Locked {
		t.Fatalf("status after restart %+v", st)
	}
	// The instance, its certificate and the master key survive.
	un, err := e.c.KMS(t.Context(), OpUnwrap, &api.KMSRequest{Key: "master", Wrapped: gen.Wrapped}, workloadChain(t, r))
	if err != nil || !bytes.Equal(un.Plaintext, gen.Plaintext) {
		t.Fatalf("unwrap after restart: %v", err)
	}
	r2, err := e.activate(e.activation())
	if err != nil || r2.Config.Env["DB_PASSWORD"] != r.Config.Env["DB_PASSWORD"] {
		t.Fatalf("activate after restart: %v", err)
	}
}

// TestRecovery loses the sealing key (another platform), then has two of
// three recovery holders restore one manifest; a manifest without a
// recovery section stays locked, and wrong shares are refused.
func TestRecovery(t *testing.T) {
	e := newTestEnv(t)
	holders := make([]*ecdh.PrivateKey, 3)
	var keys strings.Builder
	for i := range holders {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		holders[i] = k
		pemBytes, err := seal.MarshalRecoveryPublicKey(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		keys.WriteString("    holder" + string(rune('0'+i)) + ": |\n" + indent(string(pemBytes), 6) + "\n")
	}
	recovery := "recovery:\n  threshold: 2\n  keys:\n" + keys.String()
	e.mustUpload(e.manifestDoc(doc{extra: recovery}), 0, 1)
	e.mustUpload(e.manifestDoc(doc{name: "norecovery"}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	gen, err := e.c.KMS(t.Context(), OpGenerate, &api.KMSRequest{Key: "master"}, workloadChain(t, r))
	if err != nil {
		t.Fatal(err)
	}
	oldRoot := e.c.RootSHA256()

	// New hardware: the sealing key changes.
	e.c.Close()
	e.c = nil
	other, err := e.root.NewPlatform("replacement-node", t0, 24*3600e9)
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.Sealer, err = seal.NewSimSealer(other, []byte("coordinator test")); err != nil {
		t.Fatal(err)
	}
	e.cfg.Producer = &sim.Producer{Platform: other, Measurement: []byte("coordinator"), Now: e.clock.Now}
	e.start()
	if e.c.RootSHA256() == oldRoot {
		t.Fatal("the old root survived the loss of the sealing key")
	}
	if _, err := e.activate(e.activation()); !errors.Is(err, ErrLocked) {
		t.Fatalf("activation while locked: %v, want locked", err)
	}
	st, _ := e.c.RecoveryStatus()
	if len(st.Manifests) != 2 || st.Manifests[0].Name != "hospital" || st.Manifests[0].Threshold != 2 {
		t.Fatalf("recovery status %+v", st)
	}

	rec, _, err := e.c.recoveryRecord("hospital")
	if err != nil {
		t.Fatal(err)
	}
	share0, err := rec.OpenShare("holder0", holders[0])
	if err != nil {
		t.Fatal(err)
	}
	share1, err := rec.OpenShare("holder1", holders[1])
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(share1)
	bad[0] ^= 1
	for name, s := range map[string]*api.RecoveryShare{
		"altered share":    {Holder: "holder1", Share: bad},
		"another holder's": {Holder: "holder2", Share: share1},
		"unknown holder":   {Holder: "mallory", Share: share1},
	} {
		if _, err := e.c.SubmitShare(t.Context(), "hospital", s); !errors.Is(err, ErrForbidden) {
			t.Fatalf("%s: %v, want forbidden", name, err)
		}
	}
	if _, err := e.c.SubmitShare(t.Context(), "norecovery", &api.RecoveryShare{Holder: "holder0", Share: share0}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("manifest without recovery: %v, want not_found", err)
	}
	res, err := e.c.SubmitShare(t.Context(), "hospital", &api.RecoveryShare{Holder: "holder0", Share: share0})
	if err != nil || res.Recovered || res.Remaining != 1 {
		t.Fatalf("first share: %+v %v", res, err)
	}
	res, err = e.c.SubmitShare(t.Context(), "hospital", &api.RecoveryShare{Holder: "holder1", Share: share1})
	if err != nil || !res.Recovered {
		t.Fatalf("second share: %+v %v", res, err)
	}

	// Recovered: activation works under the new root, old wrapped keys open.
	r2, err := e.activate(e.activation())
	if err != nil {
		t.Fatalf("activate after recovery: %v", err)
	}
	un, err := e.c.KMS(t.Context(), OpUnwrap, &api.KMSRequest{Key: "master", Wrapped: gen.Wrapped}, workloadChain(t, r2))
	if err != nil || !bytes.Equal(un.Plaintext, gen.Plaintext) {
		t.Fatalf("unwrap after recovery: %v", err)
	}
	if r2.Config.Env["DB_PASSWORD"] != r.Config.Env["DB_PASSWORD"] {
		t.Error("secrets changed across recovery")
	}
	// And survives a restart on the new platform.
	e.restart()
	if _, err := e.activate(e.activation()); err != nil {
		t.Fatalf("activate after recovery and restart: %v", err)
	}
	a := e.activation()
	a.manifest = "norecovery"
	if _, err := e.activate(a); !errors.Is(err, ErrLocked) {
		t.Fatalf("manifest without recovery: %v, want still locked", err)
	}
	// The old audit chain was kept aside; the new one verifies.
	old, _ := filepath.Glob(filepath.Join(e.dir, auditFile+".*.sealing-key-lost"))
	if len(old) != 1 {
		t.Fatalf("old audit logs kept: %v", old)
	}
	verifyAudit(t, e)
}

// verifyAudit checks the coordinator's audit log against its key and
// head.
func verifyAudit(t *testing.T, e *testEnv) auditlog.Summary {
	t.Helper()
	f, err := os.Open(filepath.Join(e.dir, auditFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := e.c.audit.Head()
	sum, err := auditlog.Verify(f, auditlog.VerifyOptions{PublicKeys: []crypto.PublicKey{e.c.auditKey.Public()}, RequireSignatures: true, Head: &head})
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return sum
}

func TestAuditLog(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	if _, err := e.activate(e.activation()); err != nil {
		t.Fatal(err)
	}
	a := e.activation()
	a.measurement = sha256Sum("evil")
	if _, err := e.activate(a); !errors.Is(err, ErrRefused) {
		t.Fatal(err)
	}
	if _, err := e.c.Secret(t.Context(), "hospital", "db_password", e.userCert); !errors.Is(err, ErrForbidden) {
		t.Fatal(err)
	}
	sum := verifyAudit(t, e)
	// A coordinator auditor reads every line.
	auditor := newKey(t)
	e.cfg.Auditors = append(e.cfg.Auditors, &auditor.PublicKey)
	e.restart()
	var buf bytes.Buffer
	if err := e.c.AuditLines(t.Context(), 0, selfSigned(t, auditor, "auditor"), &buf); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{`"event":"start"`, `"event":"manifest_set"`, `"event":"secret_write"`, `"event":"activate","granted":true`,
		`"event":"activate","granted":false,"code":"refused"`, `"event":"secret_read","granted":false`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(log, "s3cret-partner") {
		t.Fatal("a secret value reached the audit log")
	}
	if uint64(strings.Count(log, "\n")) < sum.Lines {
		t.Errorf("AuditLines returned %d lines, the log had %d", strings.Count(log, "\n"), sum.Lines)
	}
	// A manifest's auditor reads only that manifest's lines.
	buf.Reset()
	if err := e.c.AuditLines(t.Context(), 0, e.userCert, &buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.Contains(line, `"manifest":"hospital"`) {
			t.Fatalf("a manifest auditor read a line of no or another manifest: %s", line)
		}
	}
	stranger := selfSigned(t, newKey(t), "mallory")
	if err := e.c.AuditLines(t.Context(), 0, stranger, &buf); !errors.Is(err, ErrForbidden) {
		t.Fatalf("stranger reading the audit log: %v", err)
	}

	// Truncation while the coordinator is down is refused at start.
	e.c.Close()
	e.c = nil
	path := filepath.Join(e.dir, auditFile)
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	if err := os.WriteFile(path, bytes.Join(lines[:len(lines)-3], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(e.cfg); !errors.Is(err, auditlog.ErrChain) {
		t.Fatalf("New with a truncated audit log: %v, want a chain error", err)
	}
}
