package careapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func patientWith(members string) string {
	return `{"resourceType":"Patient",` + members + `}`
}

func TestResourceStringAndSizeCaps(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	var manyNames []string
	for range 60 {
		manyNames = append(manyNames, `{"family":"`+long(MaxNameLength)+`"}`)
	}
	tests := []struct {
		name  string
		body  string
		field string // "" with ok: accepted
		ok    bool
	}{
		{"name at the limit", patientWith(`"name":[{"family":"` + long(MaxNameLength) + `"}]`), "", true},
		{"family over", patientWith(`"name":[{"family":"` + long(MaxNameLength+1) + `"}]`), "name[0].family", false},
		{"given over", patientWith(`"name":[{"text":"x"},{"given":["a","` + long(MaxNameLength+1) + `"]}]`), "name[1].given[1]", false},
		{"text over", patientWith(`"name":[{"text":"` + long(MaxNameLength+1) + `"}]`), "name[0].text", false},
		{"identifier at the limit", patientWith(`"name":[{"text":"x"}],"identifier":[{"value":"` + long(MaxIdentifierLength) + `"}]`), "", true},
		{"identifier over", patientWith(`"name":[{"text":"x"}],"identifier":[{"value":"` + long(MaxIdentifierLength+1) + `"}]`), "identifier[0].value", false},
		{"other string over", patientWith(`"name":[{"text":"x"}],"address":[{"text":"` + long(MaxStringLength+1) + `"}]`), "address[0].text", false},
		{"resource over", patientWith(`"name":[` + strings.Join(manyNames, ",") + `]`), fmt.Sprintf("exceeds %d bytes", MaxPatientSize), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePatient([]byte(tc.body), now)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			checkInvalid(t, err)
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %v does not name %q", err, tc.field)
			}
			if strings.Contains(err.Error(), "é") {
				t.Fatal("error quotes the value")
			}
		})
	}
	// An Observation: one long note, and one over the resource size.
	obs := func(members string) []byte {
		return []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` +
			uuid.NewString() + `"}` + members + `}`)
	}
	var codings []string
	for range 20 {
		codings = append(codings, `{"display":"`+long(MaxStringLength)+`"}`)
	}
	for _, tc := range []struct{ name, members, want string }{
		{"note over", `,"note":[{"text":"` + long(MaxStringLength+1) + `"}]`, "note[0].text"},
		{"observation over", `,"category":[{"coding":[` + strings.Join(codings, ",") + `]}]`, fmt.Sprintf("exceeds %d bytes", MaxObservationSize)},
	} {
		_, _, err := decodeObservation(obs(tc.members))
		checkInvalid(t, err)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v does not name %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := decodeObservation(obs(`,"note":[{"text":"` + long(MaxStringLength) + `"}]`)); err != nil {
		t.Errorf("note at the limit: %v", err)
	}
}

func TestPatientSizeCapOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	r := alice.do("POST", "/fhir/Patient", mediaFHIR, []byte(patientWith(`"name":[{"family":"`+strings.Repeat("x", MaxNameLength+1)+`"}]`)))
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if is := outcome(t, r); is[0].Code != "invalid" || !strings.Contains(is[0].Diagnostics, "name[0].family") {
		t.Fatalf("issues %+v", is)
	}
}

// fillIndex makes the index at key hold n ids, as n creates would.
func fillIndex(t *testing.T, e *env, key string, n int) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	b, _ := json.Marshal(ids)
	if err := e.srv.store.put(t.Context(), key, b); err != nil {
		t.Fatal(err)
	}
}

func TestPerPatientCaps(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	other := alice.createPatient()

	// Images: MaxImagesPerPatient uploads, then 409.
	for range MaxImagesPerPatient {
		upload(t, alice, id, "image/png", pngImage(8))
	}
	r := alice.do("POST", "/api/patients/"+id+"/images", "application/json", imageBody("image/png", pngImage(8)))
	checkFull(t, r, fmt.Sprintf("%d images", MaxImagesPerPatient))
	// Another patient is unaffected.
	img := upload(t, alice, other, "image/png", pngImage(8))

	// Reports: an index at the cap refuses the next diagnosis.
	fillIndex(t, e, keyReportIndex(other), MaxReportsPerPatient)
	r = alice.do("POST", "/api/patients/"+other+"/diagnose", "application/json", []byte(`{"imageId":"`+img+`"}`))
	checkFull(t, r, fmt.Sprintf("%d reports", MaxReportsPerPatient))

	// Observations likewise.
	fillIndex(t, e, keyObservationIndex(other), MaxObservationsPerPatient)
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + other + `"}}`
	r = alice.do("POST", "/fhir/Observation", mediaFHIR, []byte(obs))
	checkFull(t, r, fmt.Sprintf("%d observations", MaxObservationsPerPatient))
	// One below the cap is accepted.
	fillIndex(t, e, keyObservationIndex(other), MaxObservationsPerPatient-1)
	if r := alice.do("POST", "/fhir/Observation", mediaFHIR, []byte(obs)); r.status != http.StatusCreated {
		t.Fatalf("below the cap: %d %s", r.status, r.body)
	}

	// The refusals are audited.
	entries, err := e.srv.readAudit()
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, en := range entries {
		if en.Outcome == outcomeDenied && en.Patient != "" {
			denied++
		}
	}
	if denied != 3 {
		t.Errorf("%d refusals audited, want 3", denied)
	}
}

func checkFull(t *testing.T, r resp, limit string) {
	t.Helper()
	if r.status != http.StatusConflict {
		t.Fatalf("status %d, want 409: %s", r.status, r.body)
	}
	is := outcome(t, r)
	if is[0].Code != "business-rule" || !strings.Contains(is[0].Diagnostics, limit) {
		t.Fatalf("issues %+v, want one naming %q", is, limit)
	}
}

func TestLimitsFitGatewayResponse(t *testing.T) {
	// bundleEntryOverhead really bounds what a listing adds per patient:
	// the id written into the resource, the entry's fullUrl and search.
	p, err := decodePatient([]byte(testPatient), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := json.Marshal(p)
	id := uuid.NewString()
	p.Id = &id
	stored, _ := json.Marshal(p)
	one, _ := json.Marshal(newBundle([]string{id}, []json.RawMessage{stored}))
	two, _ := json.Marshal(newBundle([]string{id, id}, []json.RawMessage{stored, stored}))
	if per := len(two) - len(one) - len(bare); per > bundleEntryOverhead {
		t.Fatalf("an entry adds %d bytes, over bundleEntryOverhead %d", per, bundleEntryOverhead)
	}
	if env := len(one) - len(stored); env > bundleOverhead+bundleEntryOverhead {
		t.Fatalf("the envelope adds %d bytes", env)
	}
	// The largest registry listing fits what the gateway seals back
	// (also a compile-time check in limits.go).
	if worst := bundleOverhead + MaxPatients*(MaxPatientSize+bundleEntryOverhead); worst > MaxGatewayResponse {
		t.Fatalf("worst listing %d > %d", worst, MaxGatewayResponse)
	}
}
