package careapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
)

func pngImage(n int) []byte {
	return append(append([]byte{}, pngMagic...), bytes.Repeat([]byte{7}, n)...)
}

func dicomImage() []byte {
	b := make([]byte, dicomMagicOffset+64)
	copy(b[dicomMagicOffset:], "DICM")
	return b
}

func imageBody(contentType string, data []byte) []byte {
	b, _ := json.Marshal(map[string]any{"contentType": contentType, "data": data})
	return b
}

func upload(t *testing.T, c *client, patient, contentType string, data []byte) string {
	t.Helper()
	r := c.do("POST", "/api/patients/"+patient+"/images", "application/json", imageBody(contentType, data))
	if r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var v struct{ ImageID string }
	r.json(t, &v)
	return v.ImageID
}

func TestImagesAndDiagnosis(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	other := alice.createPatient()

	img := upload(t, alice, id, "image/png", pngImage(37))
	dcm := upload(t, alice, id, "application/dicom", dicomImage())

	r := alice.do("POST", "/api/patients/"+id+"/diagnose", "application/json", []byte(`{"imageId":"`+img+`"}`))
	if r.status != http.StatusOK {
		t.Fatalf("diagnose: %d %s", r.status, r.body)
	}
	var rep struct {
		ResourceType, ID, Status, Issued, Conclusion string
		Subject                                      struct{ Reference string }
		ConclusionCode                               []struct{ Text string }
		Extension                                    []struct {
			URL         string
			ValueString string
			Extension   []struct {
				URL          string
				ValueString  string
				ValueDecimal json.Number
			}
		}
	}
	r.json(t, &rep)
	exts := map[string]string{}
	findings := 0
	for _, x := range rep.Extension {
		exts[x.URL] = x.ValueString
		if x.URL == ExtFinding {
			findings++
		}
	}
	// 8+37 = 45 bytes: pneumonia scores 0.45, normal 0.55.
	if rep.ResourceType != "DiagnosticReport" || rep.Status != "final" || rep.Subject.Reference != "Patient/"+id ||
		rep.Issued != "2026-11-24T09:00:00Z" || rep.Conclusion != "normal" || rep.ConclusionCode[0].Text != "normal" ||
		exts[ExtModelSHA256] != fakeSHA || exts[ExtModel] != "chest-demo" || exts[ExtImage] != img || findings != 2 {
		t.Fatalf("report: %s", r.body)
	}
	if r := alice.do("POST", "/api/patients/"+id+"/diagnose", "application/json", []byte(`{"imageId":"`+dcm+`"}`)); r.status != http.StatusOK {
		t.Fatalf("diagnose DICOM: %d %s", r.status, r.body)
	}

	r = alice.do("GET", "/fhir/DiagnosticReport?subject=Patient/"+id, "", nil)
	var b bundle
	r.json(t, &b)
	if r.status != 200 || b.Total != 2 || !bytes.Contains(b.Entry[0].Resource, []byte(rep.ID)) {
		t.Fatalf("list reports: %d %s", r.status, r.body)
	}

	refusals := []struct {
		name    string
		path    string
		body    []byte
		want    int
		mention string
	}{
		{"not a PNG", "/api/patients/" + id + "/images", imageBody("image/png", []byte("GIF89a....")), 400, "PNG"},
		{"not DICOM", "/api/patients/" + id + "/images", imageBody("application/dicom", pngImage(200)), 400, "DICOM"},
		{"content type", "/api/patients/" + id + "/images", imageBody("image/gif", pngImage(1)), 400, "contentType"},
		{"empty", "/api/patients/" + id + "/images", imageBody("image/png", nil), 400, "data"},
		{"too large", "/api/patients/" + id + "/images", imageBody("image/png", pngImage(MaxImageSize)), 400, "exceeds"},
		{"bad base64", "/api/patients/" + id + "/images", []byte(`{"contentType":"image/png","data":"!!"}`), 400, "data"},
		{"unknown patient", "/api/patients/00000000-0000-4000-8000-000000000000/images", imageBody("image/png", pngImage(1)), 404, "patient"},
		{"diagnose unknown image", "/api/patients/" + id + "/diagnose", []byte(`{"imageId":"00000000-0000-4000-8000-000000000000"}`), 404, "image"},
		{"diagnose another patient's image", "/api/patients/" + other + "/diagnose", []byte(`{"imageId":"` + img + `"}`), 404, "image"},
		{"diagnose bad image id", "/api/patients/" + id + "/diagnose", []byte(`{"imageId":"../x"}`), 400, "imageId"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.do("POST", tc.path, "application/json", tc.body)
			if r.status != tc.want || !bytes.Contains(r.body, []byte(tc.mention)) {
				t.Fatalf("%d %s, want %d naming %q", r.status, r.body, tc.want, tc.mention)
			}
		})
	}

	// A failing or misbehaving diagnostics service: 502, nothing stored.
	for _, d := range []*fakeDiagnoser{{fail: errors.New("connection refused")}, {bad: true}} {
		e.srv.cfg.Diagnoser = d
		if r := alice.do("POST", "/api/patients/"+id+"/diagnose", "application/json", []byte(`{"imageId":"`+img+`"}`)); r.status != http.StatusBadGateway {
			t.Errorf("diagnoser %+v: %d %s", d, r.status, r.body)
		}
	}
	r = alice.do("GET", "/fhir/DiagnosticReport?subject=Patient/"+id, "", nil)
	if r.json(t, &b); b.Total != 2 {
		t.Errorf("after failures, %d reports", b.Total)
	}
}

func TestCheckDiagnosis(t *testing.T) {
	good := Diagnosis{Labels: []string{"a", "b"}, Probabilities: []float32{0.5, 0.5}, Model: "m", ModelSHA256: fakeSHA}
	tests := []struct {
		name string
		mod  func(*Diagnosis)
		ok   bool
	}{
		{"good", func(*Diagnosis) {}, true},
		{"no labels", func(d *Diagnosis) { d.Labels, d.Probabilities = nil, nil }, false},
		{"length mismatch", func(d *Diagnosis) { d.Probabilities = d.Probabilities[:1] }, false},
		{"empty label", func(d *Diagnosis) { d.Labels = []string{"", "b"} }, false},
		{"probability above 1", func(d *Diagnosis) { d.Probabilities = []float32{1.5, 0} }, false},
		{"negative probability", func(d *Diagnosis) { d.Probabilities = []float32{-0.1, 0} }, false},
		{"uppercase sha", func(d *Diagnosis) { d.ModelSHA256 = strings.ToUpper(fakeSHA) }, false},
		{"short sha", func(d *Diagnosis) { d.ModelSHA256 = fakeSHA[:62] }, false},
		{"no model", func(d *Diagnosis) { d.Model = "" }, false},
	}
	for _, tc := range tests {
		d := good
		d.Labels = append([]string{}, good.Labels...)
		d.Probabilities = append([]float32{}, good.Probabilities...)
		tc.mod(&d)
		err := checkDiagnosis(d)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, errDiagnosis) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestAuditAndNoPHI runs the whole flow, through the gateway, then reads
// the audit log as an admin and scans Redis, the audit file and the logs
// for PHI.
func TestAuditAndNoPHI(t *testing.T) {
	e := newEnv(t, false)
	alice := e.client(t, true).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	alice.do("GET", "/fhir/Patient", "", nil)
	alice.do("GET", "/fhir/Patient/"+id, "", nil)
	alice.do("POST", "/fhir/Observation", "application/fhir+json", []byte(`{"resourceType":"Observation","status":"final","code":{"text":"`+phiGiven+` note"},"subject":{"reference":"Patient/`+id+`"}}`))
	alice.do("GET", "/fhir/Observation?subject=Patient/"+id, "", nil)
	img := upload(t, alice, id, "image/png", pngImage(10))
	alice.do("POST", "/api/patients/"+id+"/diagnose", "application/json", []byte(`{"imageId":"`+img+`"}`))
	alice.do("GET", "/fhir/DiagnosticReport?subject=Patient/"+id, "", nil)
	alice.do("POST", "/fhir/Patient", "application/fhir+json", []byte(`{"resourceType":"Patient","name":[{"text":"`+phiFamily+`"}],"x":1}`))
	alice.do("GET", "/api/audit", "", nil) // denied
	alice.do("POST", "/api/logout", "", nil)
	e.client(t, true).login("alice", "wrong")

	bob := e.client(t, true).mustLogin("bob", bobPassword)
	r := bob.do("GET", "/api/audit", "", nil)
	if r.status != 200 {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	var got struct{ Entries []AuditEntry }
	r.json(t, &got)
	type key struct{ user, action, rtype, outcome string }
	seen := map[key]bool{}
	for _, en := range got.Entries {
		seen[key{en.User, en.Action, en.ResourceType, en.Outcome}] = true
		if en.Time.IsZero() || en.Seq == 0 || !en.Sealed {
			t.Errorf("entry %+v lacks time, seq or sealed", en)
		}
		if en.Patient != "" && en.Patient != id {
			t.Errorf("entry %+v names another patient", en)
		}
	}
	for _, want := range []key{
		{"alice", "login", "", "success"},
		{"alice", "create", "Patient", "success"},
		{"alice", "list", "Patient", "success"},
		{"alice", "read", "Patient", "success"},
		{"alice", "create", "Observation", "success"},
		{"alice", "search", "Observation", "success"},
		{"alice", "upload-image", "Image", "success"},
		{"alice", "diagnose", "DiagnosticReport", "success"},
		{"alice", "search", "DiagnosticReport", "success"},
		{"alice", "create", "Patient", "invalid"},
		{"alice", "access GET /api/audit", "", "denied"},
		{"alice", "logout", "", "success"},
		{"alice", "login", "", "denied"},
		{"bob", "login", "", "success"},
		{"bob", "read-audit", "", "success"},
	} {
		if !seen[want] {
			t.Errorf("no audit entry %+v", want)
		}
	}

	phi := []string{phiFamily, phiGiven, phiMRN, phiBirth, alicePassword, alice.csrf}
	// Redis: every key and value, read as the administrator.
	ctx := context.Background()
	admin := e.redis.AdminClient()
	keys, err := admin.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 8 {
		t.Fatalf("redis keys: %d, %v", len(keys), err)
	}
	for _, k := range keys {
		v, err := admin.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(phi, id, "Patient", "session") {
			if strings.Contains(k, s) || bytes.Contains(v, []byte(s)) {
				t.Errorf("redis key or value holds %q", s)
			}
		}
	}
	audit, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range phi {
		for name, b := range map[string][]byte{"audit log": audit, "service log": e.logs.Bytes()} {
			if bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(s)))) {
				t.Errorf("%s holds %q", name, s)
			}
		}
	}
}

// TestAuditTamper shows that a rewritten audit log is refused, not served.
func TestAuditTamper(t *testing.T) {
	e := newEnv(t, true)
	bob := e.client(t, false).mustLogin("bob", bobPassword)
	if r := bob.do("GET", "/api/audit", "", nil); r.status != 200 {
		t.Fatalf("audit: %d", r.status)
	}
	b, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.audit, bytes.Replace(b, []byte(`"user":"bob"`), []byte(`"user":"eve"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := bob.do("GET", "/api/audit", "", nil); r.status != http.StatusInternalServerError {
		t.Fatalf("tampered audit log: %d %s", r.status, r.body)
	}
}

// TestTamperedRecord: a record altered on the Redis host is not served,
// and the operator is told.
func TestTamperedRecord(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	ctx := context.Background()
	admin := e.redis.AdminClient()
	before, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	id := alice.createPatient()
	after, err := admin.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, k := range before {
		old[k] = true
	}
	for _, k := range after {
		if old[k] {
			continue // the session
		}
		v, err := admin.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		v[len(v)-1] ^= 1
		if err := admin.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if r := alice.do("GET", "/fhir/Patient/"+id, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("tampered patient: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "failed authentication") {
		t.Error("tamper not logged")
	}
}
