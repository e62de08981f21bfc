package careapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// ErrInvalid means a request body is not an acceptable resource or
// request; the *InvalidError that wraps it names the field.
var ErrInvalid = errors.New("careapi: invalid input")

// InvalidError is a refused input. It names the resource and the field
// and says what is wrong, and never carries the offending value: the
// value may be PHI (a name, a birth date).
type InvalidError struct {
	// Resource is the FHIR resource type or request ("Patient", "login").
	Resource string
	// Field is the JSON path of the field, or empty for the whole body.
	Field string
	// Reason says what is wrong, without the value.
	Reason string
}

func (e *InvalidError) Error() string {
	return "careapi: " + e.diagnostics()
}

func (e *InvalidError) diagnostics() string {
	if e.Field == "" {
		return e.Resource + ": " + e.Reason
	}
	return e.Resource + "." + e.Field + ": " + e.Reason
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }

// fieldNameRE is what a field name must look like to be named in a
// diagnostic; anything else (which could be data typed into a key) is not
// echoed.
var fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\[\]]{0,63}$`)

// jsonErrorKind describes a JSON decode error without quoting input.
func jsonErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not valid JSON"
	case errors.As(err, &typ):
		return "wrong JSON type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field"
	}
	return "invalid value"
}

// decodeStrict decodes one JSON object from b into v, refusing unknown
// members and trailing data, and turns every failure into an
// *InvalidError for resource that names the field where it can and
// quotes no value.
func decodeStrict(resource string, b []byte, v any) error {
	bad := func(field, reason string) error {
		return &InvalidError{Resource: resource, Field: field, Reason: reason}
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return bad("", "body is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var b64 base64.CorruptInputError
		switch {
		case errors.As(err, &b64):
			// encoding/json does not say which field; the position in
			// the error is an offset into the value, so it is dropped.
			return bad("", "a binary field (data) is not valid base64")
		case errors.As(err, &typ):
			if fieldNameRE.MatchString(typ.Field) {
				return bad(typ.Field, "wrong JSON type")
			}
			return bad("", "a field has the wrong JSON type")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if fieldNameRE.MatchString(name) {
				return bad(name, "unknown field")
			}
			return bad("", "unknown field")
		case jsonErrorKind(err) == "not valid JSON":
			return bad("", "body is not valid JSON")
		default:
			// A custom decoder refused a value: in the FHIR models these
			// are coded elements (gender, status) outside their value
			// set. Their messages quote the value, so they are dropped.
			return bad("", "a coded element is not in its value set")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("", "trailing data after the JSON object")
	}
	return nil
}

// FHIR primitive formats (R4 §2.24.0.1). The regular expressions check
// the shape; time.Parse then checks the calendar (no 31 February).
var (
	dateRE     = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$`)
	dateTimeRE = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$`)
)

// parseDate parses a FHIR date or, if dateTime, a FHIR dateTime, and
// returns the earliest instant it names.
func parseDate(s string, dateTime bool) (time.Time, bool) {
	re := dateRE
	if dateTime {
		re = dateTimeRE
	}
	if !re.MatchString(s) {
		return time.Time{}, false
	}
	var layout string
	switch {
	case len(s) == 4:
		layout = "2006"
	case len(s) == 7:
		layout = "2006-01"
	case len(s) == 10:
		layout = "2006-01-02"
	default:
		layout = time.RFC3339Nano
	}
	t, err := time.Parse(layout, s)
	if err != nil || t.Year() < 1 {
		return time.Time{}, false
	}
	return t, true
}

// fhirTime formats t as a FHIR instant.
func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// patientDoc is what a client sends: the model's fields and resourceType.
type patientDoc struct {
	fhir.OtherPatient
	ResourceType *string `json:"resourceType"`
}

// decodePatient decodes and checks a Patient from a client. It ignores a
// client-supplied id (the server assigns one on create, as FHIR's create
// interaction does) and refuses a birth date after now.
func decodePatient(b []byte, now time.Time) (fhir.Patient, error) {
	var doc patientDoc
	if err := decodeStrict("Patient", b, &doc); err != nil {
		return fhir.Patient{}, err
	}
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &InvalidError{Resource: "Patient", Field: field, Reason: reason})
	}
	if doc.ResourceType == nil || *doc.ResourceType != "Patient" {
		bad("resourceType", `want "Patient"`)
	}
	if len(doc.Name) == 0 {
		bad("name", "required")
	}
	for i, n := range doc.Name {
		if (n.Family == nil || *n.Family == "") && len(n.Given) == 0 && (n.Text == nil || *n.Text == "") {
			bad(fmt.Sprintf("name[%d]", i), "needs family, given or text")
		}
	}
	if doc.BirthDate != nil {
		if t, ok := parseDate(*doc.BirthDate, false); !ok {
			bad("birthDate", "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)")
		} else if t.After(now) {
			bad("birthDate", "in the future")
		}
	}
	if doc.DeceasedDateTime != nil {
		if _, ok := parseDate(*doc.DeceasedDateTime, true); !ok {
			bad("deceasedDateTime", "not a FHIR dateTime")
		}
	}
	if len(errs) > 0 {
		return fhir.Patient{}, errors.Join(errs...)
	}
	p := fhir.Patient(doc.OtherPatient)
	p.Id = nil
	p.Meta = nil
	if err := checkSize("Patient", p, MaxPatientSize, patientStringLimit); err != nil {
		return fhir.Patient{}, err
	}
	return p, nil
}

// patientStringLimit is the cap on the string at path (array indexes
// removed) of a Patient.
func patientStringLimit(path string) int {
	switch path {
	case "name.family", "name.given", "name.prefix", "name.suffix", "name.text":
		return MaxNameLength
	case "identifier.value":
		return MaxIdentifierLength
	}
	return MaxStringLength
}

func defaultStringLimit(string) int { return MaxStringLength }

// checkSize checks the JSON v will be stored as: at most maxSize bytes,
// and each string within limit(path) characters. It runs on the
// validated model rather than the request body, so what is bounded is
// what is stored and listed, whatever whitespace or escapes the client
// used. The refusals name the field (a model field name, with indexes)
// and the limit, never the value.
func checkSize(resource string, v any, maxSize int, limit func(path string) int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return &InvalidError{Resource: resource, Reason: "cannot be encoded"}
	}
	var errs []error
	if len(b) > maxSize {
		errs = append(errs, &InvalidError{Resource: resource, Reason: fmt.Sprintf("exceeds %d bytes once validated", maxSize)})
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return &InvalidError{Resource: resource, Reason: "cannot be encoded"}
	}
	var walk func(v any, field, generic string)
	walk = func(v any, field, generic string) {
		switch v := v.(type) {
		case map[string]any:
			// Sorted, so the refusals come in the same order every time.
			for _, k := range slices.Sorted(maps.Keys(v)) {
				x := v[k]
				f, g := k, k
				if field != "" {
					f, g = field+"."+k, generic+"."+k
				}
				walk(x, f, g)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", field, i), generic)
			}
		case string:
			if n := limit(generic); utf8.RuneCountInString(v) > n {
				if !fieldNameRE.MatchString(field) {
					field = "" // too deep or odd to name safely
				}
				errs = append(errs, &InvalidError{Resource: resource, Field: field, Reason: fmt.Sprintf("longer than %d characters", n)})
			}
		}
	}
	walk(tree, "", "")
	return errors.Join(errs...)
}

type observationDoc struct {
	fhir.OtherObservation
	ResourceType *string `json:"resourceType"`
}

// decodeObservation decodes and checks an Observation from a client. It
// returns the id of the Patient it is about; the caller checks that the
// patient exists.
func decodeObservation(b []byte) (fhir.Observation, string, error) {
	var doc observationDoc
	if err := decodeStrict("Observation", b, &doc); err != nil {
		return fhir.Observation{}, "", err
	}
	// status and code are required by FHIR, but the model's fields are
	// values: an absent status decodes as "registered". Look for the
	// members themselves.
	var present map[string]json.RawMessage
	if err := json.Unmarshal(b, &present); err != nil {
		return fhir.Observation{}, "", &InvalidError{Resource: "Observation", Reason: "body is not a JSON object"}
	}
	bad := func(field, reason string) error {
		return &InvalidError{Resource: "Observation", Field: field, Reason: reason}
	}
	if doc.ResourceType == nil || *doc.ResourceType != "Observation" {
		return fhir.Observation{}, "", bad("resourceType", `want "Observation"`)
	}
	if _, ok := present["status"]; !ok {
		return fhir.Observation{}, "", bad("status", "required")
	}
	if _, ok := present["code"]; !ok || (len(doc.Code.Coding) == 0 && (doc.Code.Text == nil || *doc.Code.Text == "")) {
		return fhir.Observation{}, "", bad("code", "required, with a coding or text")
	}
	if doc.Subject == nil || doc.Subject.Reference == nil {
		return fhir.Observation{}, "", bad("subject.reference", "required")
	}
	patientID, ok := parsePatientRef(*doc.Subject.Reference)
	if !ok {
		return fhir.Observation{}, "", bad("subject.reference", `want "Patient/<id>"`)
	}
	for name, v := range map[string]*string{"effectiveDateTime": doc.EffectiveDateTime, "valueDateTime": doc.ValueDateTime} {
		if v != nil {
			if _, ok := parseDate(*v, true); !ok {
				return fhir.Observation{}, "", bad(name, "not a FHIR dateTime")
			}
		}
	}
	if doc.Issued != nil {
		if _, err := time.Parse(time.RFC3339Nano, *doc.Issued); err != nil {
			return fhir.Observation{}, "", bad("issued", "not a FHIR instant")
		}
	}
	o := fhir.Observation(doc.OtherObservation)
	o.Id = nil
	o.Meta = nil
	if err := checkSize("Observation", o, MaxObservationSize, defaultStringLimit); err != nil {
		return fhir.Observation{}, "", err
	}
	return o, patientID, nil
}

// parsePatientRef parses "Patient/<uuid>", the only reference form this
// server issues.
func parsePatientRef(ref string) (string, bool) {
	id, ok := strings.CutPrefix(ref, "Patient/")
	if !ok || !validID(id) {
		return "", false
	}
	return id, true
}

// validID reports whether id is a server-assigned id: a canonical
// lowercase UUID.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// operationOutcome is a FHIR OperationOutcome with one issue.
type operationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []issue `json:"issue"`
}

type issue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// bundle is a FHIR searchset Bundle.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Entry        []bundleEntry `json:"entry"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   bundleSearch    `json:"search"`
}

type bundleSearch struct {
	Mode string `json:"mode"`
}

func newBundle(ids []string, resources []json.RawMessage) bundle {
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: len(resources), Entry: []bundleEntry{}}
	for i, r := range resources {
		b.Entry = append(b.Entry, bundleEntry{FullURL: "urn:uuid:" + ids[i], Resource: r, Search: bundleSearch{Mode: "match"}})
	}
	return b
}
