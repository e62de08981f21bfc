package manifest

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/invalid")

func TestParseValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(filepath.Base(f), doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ps := m.Validate(); ps != nil {
				t.Fatalf("Validate after Parse: %v", ps)
			}
			if err := m.DryRun(); err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			// The JSON form of a parsed manifest parses to the same manifest.
			js, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Parse("json", js)
			if err != nil {
				t.Fatalf("Parse(JSON form): %v", err)
			}
			js2, _ := json.Marshal(m2)
			if string(js) != string(js2) {
				t.Errorf("JSON round trip differs:\n%s\n%s", js, js2)
			}
		})
	}
}

// TestParseInvalid checks every testdata/invalid/NAME.yaml against its
// golden error text NAME.err (go test -run TestParseInvalid -update
// rewrites them).
func TestParseInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid examples: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(filepath.Base(f), doc)
			if err == nil {
				t.Fatalf("Parse accepted %s: %+v", f, m)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error is not an *Error with problems: %v", err)
			}
			if !slices.IsSortedFunc(e.Problems, func(a, b Problem) int { return a.Line - b.Line }) {
				t.Errorf("problems not sorted by line")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("error differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
