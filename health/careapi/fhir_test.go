package careapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPatientsAndObservations(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	if !validID(id) {
		t.Fatalf("id %q is not a UUID", id)
	}
	// A client-chosen id is ignored.
	r := alice.do("POST", "/fhir/Patient", "application/fhir+json",
		[]byte(`{"resourceType":"Patient","id":"chosen","name":[{"text":"X"}]}`))
	if r.status != http.StatusCreated || bytes.Contains(r.body, []byte("chosen")) || !strings.HasPrefix(r.header.Get("Location"), "/fhir/Patient/") {
		t.Fatalf("create with id: %d %s", r.status, r.body)
	}

	r = alice.do("GET", "/fhir/Patient/"+id, "", nil)
	var p struct {
		ResourceType, ID, BirthDate string
		Name                        []struct{ Family string }
	}
	r.json(t, &p)
	if r.status != 200 || p.ResourceType != "Patient" || p.ID != id || p.BirthDate != phiBirth || p.Name[0].Family != phiFamily {
		t.Fatalf("read: %d %+v", r.status, p)
	}

	r = alice.do("GET", "/fhir/Patient", "", nil)
	var b bundle
	r.json(t, &b)
	if r.status != 200 || b.Type != "searchset" || b.Total != 2 || len(b.Entry) != 2 || b.Entry[0].FullURL != "urn:uuid:"+id {
		t.Fatalf("list: %d %s", r.status, r.body)
	}

	obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},` +
		`"subject":{"reference":"Patient/` + id + `"},"effectiveDateTime":"2026-11-24T08:30:00Z","valueQuantity":{"value":72,"unit":"/min"}}`
	r = alice.do("POST", "/fhir/Observation", "application/fhir+json", []byte(obs))
	if r.status != http.StatusCreated {
		t.Fatalf("create observation: %d %s", r.status, r.body)
	}
	r = alice.do("GET", "/fhir/Observation?subject=Patient/"+id, "", nil)
	r.json(t, &b)
	if r.status != 200 || b.Total != 1 || !bytes.Contains(b.Entry[0].Resource, []byte(`"8867-4"`)) {
		t.Fatalf("search observations: %d %s", r.status, r.body)
	}

	// Search refusals.
	for _, q := range []string{"", "?subject=" + id, "?subject=Patient/" + id + "&code=x", "?subject=Patient/" + id + "&subject=Patient/" + id} {
		r := alice.do("GET", "/fhir/Observation"+q, "", nil)
		if r.status != http.StatusBadRequest || outcome(t, r)[0].Code != "invalid" {
			t.Errorf("search %q: %d %s", q, r.status, r.body)
		}
	}
	if r := alice.do("GET", "/fhir/Observation?subject=Patient/00000000-0000-4000-8000-000000000000", "", nil); r.status != http.StatusNotFound {
		t.Errorf("search unknown patient: %d", r.status)
	}
}

func TestMalformedFHIR(t *testing.T) {
	e := newEnv(t, true)
	alice := e.client(t, false).mustLogin("alice", alicePassword)
	id := alice.createPatient()
	const secret = "Secretvalue9431"
	tests := []struct {
		name      string
		path      string
		body      string
		wantField string // diagnostics must mention it
	}{
		{"unknown field", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"favouriteColour":"` + secret + `"}`, "favouriteColour"},
		{"unknown nested field", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A","nickname":"` + secret + `"}]}`, "nickname"},
		{"bad date", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"birthDate":"` + secret + `"}`, "birthDate"},
		{"impossible date", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"birthDate":"1961-02-30"}`, "birthDate"},
		{"future date", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"birthDate":"2099-01-01"}`, "birthDate"},
		{"wrong resourceType", "/fhir/Patient", `{"resourceType":"Observation","name":[{"text":"A"}]}`, "resourceType"},
		{"no resourceType", "/fhir/Patient", `{"name":[{"text":"A"}]}`, "resourceType"},
		{"no name", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"1961"}`, "name"},
		{"empty name", "/fhir/Patient", `{"resourceType":"Patient","name":[{}]}`, "name[0]"},
		{"wrong type", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"active":"` + secret + `"}`, "active"},
		{"bad code", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}],"gender":"` + secret + `"}`, "value set"},
		{"not JSON", "/fhir/Patient", `{"resourceType":"Patient","name":` + secret, "JSON"},
		{"array", "/fhir/Patient", `[{"resourceType":"Patient"}]`, "object"},
		{"trailing data", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"A"}]} {}`, "trailing"},
		{"oversize", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat(secret, MaxJSONBody/len(secret)) + `"}]}`, "exceeds"},
		{"observation without status", "/fhir/Observation", `{"resourceType":"Observation","code":{"text":"hr"},"subject":{"reference":"Patient/` + id + `"}}`, "status"},
		{"observation without code", "/fhir/Observation", `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/` + id + `"}}`, "code"},
		{"observation bad subject", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"` + secret + `"}}`, "subject.reference"},
		{"observation bad effective", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/` + id + `"},"effectiveDateTime":"2026-11-24T25:00:00Z"}`, "effectiveDateTime"},
		{"observation bad status", "/fhir/Observation", `{"resourceType":"Observation","status":"` + secret + `","code":{"text":"hr"},"subject":{"reference":"Patient/` + id + `"}}`, "value set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.do("POST", tc.path, "application/fhir+json", []byte(tc.body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %.200s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/fhir+json" {
				t.Errorf("Content-Type %q", ct)
			}
			issues := outcome(t, r)
			if issues[0].Code != "invalid" || !strings.Contains(issues[0].Diagnostics, tc.wantField) {
				t.Errorf("issue %+v, want code invalid naming %q", issues[0], tc.wantField)
			}
			if bytes.Contains(r.body, []byte(secret)) || bytes.Contains(r.body, []byte("1961-02-30")) || bytes.Contains(r.body, []byte("2099")) {
				t.Errorf("the offending value is echoed: %s", r.body)
			}
		})
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("an offending value reached the log")
	}
}

func TestDecodePatientErrors(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	_, err := decodePatient([]byte(`{"resourceType":"Patient","name":[{}],"birthDate":"x"}`), now)
	var ie *InvalidError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) {
		t.Fatalf("err %v, want an *InvalidError", err)
	}
	// Every failed check is reported.
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 {
		t.Errorf("%d errors, want 2: %v", n, err)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in       string
		dateTime bool
		ok       bool
	}{
		{"1961", false, true},
		{"1961-07", false, true},
		{"1961-07-14", false, true},
		{"1961-7-14", false, false},
		{"1961-13", false, false},
		{"1961-02-29", false, false},
		{"1960-02-29", false, true},
		{"1961-07-14T10:00:00Z", false, false},
		{"1961-07-14T10:00:00Z", true, true},
		{"1961-07-14T10:00:00.123+02:00", true, true},
		{"1961-07-14T10:00Z", true, false},
		{"1961-07-14T10:00:00", true, false},
		{"0000", false, false},
		{"", false, false},
	}
	for _, tc := range tests {
		if _, ok := parseDate(tc.in, tc.dateTime); ok != tc.ok {
			t.Errorf("parseDate(%q, %v) = %v, want %v", tc.in, tc.dateTime, ok, tc.ok)
		}
	}
}
