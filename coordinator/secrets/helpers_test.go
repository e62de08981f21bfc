package secrets

import (
	"errors"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/manifest"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testCA(t testing.TB) (*pki.CA, *pki.CA) {
	t.Helper()
	root, err := pki.NewRoot("example.org", testNow)
	if err != nil {
		t.Fatal(err)
	}
	in, err := root.NewIntermediate("m", 1, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return root, in
}

func mustGenerate(t testing.TB, name string, s manifest.Secret, issuer func(string) (*Value, error), ca *pki.CA) *Value {
	t.Helper()
	v, err := Generate(name, s, issuer, ca, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// issuers returns an issuer lookup over vs.
func issuers(vs map[string]*Value) func(string) (*Value, error) {
	return func(name string) (*Value, error) {
		if v, ok := vs[name]; ok {
			return v, nil
		}
		return nil, errors.New("no such secret")
	}
}

func wantErr(t testing.TB, err error, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want errors.Is %v", err, target)
	}
}
