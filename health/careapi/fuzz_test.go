package careapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"
)

// checkInvalid checks the shape of a refusal: an *InvalidError (or a join
// of them) whose field, if any, is a plain field name, never a value.
func checkInvalid(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v is not ErrInvalid", err)
	}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is not an *InvalidError", err)
		}
		if ie.Field != "" && !fieldNameRE.MatchString(ie.Field) {
			t.Fatalf("field %q could carry a value", ie.Field)
		}
	}
	walk(err)
}

// FuzzGateway fuzzes the parser of an opened sealed request: whatever it
// accepts must route only to the API, never to the gateway itself.
func FuzzGateway(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		in, u, err := parseInner(b)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if in.Method != http.MethodGet && in.Method != http.MethodPost {
			t.Fatalf("method %q accepted", in.Method)
		}
		p := u.Path
		if !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/fhir/") || strings.HasPrefix(p, "/api/sealed") || path.Clean(p) != p {
			t.Fatalf("path %q accepted", p)
		}
		if u.Host != "" || u.Scheme != "" || u.Fragment != "" || u.RawPath != "" {
			t.Fatalf("URL %+v accepted", u)
		}
		if in.Method == http.MethodGet && len(in.Body) != 0 {
			t.Fatal("GET with a body accepted")
		}
		// Every accepted request carries what the replay check needs.
		if n, err := base64.RawURLEncoding.Strict().DecodeString(in.Nonce); err != nil || len(n) != nonceSize || in.TS == nil {
			t.Fatalf("nonce %q or ts %v accepted", in.Nonce, in.TS)
		}
		// Round trip: what was accepted re-encodes to an accepted request.
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := parseInner(again); err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
	})
}

// FuzzPatient fuzzes the FHIR Patient decoder: refusals name fields, never
// values; what it accepts round-trips through the model.
func FuzzPatient(f *testing.F) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePatient(b, now)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if p.Id != nil || p.Meta != nil {
			t.Fatal("client-supplied id or meta kept")
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := decodePatient(out, now)
		if err != nil {
			t.Fatalf("re-encoded patient refused: %v\n%s", err, out)
		}
		again, _ := json.Marshal(q)
		if string(again) != string(out) {
			t.Fatalf("round trip differs:\n%s\n%s", out, again)
		}
	})
}
