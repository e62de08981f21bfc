package manifest

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, refuses only with an *Error that has
// problems, and the JSON form of what it accepts parses to the same
// manifest. Seeds: testdata/fuzz/FuzzParse (the valid and invalid examples).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := Parse("fuzz", doc)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 || !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal is not an *Error with problems: %v", err)
			}
			return
		}
		_ = m.DryRun() // must not panic; may refuse
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		m2, err := Parse("json", js)
		if err != nil {
			t.Fatalf("JSON form of an accepted manifest refused: %v\n%s", err, js)
		}
		js2, err := json.Marshal(m2)
		if err != nil || string(js) != string(js2) {
			t.Fatalf("JSON round trip differs:\n%s\n%s", js, js2)
		}
	})
}

// FuzzParseSignature: ParseSignature never panics, refuses with
// ErrSignatureFile, and what it accepts marshals and parses back the same.
func FuzzParseSignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, hash, err := ParseSignature(b)
		if err != nil {
			if !errors.Is(err, ErrSignatureFile) {
				t.Fatalf("refusal does not wrap ErrSignatureFile: %v", err)
			}
			return
		}
		out, err := MarshalSignature(sig, hash)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		sig2, hash2, err := ParseSignature(out)
		if err != nil || sig2.Owner != sig.Owner || string(sig2.Signature) != string(sig.Signature) || hash2 != hash {
			t.Fatalf("round trip: %v", err)
		}
	})
}
