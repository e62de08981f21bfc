package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMeasurements(t *testing.T) {
	if m, err := parseMeasurements("m", []string{strings.Repeat("ab", 32), strings.Repeat("cd", 48)}); err != nil || len(m) != 2 {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range [][]string{nil, {"zz"}, {strings.Repeat("ab", 31)}, {strings.Repeat("ab", 33)}} {
		if _, err := parseMeasurements("m", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTokenFileFunc(t *testing.T) {
	t.Setenv(envTokenFile, "")
	if _, err := tokenFileFunc(""); err == nil {
		t.Fatal("no token file accepted")
	}
	if _, err := tokenFileFunc(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("a missing token file accepted")
	}
	p := filepath.Join(t.TempDir(), "token")
	os.WriteFile(p, []byte("a.b.c\n"), 0o600)
	t.Setenv(envTokenFile, p)
	f, err := tokenFileFunc("")
	if err != nil || f() != "a.b.c" {
		t.Fatalf("%v", err)
	}
	// A token cofre run rewrites is read afresh.
	os.WriteFile(p, []byte("d.e.f"), 0o600)
	if f() != "d.e.f" {
		t.Fatal("the token file is not re-read")
	}
}
