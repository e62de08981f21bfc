package coordinator

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/store"
)

// TestImportExport: an export reaches the attested workloads of the
// manifest it names — the one in force when the export was declared —
// and never that manifest's users.
func TestImportExport(t *testing.T) {
	e := newTestEnv(t)
	importer := "import:\n      manifest: hospital\n      secret: session\n"
	clinicDoc := func(v uint64, pred string) []byte {
		d := e.manifestDoc(doc{name: "clinic", version: v, predecessor: pred})
		return []byte(strings.Replace(string(d), "  per_instance:\n    kind: symmetric\n    shared: false\n",
			"  per_instance:\n    kind: symmetric\n    shared: false\n  hospital_session:\n    kind: symmetric\n    "+importer, 1))
	}
	withExport := func(v uint64, pred string) []byte {
		d := e.manifestDoc(doc{name: "hospital", version: v, predecessor: pred})
		return []byte(strings.Replace(string(d), "  session:\n    kind: symmetric\n", "  session:\n    kind: symmetric\n    export_to: [clinic]\n", 1))
	}
	// Exporting to a manifest that does not exist yet is refused.
	if _, err := e.upload("hospital", withExport(1, ""), 0, 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("export to a missing manifest: %v, want conflict", err)
	}
	clinic := e.mustUpload(clinicDoc(1, ""), 0, 1)
	h1 := e.mustUpload(e.manifestDoc(doc{}), 0, 1)

	// Declared, but not exported: the import is refused at activation.
	a := e.activation()
	a.manifest = "clinic"
	cl, err := e.c.manifest("clinic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.secretValue(cl, "hospital_session", nil); !errors.Is(err, ErrForbidden) {
		t.Fatalf("import without export: %v, want forbidden", err)
	}
	e.mustUpload(withExport(2, h1.SHA256), 0, 1)
	cl, _ = e.c.manifest("clinic")
	got, err := e.c.secretValue(cl, "hospital_session", nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	hosp, _ := e.c.manifest("hospital")
	if string(got.Bytes) != string(hosp.secrets["session"].Bytes) {
		t.Fatal("the import resolved to another value")
	}
	// The importer's users never read it.
	if _, err := e.c.Secret(t.Context(), "clinic", "hospital_session", e.userCert); !errors.Is(err, ErrForbidden) {
		t.Fatalf("user read of an imported secret: %v, want forbidden", err)
	}
	// A manifest registered under the name later is another manifest.
	cl.genesis = strings.Repeat("0", 64)
	if _, err := e.c.secretValue(cl, "hospital_session", nil); !errors.Is(err, ErrForbidden) {
		t.Fatalf("import by a manifest with another genesis: %v, want forbidden", err)
	}
	_ = clinic
}

// TestOldVersionCannotRenewOrUseKMS: after an update, an instance of the
// old version is refused even if it presents the new intermediate next to
// its old certificate.
func TestOldVersionCannotRenewOrUseKMS(t *testing.T) {
	e := newTestEnv(t)
	v1 := e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r1, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	e.mustUpload(e.manifestDoc(doc{version: 2, predecessor: v1.SHA256}), 0, 1)
	r2, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	old := workloadChain(t, r1)
	newInter := workloadChain(t, r2)[1]
	for name, chain := range map[string][]*x509.Certificate{
		"old chain":                    old,
		"old leaf, new intermediate":   {old[0], newInter},
		"old leaf, new and old inters": {old[0], newInter, old[1]},
	} {
		if _, err := e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("k")}, chain); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("KMS with %s: %v, want unauthorized", name, err)
		}
		if _, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Renew with %s: %v, want unauthorized", name, err)
		}
	}
}

func csrFor(t *testing.T, a *activation) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, a.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRenewRules(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.MaxInstanceLife = 3 * time.Hour
	e.restart()
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	r, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	chain := workloadChain(t, r)
	// Another key than the attested one.
	other := e.activation()
	if _, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, other)}, chain); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("renew with a new key: %v, want bad_request", err)
	}
	rn, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
	if err != nil {
		t.Fatal(err)
	}
	// The superseded certificate no longer works.
	if _, err := e.c.KMS(t.Context(), OpWrap, &api.KMSRequest{Key: "master", Plaintext: []byte("k")}, chain); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("superseded certificate: %v, want unauthorized", err)
	}
	renewed, _ := x509.ParseCertificate(rn.Certificate)
	chain = []*x509.Certificate{renewed, chain[1]}
	// Renewals stop at the instance deadline: fresh evidence is needed.
	for range 3 {
		e.clock.Add(50 * time.Minute)
		rn, err = e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain)
		if err != nil {
			break
		}
		renewed, _ = x509.ParseCertificate(rn.Certificate)
		if renewed.NotAfter.After(t0.Add(3 * time.Hour)) {
			t.Fatalf("a renewed certificate outlives the instance deadline: %v", renewed.NotAfter)
		}
		chain = []*x509.Certificate{renewed, chain[1]}
	}
	e.clock.Add(time.Hour)
	if _, err := e.c.Renew(t.Context(), &api.RenewRequest{CSR: csrFor(t, a)}, chain); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("renew past the deadline: %v, want unauthorized", err)
	}
}

// TestTolerationBoundsInstanceLife: an admission that needed a toleration
// ends with it.
func TestTolerationBoundsInstanceLife(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{reference: "measurements: [" + hexOf(e.measurement) + "]\ndebug_allowed: true\nmin_svn: 5",
		tolerations: "- field: svn\n  expires: 2026-11-23T12:30:00Z\n  reason: patch rollout"}), 0, 1)
	a := e.activation()
	a.svn = 1
	r, err := e.activate(a)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Expires.Equal(time.Date(2026, 11, 23, 12, 30, 0, 0, time.UTC)) {
		t.Fatalf("certificate expires %v, want the toleration's expiry", r.Expires)
	}
}

func TestMainEvidenceMustBeWorkloadTEE(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	req := e.request(e.activation())
	req.Evidence.Format = attest.FormatNVGPU
	if _, err := e.c.Activate(t.Context(), req); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("GPU evidence as the main piece: %v, want bad_request", err)
	}
	req = e.request(e.activation())
	req.Parts = make([]api.Evidence, maxParts+1)
	if _, err := e.c.Activate(t.Context(), req); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("too many parts: %v, want bad_request", err)
	}
}

// TestBadEvidenceDoesNotSpendNonce: only evidence that binds a nonce
// spends it, so bare requests cannot exhaust the used-nonce memory.
func TestBadEvidenceDoesNotSpendNonce(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	a := e.activation()
	bad := e.request(a)
	bad.Evidence.Data = []byte("{}")
	if _, err := e.c.Activate(t.Context(), bad); !errors.Is(err, ErrRefused) {
		t.Fatal(err)
	}
	if e.c.challenges.Remembered() != 0 {
		t.Fatal("refused evidence spent its nonce")
	}
	if _, err := e.activate(a); err != nil {
		t.Fatalf("the nonce after refused evidence: %v", err)
	}
}

func TestLongNamesAreClippedInAudit(t *testing.T) {
	e := newTestEnv(t)
	req := e.request(e.activation())
	req.Manifest = strings.Repeat("m", 2<<20)
	if _, err := e.c.Activate(t.Context(), req); !errors.Is(err, ErrRefused) {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, auditFile))
	if strings.Count(string(b), "\n") != 2 || len(b) > 64<<10 {
		t.Fatalf("a refusal with a 2 MiB name was not logged, or not clipped (%d bytes)", len(b))
	}
}

// TestStoreTampering: what the host may do to the state while the
// coordinator is stopped, and what the coordinator then does.
func TestStoreTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *bolt.DB)
		check  func(t *testing.T, e *testEnv, err error)
	}{
		{"manifest key deleted: locked, and the name cannot be taken", func(t *testing.T, db *bolt.DB) {
			deleteValue(t, db, store.Global, tableNSKeys, "hospital")
		}, func(t *testing.T, e *testEnv, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.activate(e.activation()); !errors.Is(err, ErrLocked) {
				t.Fatalf("activate: %v, want locked", err)
			}
			if _, err := e.upload("hospital", e.manifestDoc(doc{}), 0, 1); !errors.Is(err, ErrLocked) && !errors.Is(err, ErrConflict) {
				t.Fatalf("taking the name: %v, want locked or conflict", err)
			}
		}},
		{"root CA deleted: refuses to start", func(t *testing.T, db *bolt.DB) {
			deleteValue(t, db, store.Global, tableCA, keyRoot)
		}, refusesToStart},
		{"audit key deleted: refuses to start", func(t *testing.T, db *bolt.DB) {
			deleteValue(t, db, store.Global, tableAudit, keyAuditKey)
		}, refusesToStart},
		{"audit head deleted: refuses to start", func(t *testing.T, db *bolt.DB) {
			deleteValue(t, db, store.Global, tableAudit, keyAuditHead)
		}, refusesToStart},
		{"token keys deleted: refuses to start", func(t *testing.T, db *bolt.DB) {
			deleteValue(t, db, store.Global, tableTokens, keyKeySet)
		}, refusesToStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.mustUpload(e.manifestDoc(doc{}), 0, 1)
			e.c.Close()
			e.c = nil
			db, err := bolt.Open(filepath.Join(e.dir, stateFile), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, db)
			db.Close()
			c, err := New(e.cfg)
			e.c = c
			tt.check(t, e, err)
		})
	}
}

func refusesToStart(t *testing.T, _ *testEnv, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the coordinator started on tampered state")
	}
}

// deleteValue removes a value as the host could, with bbolt itself: the
// file's buckets (namespace, then table) and keys are in clear, only
// values are sealed.
func deleteValue(t *testing.T, db *bolt.DB, ns store.Namespace, table, key string) {
	t.Helper()
	err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(ns)).Bucket([]byte(table))
		if b.Get([]byte(key)) == nil {
			return errors.New("no such value: the test's idea of the layout is wrong")
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnsignedAuditLineRefused(t *testing.T) {
	e := newTestEnv(t)
	e.c.Close()
	e.c = nil
	path := filepath.Join(e.dir, auditFile)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	forged := strings.Replace(last, `"event":"start"`, `"event":"forged"`, 1)
	forged = forged[:strings.Index(forged, `,"sig"`)] + "}"
	os.WriteFile(path, append(b, []byte(forged+"\n")...), 0o600)
	if _, err := New(e.cfg); err == nil {
		t.Fatal("started with an unsigned line in the audit log")
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
